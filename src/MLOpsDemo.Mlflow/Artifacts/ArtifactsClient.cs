namespace MLOpsDemo.Mlflow;

/// <summary>
/// Run and model artifacts: upload, download, list and delete, through the tracking server's artifact proxy
/// (<c>mlflow-artifacts:/</c>) or a local store (<c>file://</c>, <c>./mlruns</c>). Obtain it from <see cref="MlflowClient.Artifacts"/>.
/// </summary>
public class ArtifactsClient
{
    private readonly MlflowClient _client;

    internal ArtifactsClient(MlflowClient client) => _client = client;

    /// <summary>Creates a client for mocking.</summary>
    protected ArtifactsClient() => _client = null!;

    /// <summary>The owning client.</summary>
    internal MlflowClient Client => _client;

    /// <summary>Uploads a local directory (its relative layout kept) under <paramref name="artifactPath"/> of a run's artifact root.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="localDirectory">The directory to upload.</param>
    /// <param name="artifactPath">The run-relative destination directory, or <see langword="null"/> for the root.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when every file is uploaded.</returns>
    public virtual Task LogArtifactsAsync(string runId, string localDirectory, string? artifactPath = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("Artifacts are not implemented yet.");

    /// <summary>Uploads a local directory under an artifact URI (e.g. a logged model's <c>artifact_location</c>).</summary>
    /// <param name="artifactUri">The destination artifact URI (<c>mlflow-artifacts:/…</c>, <c>file://…</c>, a local path).</param>
    /// <param name="localDirectory">The directory to upload.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when every file is uploaded.</returns>
    public virtual Task UploadDirectoryAsync(string artifactUri, string localDirectory, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("Artifacts are not implemented yet.");

    /// <summary>Downloads a file or a directory tree from an artifact URI into <paramref name="destinationDirectory"/>.</summary>
    /// <param name="artifactUri">The source artifact URI.</param>
    /// <param name="destinationDirectory">The local directory to write into.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The local path of the downloaded file or directory.</returns>
    public virtual Task<string> DownloadAsync(string artifactUri, string destinationDirectory, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("Artifacts are not implemented yet.");
}
