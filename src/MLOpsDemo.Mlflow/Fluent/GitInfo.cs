namespace MLOpsDemo.Mlflow.Fluent;

/// <summary>
/// The commit, branch and origin URL of the git work tree that contains a directory, read from the files under
/// <c>.git</c> (HEAD, refs, packed-refs, config; linked work trees via <c>gitdir:</c> and <c>commondir</c>) without
/// running git.
/// </summary>
internal sealed record GitInfo(string? Commit, string? Branch, string? RepoUrl)
{
    public static GitInfo? Find(string? startDirectory)
    {
        if (string.IsNullOrEmpty(startDirectory))
        {
            return null;
        }

        try
        {
            for (var dir = new DirectoryInfo(startDirectory); dir is not null; dir = dir.Parent)
            {
                var dotGit = Path.Combine(dir.FullName, ".git");
                string? gitDir = null;
                if (Directory.Exists(dotGit))
                {
                    gitDir = dotGit;
                }
                else if (File.Exists(dotGit))
                {
                    var content = File.ReadAllText(dotGit).Trim();
                    if (content.StartsWith("gitdir:", StringComparison.Ordinal))
                    {
                        gitDir = Path.GetFullPath(Path.Combine(dir.FullName, content["gitdir:".Length..].Trim()));
                    }
                }

                if (gitDir is not null && File.Exists(Path.Combine(gitDir, "HEAD")))
                {
                    return Read(gitDir);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            // Best effort, as MLflow: no git tags when the repository cannot be read.
        }

        return null;
    }

    private static GitInfo Read(string gitDir)
    {
        var commonDir = gitDir;
        var commonFile = Path.Combine(gitDir, "commondir");
        if (File.Exists(commonFile))
        {
            commonDir = Path.GetFullPath(Path.Combine(gitDir, File.ReadAllText(commonFile).Trim()));
        }

        var head = File.ReadAllText(Path.Combine(gitDir, "HEAD")).Trim();
        string? branch = null;
        string? commit;
        if (head.StartsWith("ref:", StringComparison.Ordinal))
        {
            var refName = head[4..].Trim();
            if (refName.StartsWith("refs/heads/", StringComparison.Ordinal))
            {
                branch = refName["refs/heads/".Length..];
            }

            commit = ResolveRef(gitDir, commonDir, refName);
        }
        else
        {
            commit = IsSha(head) ? head : null;
        }

        return new GitInfo(commit, branch, ReadOriginUrl(Path.Combine(commonDir, "config")));
    }

    private static string? ResolveRef(string gitDir, string commonDir, string refName)
    {
        foreach (var root in new[] { gitDir, commonDir })
        {
            var file = Path.Combine(root, refName.Replace('/', Path.DirectorySeparatorChar));
            if (File.Exists(file))
            {
                var value = File.ReadAllText(file).Trim();
                return IsSha(value) ? value : null;
            }
        }

        var packed = Path.Combine(commonDir, "packed-refs");
        if (File.Exists(packed))
        {
            foreach (var line in File.ReadLines(packed))
            {
                if (line.Length == 0 || line[0] is '#' or '^')
                {
                    continue;
                }

                var space = line.IndexOf(' ', StringComparison.Ordinal);
                if (space > 0 && line.AsSpan(space + 1).Trim().SequenceEqual(refName) && IsSha(line[..space]))
                {
                    return line[..space];
                }
            }
        }

        return null; // An unborn branch: no commit yet.
    }

    private static string? ReadOriginUrl(string configFile)
    {
        if (!File.Exists(configFile))
        {
            return null;
        }

        var inOrigin = false;
        foreach (var raw in File.ReadLines(configFile))
        {
            var line = raw.Trim();
            if (line.StartsWith('['))
            {
                inOrigin = line.Replace(" ", "", StringComparison.Ordinal).Equals("[remote\"origin\"]", StringComparison.Ordinal);
                continue;
            }

            if (inOrigin)
            {
                var eq = line.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0 && line[..eq].Trim().Equals("url", StringComparison.OrdinalIgnoreCase))
                {
                    return StripCredentials(line[(eq + 1)..].Trim());
                }
            }
        }

        return null;
    }

    /// <summary>Removes <c>user:password@</c> from an http(s) remote URL: tokens must never reach a run's tags.</summary>
    internal static string StripCredentials(string url)
    {
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.UserInfo.Length > 0)
        {
            return new UriBuilder(uri) { UserName = "", Password = "" }.Uri.ToString();
        }

        return url;
    }

    private static bool IsSha(string value)
    {
        if (value.Length is not (40 or 64))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
