namespace MLOpsDemo.Mlflow.Artifacts;

/// <summary>
/// Artifact path rules. Artifact paths are '/'-separated and relative to an artifact root. <c>..</c> must be rejected
/// by the client because <see cref="Uri"/> collapses <c>a/../b</c> before sending, which would hide it from the
/// server's own check (golden 070–072).
/// </summary>
internal static class ArtifactPaths
{
    /// <summary>Describes why <paramref name="path"/> is not a safe relative artifact path, or returns <see langword="null"/>.</summary>
    public static string? FindProblem(string path)
    {
        if (path.Length == 0)
        {
            return "it is empty";
        }

        if (path.Contains('\\', StringComparison.Ordinal))
        {
            return "it contains a backslash ('\\'); separate directories with '/'";
        }

        foreach (var c in path)
        {
            if (char.IsControl(c))
            {
                return "it contains a control character";
            }
        }

        if (path[0] == '/')
        {
            return "it is absolute (starts with '/'); give a path relative to the artifact root";
        }

        foreach (var segment in path.Split('/'))
        {
            if (segment == "..")
            {
                return "it contains a '..' segment; artifact paths cannot leave the artifact root";
            }

            if (segment == ".")
            {
                return "it contains a '.' segment";
            }

            if (segment.Length == 0)
            {
                return "it contains an empty segment ('//')";
            }

            if (segment.Length >= 2 && segment[1] == ':' && char.IsAsciiLetter(segment[0]))
            {
                return "it contains a drive letter (e.g. 'C:')";
            }
        }

        return null;
    }

    /// <summary>
    /// Normalizes a caller-supplied relative artifact path: <see langword="null"/>, "" and "." mean the root (""), one
    /// trailing '/' is dropped. Throws <see cref="ArgumentException"/> for anything unsafe.
    /// </summary>
    public static string NormalizeUserPath(string? path, string paramName)
    {
        if (string.IsNullOrEmpty(path) || path == ".")
        {
            return "";
        }

        var trimmed = path.Length > 1 && path[^1] == '/' ? path[..^1] : path;
        if (FindProblem(trimmed) is { } problem)
        {
            throw new ArgumentException($"The artifact path '{path}' is not allowed: {problem}.", paramName);
        }

        return trimmed;
    }

    /// <summary>Like <see cref="NormalizeUserPath"/> but the root is not allowed (a file name is needed).</summary>
    public static string RequireUserFilePath(string? path, string paramName)
    {
        var normalized = NormalizeUserPath(path, paramName);
        if (normalized.Length == 0)
        {
            throw new ArgumentException("The artifact file path must not be empty; give a relative path such as 'reports/summary.txt'.", paramName);
        }

        return normalized;
    }

    /// <summary>Checks a path received from a server listing; throws <see cref="UnsafeArtifactPathException"/>.</summary>
    public static string ValidateFromServer(string? path, string source)
    {
        var problem = path is null ? "it is missing" : FindProblem(path);
        if (problem is not null)
        {
            var shown = path ?? "(null)";
            throw UnsafeArtifactPathException.For(
                shown,
                $"The artifact listing from {source} returned the unsafe path '{shown}': {problem}. Nothing was written for it; the server or the data may be compromised.");
        }

        return path!;
    }

    /// <summary>Checks a base name from a <c>mlflow-artifacts</c> listing: exactly one safe segment.</summary>
    public static string ValidateBaseNameFromServer(string? name, string source)
    {
        ValidateFromServer(name, source);
        if (name!.Contains('/', StringComparison.Ordinal))
        {
            throw UnsafeArtifactPathException.For(
                name,
                $"The artifact listing from {source} returned the entry '{name}', which is not a plain file name (a proxied listing returns base names only). Nothing was written for it.");
        }

        return name;
    }

    /// <summary>Joins two relative artifact paths, either of which may be "".</summary>
    public static string Join(string first, string second) =>
        first.Length == 0 ? second : second.Length == 0 ? first : first + "/" + second;

    /// <summary>The last segment of a relative artifact path.</summary>
    public static string BaseName(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? path : path[(slash + 1)..];
    }

    /// <summary>The parent of a relative artifact path ("" for a top-level entry).</summary>
    public static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? "" : path[..slash];
    }

    /// <summary>URL-encodes each segment (spaces, unicode, '#', '%', '?' …) and keeps the '/' separators.</summary>
    public static string EscapeSegments(string path) =>
        path.Length == 0 ? "" : string.Join('/', path.Split('/').Select(Uri.EscapeDataString));

    /// <summary>
    /// Resolves where a relative artifact path lands under <paramref name="destinationRoot"/> and refuses anything that
    /// would end up outside it: '..', rooted paths, and symbolic links already present in the destination that point
    /// outside it.
    /// </summary>
    public static string ResolveLocalTarget(string destinationRoot, string relativePath)
    {
        if (relativePath.Length == 0)
        {
            return destinationRoot;
        }

        ValidateFromServer(relativePath, "the server");
        var root = Path.TrimEndingDirectorySeparator(destinationRoot);
        var combined = Path.GetFullPath(Path.Combine(root, relativePath.Replace('/', Path.DirectorySeparatorChar)));
        if (!IsUnder(root, combined))
        {
            throw UnsafeArtifactPathException.For(relativePath, $"The artifact path '{relativePath}' resolves to '{combined}', outside the destination '{root}'. Nothing was written for it.");
        }

        var current = root;
        foreach (var segment in relativePath.Split('/'))
        {
            current = Path.Combine(current, segment);
            var info = new FileInfo(current);
            if (info.LinkTarget is { } linkTarget)
            {
                var target = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName
                    ?? Path.GetFullPath(linkTarget, Path.GetDirectoryName(current)!);
                if (!IsUnder(root, target))
                {
                    throw UnsafeArtifactPathException.For(
                        relativePath,
                        $"The destination already contains '{current}', a symbolic link to '{target}' outside the destination '{root}'; the artifact '{relativePath}' would be written through it. Remove the link or choose an empty destination.");
                }
            }
            else if (!info.Exists && !Directory.Exists(current))
            {
                break;
            }
        }

        return combined;
    }

    private static bool IsUnder(string root, string candidate)
    {
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(candidate));
        return string.Equals(full, root, comparison) || full.StartsWith(root + Path.DirectorySeparatorChar, comparison);
    }
}
