namespace MLOpsDemo.Mlflow.Artifacts;

/// <summary>
/// One artifact root (a run's <c>artifact_uri</c>, a logged model's location…). Paths are '/'-separated, relative to
/// the root, already validated by <see cref="ArtifactPaths"/>; "" is the root itself.
/// </summary>
internal interface IArtifactRepository
{
    /// <summary>The root URI without secrets, for messages.</summary>
    string Description { get; }

    /// <summary>Lists one directory level; entry paths are relative to the root (not to <paramref name="path"/>), sorted.</summary>
    Task<IReadOnlyList<ArtifactFileInfo>> ListAsync(string path, CancellationToken cancellationToken);

    /// <summary>Whether <paramref name="path"/> is a directory (a path that lists entries).</summary>
    Task<bool> IsDirectoryAsync(string path, CancellationToken cancellationToken);

    /// <summary>Opens a file for reading; the length is the size the store announced, if any.</summary>
    Task<(Stream Stream, long? Length)> OpenReadAsync(string path, CancellationToken cancellationToken);

    /// <summary>Writes one file, streamed.</summary>
    Task UploadAsync(ArtifactSource source, string path, TransferTracker.FileProgress progress, ArtifactTransferOptions options, CancellationToken cancellationToken);

    /// <summary>Deletes a file or a directory tree.</summary>
    Task DeleteAsync(string path, CancellationToken cancellationToken);
}
