namespace MLOpsDemo.Mlflow.Projects;

/// <summary>Resolves a project URI to a local folder (MLflow's <c>_fetch_project</c>) and reads its git metadata.</summary>
internal sealed class ProjectFetcher(string gitExecutable)
{
    private static readonly TimeSpan GitTimeout = TimeSpan.FromMinutes(10);

    private static readonly Dictionary<string, string?> GitEnvironment = new(StringComparer.Ordinal)
    {
        ["GIT_TERMINAL_PROMPT"] = "0",
        ["GIT_ASKPASS"] = null,
    };

    public async Task<MlProject> FetchAsync(string uri, string? version, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uri);
        var given = uri;
        uri = uri.Trim().Trim('"', '\'');
        string? subdirectory = null;
        var hash = uri.IndexOf('#', StringComparison.Ordinal);
        if (hash >= 0)
        {
            subdirectory = uri[(hash + 1)..];
            uri = uri[..hash];
            if (subdirectory.Contains('.', StringComparison.Ordinal))
            {
                throw new ArgumentException($"'.' is not allowed in project subdirectory paths ('{subdirectory}' in '{given}').", nameof(uri));
            }
        }

        var localPath = uri.StartsWith("file://", StringComparison.OrdinalIgnoreCase) && Uri.TryCreate(uri, UriKind.Absolute, out var fileUri)
            ? fileUri.LocalPath
            : uri;
        if (Directory.Exists(localPath) && !IsBareRepository(localPath))
        {
            var root = Path.GetFullPath(localPath);
            if (version is null)
            {
                var directory = Combine(root, subdirectory, given);
                var source = await DescribeLocalAsync(given, subdirectory is not null, directory, cancellationToken).ConfigureAwait(false);
                return await MlProjectLoader.LoadAsync(directory, source, cancellationToken).ConfigureAwait(false);
            }

            var top = await GitAsync(root, cancellationToken, "rev-parse", "--show-toplevel").ConfigureAwait(false);
            if (!top.Succeeded)
            {
                throw new ArgumentException($"Setting a version is only supported for Git project URIs; '{root}' is not in a git repository.", nameof(version));
            }

            // MLflow checks the version out inside the working copy; we clone it instead and leave the user's files alone.
            // The tags are MLflow's: the source name of the working copy, and as repoURL the working copy's first remote
            // (MLflow fetches the version from it), or the URI as given when it has none (MLflow adds it as 'origin').
            var repoRoot = top.StandardOutput.Trim();
            var relative = Path.GetRelativePath(repoRoot, root);
            var inner = relative == "." ? subdirectory : subdirectory is null ? relative : Path.Combine(relative, subdirectory);
            var local = await DescribeLocalAsync(given, subdirectory is not null, Combine(root, subdirectory, given), cancellationToken).ConfigureAwait(false);
            return await CloneAsync(given, new Uri(repoRoot).AbsoluteUri, inner, version, cancellationToken, local.SourceName, local.GitRepoUrl ?? uri).ConfigureAwait(false);
        }

        if (uri.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
        {
            throw new MlflowProjectException($"Zip project URIs ('{given}') are not supported by this client. Extract the archive and pass the folder.");
        }

        if (Directory.Exists(localPath) || uri.Contains("://", StringComparison.Ordinal) || uri.Contains('@', StringComparison.Ordinal))
        {
            return await CloneAsync(given, uri, subdirectory, version, cancellationToken).ConfigureAwait(false);
        }

        throw new ArgumentException($"The project URI '{given}' is neither an existing folder nor a git URI (https://…/repo.git, git@…, file:///…/repo.git).", nameof(uri));
    }

    private async Task<MlProject> CloneAsync(string given, string remote, string? subdirectory, string? version, CancellationToken cancellationToken, string? sourceName = null, string? repoUrl = null)
    {
        var destination = Path.Combine(Path.GetTempPath(), "mlflow-project-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(destination);
        try
        {
            await RequireGitAsync(destination, cancellationToken, "init", "--quiet").ConfigureAwait(false);
            await RequireGitAsync(destination, cancellationToken, "remote", "add", "origin", remote).ConfigureAwait(false);
            string? branch = null;
            if (version is not null)
            {
                var fetch = await GitAsync(destination, cancellationToken, "fetch", "--depth", "1", "--tags", "origin", version).ConfigureAwait(false);
                var checkout = fetch.Succeeded
                    ? await GitAsync(destination, cancellationToken, "-c", "advice.detachedHead=false", "checkout", "--quiet", version).ConfigureAwait(false)
                    : fetch;
                if (!checkout.Succeeded)
                {
                    throw new MlflowProjectException(
                        $"Unable to checkout version '{version}' of git repo {TrackingUriInfo.Redact(remote)} - please ensure that the version exists in the repo. Error: {checkout.StandardError.Trim()}");
                }

                var isBranch = await GitAsync(destination, cancellationToken, "show-ref", "--verify", "--quiet", "refs/heads/" + version).ConfigureAwait(false);
                branch = isBranch.Succeeded ? version : null;
            }
            else
            {
                var head = await GitAsync(destination, cancellationToken, "ls-remote", "--symref", "origin", "HEAD").ConfigureAwait(false);
                var headBranch = head.StandardOutput.Split('\n')
                    .Select(l => l.Trim())
                    .Where(l => l.StartsWith("ref: refs/heads/", StringComparison.Ordinal))
                    .Select(l => l["ref: refs/heads/".Length..].Split('\t')[0])
                    .FirstOrDefault();
                if (headBranch is null)
                {
                    throw new MlflowProjectException(
                        $"Failed to find HEAD branch of git repo {TrackingUriInfo.Redact(remote)}. Pass a version (branch, tag or commit). {head.StandardError.Trim()}");
                }

                await RequireGitAsync(destination, cancellationToken, "fetch", "--depth", "1", "origin", headBranch).ConfigureAwait(false);
                await RequireGitAsync(destination, cancellationToken, "checkout", "--quiet", "-B", headBranch, "FETCH_HEAD").ConfigureAwait(false);
            }

            await RequireGitAsync(destination, cancellationToken, "submodule", "update", "--init", "--recursive").ConfigureAwait(false);
            var directory = Combine(destination, subdirectory, given);
            var commit = await GitAsync(destination, cancellationToken, "rev-parse", "HEAD").ConfigureAwait(false);
            var source = new ProjectSource
            {
                Uri = given,
                SourceName = sourceName ?? given.Trim().Trim('"', '\''),
                GitCommit = commit.Succeeded ? commit.StandardOutput.Trim() : null,
                GitRepoUrl = repoUrl ?? remote,
                GitBranch = branch,
                TemporaryDirectory = destination,
            };
            return await MlProjectLoader.LoadAsync(directory, source, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            DeleteDirectory(destination);
            throw;
        }
    }

    // mlflow.source.name of a local folder, as MLflow's _create_run: a URI with '#subdir' is not a local path to MLflow,
    // so it is recorded as given; a folder in a git work tree becomes file://<work tree>[#<folder in it>]; else the path.
    private async Task<ProjectSource> DescribeLocalAsync(string given, bool hasSubdirectory, string directory, CancellationToken cancellationToken)
    {
        var asGiven = given.Trim().Trim('"', '\'');
        var top = await GitAsync(directory, cancellationToken, "rev-parse", "--show-toplevel").ConfigureAwait(false);
        if (!top.Succeeded)
        {
            return new ProjectSource { Uri = given, SourceName = hasSubdirectory ? asGiven : directory };
        }

        var root = Path.GetFullPath(top.StandardOutput.Trim());
        var relative = Path.GetRelativePath(root, directory).Replace('\\', '/');
        var sourceName = hasSubdirectory ? asGiven : "file://" + root.Replace('\\', '/') + (relative == "." ? "" : "#" + relative);
        var commit = await GitAsync(directory, cancellationToken, "rev-parse", "HEAD").ConfigureAwait(false);
        // The first remote in the order of the git config, as GitPython's repo.remotes (`git remote` sorts by name).
        var remotes = await GitAsync(directory, cancellationToken, "config", "--get-regexp", @"^remote\..*\.url$").ConfigureAwait(false);
        var first = remotes.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault();
        var space = first?.IndexOf(' ', StringComparison.Ordinal) ?? -1;
        var repoUrl = space > 0 ? first![(space + 1)..].Trim() : null;

        return new ProjectSource
        {
            Uri = given,
            SourceName = sourceName,
            GitCommit = commit.Succeeded ? commit.StandardOutput.Trim() : null,
            GitRepoUrl = repoUrl,
        };
    }

    // A bare repository cannot run in place, so it is cloned like a remote (file:///path/repo.git).
    private static bool IsBareRepository(string path) =>
        File.Exists(Path.Combine(path, "HEAD")) && Directory.Exists(Path.Combine(path, "objects")) && Directory.Exists(Path.Combine(path, "refs"));

    private static string Combine(string root, string? subdirectory, string given)
    {
        if (string.IsNullOrEmpty(subdirectory))
        {
            return root;
        }

        var directory = Path.GetFullPath(Path.Combine(root, subdirectory));
        return Directory.Exists(directory)
            ? directory
            : throw new MlflowProjectException($"Could not find subdirectory {subdirectory} of {given}.");
    }

    private async Task<CommandResult> GitAsync(string directory, CancellationToken cancellationToken, params string[] arguments)
    {
        try
        {
            return await CommandLine.RunAsync(gitExecutable, arguments, directory, GitTimeout, cancellationToken, GitEnvironment).ConfigureAwait(false);
        }
        catch (MlflowProjectException) when (arguments is ["rev-parse", "--show-toplevel"])
        {
            // No git installed: the folder is simply not treated as a repository.
            return new CommandResult(127, "", "git is not installed");
        }
    }

    private async Task RequireGitAsync(string directory, CancellationToken cancellationToken, params string[] arguments)
    {
        var result = await GitAsync(directory, cancellationToken, arguments).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new MlflowProjectException($"git {arguments[0]} failed (exit code {result.ExitCode}): {TrackingUriInfo.Redact(result.StandardError.Trim())}");
        }
    }

    /// <summary>Deletes a folder tree, clearing read-only attributes (git objects) first; errors are ignored.</summary>
    public static void DeleteDirectory(string directory)
    {
        try
        {
            if (!Directory.Exists(directory))
            {
                return;
            }

            foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
            {
                File.SetAttributes(file, FileAttributes.Normal);
            }

            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
