using System.Runtime.CompilerServices;
using MLOpsDemo.Mlflow.Artifacts;
using MLOpsDemo.Mlflow.Http;
using MLOpsDemo.Mlflow.Internal;

namespace MLOpsDemo.Mlflow;

/// <summary>
/// The transfer engine behind the public methods: which repository serves a URI (<see cref="ArtifactRepositories"/>
/// decides: the server's artifact proxy, a local directory), listing walks, parallel uploads and atomic downloads.
/// The transport of each repository is its own (<see cref="HttpArtifactRepository"/> uses the client's pipeline,
/// presigned parts its pipeline without credentials).
/// </summary>
public partial class ArtifactsClient
{
    // ------------------------------------------------------------------------------------------------------ internals

    internal IArtifactRepository OpenRepository(string artifactUri)
    {
        _client.ThrowIfDisposed();
        return ArtifactRepositories.Open(this, artifactUri);
    }

    internal async Task DelayBeforeRetryAsync(int attempt, CancellationToken cancellationToken)
    {
        var delay = MlflowResilienceHandler.ComputeDelay(_client.Options, attempt, null);
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, _client.Options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<IArtifactRepository> OpenRunRepositoryAsync(string runId, CancellationToken cancellationToken)
    {
        var uri = await GetArtifactUriAsync(runId, cancellationToken).ConfigureAwait(false);
        return OpenRepository(uri);
    }

    private async IAsyncEnumerable<ArtifactFileInfo> ListRunCoreAsync(string runId, string path, bool recursive, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // The store decides how a run's artifacts are listed: artifacts/list on a server (it reaches stores this client
        // cannot), the run's local directory on SQLite.
        _client.ThrowIfDisposed();
        await foreach (var entry in ListRunTreeAsync(runId, path, recursive, cancellationToken).ConfigureAwait(false))
        {
            yield return entry;
        }
    }

    /// <summary>Pre-order walk over <c>artifacts/list</c>: each directory is followed by its content.</summary>
    private async IAsyncEnumerable<ArtifactFileInfo> ListRunTreeAsync(string runId, string directory, bool recursive, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var entries = new List<ArtifactFileInfo>();
        string? token = null;
        do
        {
            var listing = await _client.Store.ListArtifactsAsync(runId, directory.Length == 0 ? null : directory, token, cancellationToken).ConfigureAwait(false);
            foreach (var entry in listing.Files)
            {
                var entryPath = ArtifactPaths.ValidateFromServer(entry.Path, $"run {runId}");
                if (entryPath == directory && !entry.IsDirectory)
                {
                    continue; // A file listed as itself: not a directory.
                }

                if ((directory.Length > 0 && !entryPath.StartsWith(directory + "/", StringComparison.Ordinal)) || entryPath == directory)
                {
                    throw UnsafeArtifactPathException.For(entryPath, $"The artifact listing of '{directory}' of run {runId} returned '{entryPath}', which is not inside it. Nothing was written for it.");
                }

                entries.Add(entry);
            }

            token = listing.NextPageToken == token || listing.Files.Count == 0 ? null : listing.NextPageToken;
        }
        while (!string.IsNullOrEmpty(token));

        entries.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        foreach (var entry in entries)
        {
            yield return entry;
            if (recursive && entry.IsDirectory)
            {
                await foreach (var child in ListRunTreeAsync(runId, entry.Path, recursive, cancellationToken).ConfigureAwait(false))
                {
                    yield return child;
                }
            }
        }
    }

    /// <summary>Pre-order walk of a repository: each directory is followed by its content.</summary>
    private static async IAsyncEnumerable<ArtifactFileInfo> ListRepositoryAsync(IArtifactRepository repository, string path, bool recursive, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var entries = await repository.ListAsync(path, cancellationToken).ConfigureAwait(false);
        foreach (var entry in entries)
        {
            yield return entry;
            if (recursive && entry.IsDirectory)
            {
                if (entry.Path == path)
                {
                    throw UnsafeArtifactPathException.For(entry.Path, $"The artifact listing of '{path}' in {repository.Description} contains the directory itself; refusing to loop.");
                }

                await foreach (var child in ListRepositoryAsync(repository, entry.Path, recursive, cancellationToken).ConfigureAwait(false))
                {
                    yield return child;
                }
            }
        }
    }

    private static async Task UploadFilesAsync(IArtifactRepository repository, IReadOnlyList<(string LocalFile, string ArtifactPath)> files, ArtifactTransferOptions options, CancellationToken cancellationToken)
    {
        var sources = files.Select(f => (Source: ArtifactSource.FromFile(f.LocalFile), f.ArtifactPath)).ToList();
        var tracker = new TransferTracker(options.Progress, sources.Count, sources.Sum(s => s.Source.Length));
        await Parallel.ForEachAsync(
            sources,
            new ParallelOptions { MaxDegreeOfParallelism = options.MaxParallelism, CancellationToken = cancellationToken },
            async (item, ct) =>
            {
                var progress = tracker.StartFile(item.ArtifactPath, item.Source.LocalPath, item.Source.Length);
                await repository.UploadAsync(item.Source, item.ArtifactPath, progress, options, ct).ConfigureAwait(false);
                progress.Complete();
            }).ConfigureAwait(false);
    }

    private async Task<string> DownloadCoreAsync(IArtifactRepository repository, string path, string destination, string localPrefix, ArtifactTransferOptions options, CancellationToken cancellationToken)
    {
        var isDirectory = await repository.IsDirectoryAsync(path, cancellationToken).ConfigureAwait(false);
        var localRelative = ArtifactPaths.Join(localPrefix, path);
        var result = ArtifactPaths.ResolveLocalTarget(destination, localRelative);
        if (!isDirectory)
        {
            var tracker = new TransferTracker(options.Progress, 1, null);
            await DownloadFileAsync(repository, path, result, null, tracker, options, cancellationToken).ConfigureAwait(false);
            return result;
        }

        // List everything first: sizes give the overall total, and every path is checked before anything is written.
        var files = new List<(ArtifactFileInfo Entry, string Target)>();
        Directory.CreateDirectory(result);
        await foreach (var entry in ListRepositoryAsync(repository, path, recursive: true, cancellationToken).ConfigureAwait(false))
        {
            var target = ArtifactPaths.ResolveLocalTarget(destination, ArtifactPaths.Join(localPrefix, entry.Path));
            if (entry.IsDirectory)
            {
                Directory.CreateDirectory(target);
            }
            else
            {
                files.Add((entry, target));
            }
        }

        var total = files.All(f => f.Entry.FileSize is not null) ? files.Sum(f => f.Entry.FileSize!.Value) : (long?)null;
        var overall = new TransferTracker(options.Progress, files.Count, total);
        await Parallel.ForEachAsync(
            files,
            new ParallelOptions { MaxDegreeOfParallelism = options.MaxParallelism, CancellationToken = cancellationToken },
            async (file, ct) => await DownloadFileAsync(repository, file.Entry.Path, file.Target, file.Entry.FileSize, overall, options, ct).ConfigureAwait(false)).ConfigureAwait(false);
        return result;
    }

    /// <summary>Streams one file to a temporary name, checks its size, renames it; restarts after a broken connection.</summary>
    private async Task DownloadFileAsync(IArtifactRepository repository, string path, string target, long? expectedSize, TransferTracker tracker, ArtifactTransferOptions options, CancellationToken cancellationToken)
    {
        var progress = tracker.StartFile(path, target, expectedSize);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var (stream, length) = await repository.OpenReadAsync(path, cancellationToken).ConfigureAwait(false);
                await using (stream.ConfigureAwait(false))
                {
                    if (expectedSize is { } listed && length is { } announced && listed != announced)
                    {
                        throw new InvalidDataException($"The artifact '{path}' is listed with {listed} bytes but the server sends {announced}; nothing was written.");
                    }

                    await LocalFiles.WriteAtomicallyAsync(stream, target, expectedSize ?? length, cancellationToken, progress.Add).ConfigureAwait(false);
                }

                progress.Complete();
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException && ex is not UnsafeArtifactPathException
                && attempt < options.MaxTransferRetries && !cancellationToken.IsCancellationRequested)
            {
                progress.Reset();
            }

            await DelayBeforeRetryAsync(attempt, cancellationToken).ConfigureAwait(false);
        }
    }

    private static void ValidateOptions(ArtifactTransferOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
    }

    private static string RequireFile(string localFile, string paramName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(localFile, paramName);
        var full = Path.GetFullPath(localFile);
        if (!File.Exists(full))
        {
            throw new FileNotFoundException($"The file to upload does not exist: '{full}'.", full);
        }

        return full;
    }

    private static string RequireDestination(string destinationDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(destinationDirectory);
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(destinationDirectory));
        if (File.Exists(full))
        {
            throw new ArgumentException($"The destination '{full}' is a file; give a directory.", nameof(destinationDirectory));
        }

        Directory.CreateDirectory(full);
        return full;
    }

    /// <summary>Every file below <paramref name="localDirectory"/> (directory links are not followed), with its artifact path.</summary>
    private static List<(string LocalFile, string ArtifactPath)> CollectDirectory(string localDirectory, string artifactPath, string paramName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(localDirectory, paramName);
        var root = Path.GetFullPath(localDirectory);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"The directory to upload does not exist: '{root}'.");
        }

        var result = new List<(string, string)>();
        var pending = new Stack<DirectoryInfo>();
        pending.Push(new DirectoryInfo(root));
        while (pending.Count > 0)
        {
            foreach (var entry in pending.Pop().EnumerateFileSystemInfos())
            {
                if (entry is DirectoryInfo directory)
                {
                    if (directory.LinkTarget is null)
                    {
                        pending.Push(directory);
                    }

                    continue;
                }

                var relative = Path.GetRelativePath(root, entry.FullName);
                if (Path.DirectorySeparatorChar != '/')
                {
                    relative = relative.Replace(Path.DirectorySeparatorChar, '/');
                }

                if (ArtifactPaths.FindProblem(relative) is { } problem)
                {
                    throw new ArgumentException($"The file '{entry.FullName}' cannot be uploaded as an artifact: its path '{relative}' is not allowed ({problem}).", paramName);
                }

                result.Add((entry.FullName, ArtifactPaths.Join(artifactPath, relative)));
            }
        }

        result.Sort((a, b) => string.CompareOrdinal(a.Item2, b.Item2));
        return result;
    }

    /// <summary>The unescaped last path segment of an artifact URI ("" for a root).</summary>
    private static string LastSegment(string artifactUri)
    {
        var end = artifactUri.IndexOfAny(['?', '#']);
        var path = (end < 0 ? artifactUri : artifactUri[..end]).TrimEnd('/', '\\');
        var slash = path.LastIndexOfAny(['/', '\\']);
        var segment = slash < 0 ? path : path[(slash + 1)..];
        if (segment.Contains(':', StringComparison.Ordinal))
        {
            return ""; // "mlflow-artifacts:" or a drive root: nothing to name the download after.
        }

        segment = Uri.UnescapeDataString(segment);
        return ArtifactPaths.FindProblem(segment) is null ? segment : "";
    }
}
