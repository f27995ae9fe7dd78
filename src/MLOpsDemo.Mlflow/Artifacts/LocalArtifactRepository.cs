using System.Net;

namespace MLOpsDemo.Mlflow.Artifacts;

/// <summary>Artifacts in a local directory (<c>file://</c> URIs and plain paths, e.g. the local store's <c>./mlruns/…</c>).</summary>
internal sealed class LocalArtifactRepository : IArtifactRepository
{
    private readonly string _root;

    public LocalArtifactRepository(string rootDirectory) => _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(rootDirectory));

    public string Description => _root;

    public string Root => _root;

    public Task<IReadOnlyList<ArtifactFileInfo>> ListAsync(string path, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var directory = new DirectoryInfo(FullPath(path));
        if (!directory.Exists)
        {
            return Task.FromResult<IReadOnlyList<ArtifactFileInfo>>([]);
        }

        var entries = directory.EnumerateFileSystemInfos()
            .Select(e => new ArtifactFileInfo
            {
                Path = ArtifactPaths.Join(path, e.Name),
                IsDirectory = e is DirectoryInfo,
                FileSize = e is FileInfo f ? f.Length : null,
            })
            .OrderBy(e => e.Path, StringComparer.Ordinal)
            .ToList();
        return Task.FromResult<IReadOnlyList<ArtifactFileInfo>>(entries);
    }

    public Task<bool> IsDirectoryAsync(string path, CancellationToken cancellationToken) => Task.FromResult(Directory.Exists(FullPath(path)));

    public Task<(Stream Stream, long? Length)> OpenReadAsync(string path, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var full = FullPath(path);
        if (!File.Exists(full))
        {
            throw new MlflowException(HttpStatusCode.NotFound, MlflowErrorCodes.ResourceDoesNotExist, $"No such artifact: '{path}' in {_root}.");
        }

        var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return Task.FromResult<(Stream, long?)>((stream, stream.Length));
    }

    public async Task UploadAsync(ArtifactSource source, string path, TransferTracker.FileProgress progress, ArtifactTransferOptions options, CancellationToken cancellationToken)
    {
        var target = FullPath(path);
        if (Directory.Exists(target))
        {
            throw new IOException($"Cannot write the artifact '{path}': a directory of that name exists in {_root}.");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var input = source.Open();
        await using (input.ConfigureAwait(false))
        {
            var upload = new UploadStream(input, 0, source.Length, progress);
            await using (upload.ConfigureAwait(false))
            {
                await LocalFiles.WriteAtomicallyAsync(upload, target, source.Length, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public Task DeleteAsync(string path, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var full = FullPath(path);
        if (Directory.Exists(full))
        {
            Directory.Delete(full, recursive: true);
        }
        else if (File.Exists(full))
        {
            File.Delete(full);
        }

        return Task.CompletedTask;
    }

    private string FullPath(string path) =>
        path.Length == 0 ? _root : Path.Combine(_root, path.Replace('/', Path.DirectorySeparatorChar));
}

/// <summary>Writes files under a temporary name and renames them, so a final name never holds a partial file.</summary>
internal static class LocalFiles
{
    /// <summary>Copies <paramref name="content"/> to a temporary file beside <paramref name="target"/>, checks the size, then moves it into place.</summary>
    public static async Task<long> WriteAtomicallyAsync(Stream content, string target, long? expectedLength, CancellationToken cancellationToken, Action<long>? onBytes = null)
    {
        var directory = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.partial");
        long written = 0;
        try
        {
            var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous);
            await using (output.ConfigureAwait(false))
            {
                var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(81920);
                try
                {
                    int n;
                    while ((n = await content.ReadAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        await output.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                        written += n;
                        onBytes?.Invoke(n);
                    }
                }
                finally
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                }

                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            if (expectedLength is { } expected && written != expected)
            {
                throw new InvalidDataException($"The artifact for '{target}' has {written} bytes but {expected} were expected; the incomplete file was discarded.");
            }

            File.Move(temp, target, overwrite: true);
            return written;
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the temporary name never collides with an artifact name.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }
}
