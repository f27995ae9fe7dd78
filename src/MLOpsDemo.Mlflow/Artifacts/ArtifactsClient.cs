using System.Buffers;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using MLOpsDemo.Mlflow.Artifacts;
using MLOpsDemo.Mlflow.Http;
using MLOpsDemo.Mlflow.Internal;

namespace MLOpsDemo.Mlflow;

/// <summary>
/// Run and model artifacts: upload, download, list, read and delete, through the tracking server's artifact proxy
/// (<c>mlflow-artifacts:/…</c> or <c>http(s)://…/api/2.0/mlflow-artifacts/artifacts/…</c>) or a local directory
/// (<c>file://…</c>, plain paths such as <c>./mlruns/…</c>). Obtain it from <see cref="MlflowClient.Artifacts"/>.
/// </summary>
/// <remarks>
/// Everything streams: files are never held in memory whole. Directory transfers move
/// <see cref="ArtifactTransferOptions.MaxParallelism"/> files at a time and report progress through
/// <see cref="ArtifactTransferOptions.Progress"/>. Downloads write to a temporary name beside the target and rename it
/// only after the size checked out, so a final name never holds a partial file. Paths that would leave the
/// destination (from the caller or from a server listing) are refused with <see cref="ArgumentException"/> or
/// <see cref="UnsafeArtifactPathException"/>. Credentials go only to the tracking server. Thread-safe.
/// </remarks>
public partial class ArtifactsClient
{
    private const int MaxCachedArtifactUris = 10_000;
    private readonly MlflowClient _client;
    private readonly ConcurrentDictionary<string, string> _artifactUris = new(StringComparer.Ordinal);

    internal ArtifactsClient(MlflowClient client) => _client = client;

    /// <summary>Creates a client for mocking.</summary>
    protected ArtifactsClient() => _client = null!;

    /// <summary>The owning client.</summary>
    internal MlflowClient Client => _client;

    /// <summary>The client's server capabilities (multipart upload is learned from the first large upload).</summary>
    internal Http.ServerCapabilities Capabilities => _client.Capabilities;

    /// <summary>
    /// The client for presigned part URLs (cloud storage): the client's pipeline (TLS settings, retries, logging,
    /// User-Agent) without the tracking credentials and MLflow headers
    /// (<see cref="MlflowClientOptions.UnauthenticatedHttpClientFactory"/>).
    /// </summary>
    internal HttpClient PresignedHttpClient => _client.UnauthenticatedHttpClient;

    // ----------------------------------------------------------------------------------------------------- uploads

    /// <summary>Uploads one local file into a run's artifacts, as <c>&lt;artifactPath&gt;/&lt;file name&gt;</c>.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="localFile">The file to upload.</param>
    /// <param name="artifactPath">The run-relative destination directory, or <see langword="null"/> for the root.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the file is uploaded.</returns>
    public virtual Task LogArtifactAsync(string runId, string localFile, string? artifactPath = null, CancellationToken cancellationToken = default) =>
        LogArtifactAsync(runId, localFile, artifactPath, ArtifactTransferOptions.FromEnvironment(), cancellationToken);

    /// <summary>Uploads one local file into a run's artifacts, with transfer options (progress, multipart).</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="localFile">The file to upload.</param>
    /// <param name="artifactPath">The run-relative destination directory, or <see langword="null"/> for the root.</param>
    /// <param name="options">Transfer settings.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the file is uploaded.</returns>
    public virtual async Task LogArtifactAsync(string runId, string localFile, string? artifactPath, ArtifactTransferOptions options, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        var file = RequireFile(localFile, nameof(localFile));
        var directory = ArtifactPaths.NormalizeUserPath(artifactPath, nameof(artifactPath));
        var target = ArtifactPaths.RequireUserFilePath(ArtifactPaths.Join(directory, Path.GetFileName(file)), nameof(localFile));
        ValidateOptions(options);
        var repository = await OpenRunRepositoryAsync(runId, cancellationToken).ConfigureAwait(false);
        await UploadFilesAsync(repository, [(file, target)], options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Uploads a local directory (its relative layout kept) under <paramref name="artifactPath"/> of a run's artifact root.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="localDirectory">The directory to upload.</param>
    /// <param name="artifactPath">The run-relative destination directory, or <see langword="null"/> for the root.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when every file is uploaded.</returns>
    public virtual Task LogArtifactsAsync(string runId, string localDirectory, string? artifactPath = null, CancellationToken cancellationToken = default) =>
        LogArtifactsAsync(runId, localDirectory, artifactPath, ArtifactTransferOptions.FromEnvironment(), cancellationToken);

    /// <summary>Uploads a local directory into a run's artifacts, with transfer options (parallelism, progress, multipart).</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="localDirectory">The directory to upload.</param>
    /// <param name="artifactPath">The run-relative destination directory, or <see langword="null"/> for the root.</param>
    /// <param name="options">Transfer settings.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when every file is uploaded.</returns>
    public virtual async Task LogArtifactsAsync(string runId, string localDirectory, string? artifactPath, ArtifactTransferOptions options, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        var directory = ArtifactPaths.NormalizeUserPath(artifactPath, nameof(artifactPath));
        var files = CollectDirectory(localDirectory, directory, nameof(localDirectory));
        ValidateOptions(options);
        var repository = await OpenRunRepositoryAsync(runId, cancellationToken).ConfigureAwait(false);
        await UploadFilesAsync(repository, files, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Uploads a local directory under an artifact URI (e.g. a logged model's <c>artifact_location</c>).</summary>
    /// <param name="artifactUri">The destination artifact URI (<c>mlflow-artifacts:/…</c>, <c>file://…</c>, a local path).</param>
    /// <param name="localDirectory">The directory to upload.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when every file is uploaded.</returns>
    public virtual Task UploadDirectoryAsync(string artifactUri, string localDirectory, CancellationToken cancellationToken = default) =>
        UploadDirectoryAsync(artifactUri, localDirectory, ArtifactTransferOptions.FromEnvironment(), cancellationToken);

    /// <summary>Uploads a local directory under an artifact URI, with transfer options.</summary>
    /// <param name="artifactUri">The destination artifact URI.</param>
    /// <param name="localDirectory">The directory to upload.</param>
    /// <param name="options">Transfer settings.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when every file is uploaded.</returns>
    public virtual async Task UploadDirectoryAsync(string artifactUri, string localDirectory, ArtifactTransferOptions options, CancellationToken cancellationToken = default)
    {
        var repository = OpenRepository(artifactUri);
        var files = CollectDirectory(localDirectory, "", nameof(localDirectory));
        ValidateOptions(options);
        await UploadFilesAsync(repository, files, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes text (UTF-8, no BOM) as a run artifact, e.g. <c>LogTextAsync(runId, report, "reports/summary.txt")</c>.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="text">The text.</param>
    /// <param name="artifactFile">The run-relative file path.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the artifact is written.</returns>
    public virtual Task LogTextAsync(string runId, string text, string artifactFile, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        return LogBytesAsync(runId, new UTF8Encoding(false).GetBytes(text), artifactFile, cancellationToken);
    }

    /// <summary>Writes a JSON document (indented) as a run artifact.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="json">The document; <see langword="null"/> writes <c>null</c>.</param>
    /// <param name="artifactFile">The run-relative file path, e.g. <c>config.json</c>.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the artifact is written.</returns>
    public virtual Task LogJsonAsync(string runId, JsonNode? json, string artifactFile, CancellationToken cancellationToken = default)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            if (json is null)
            {
                writer.WriteNullValue();
            }
            else
            {
                json.WriteTo(writer);
            }
        }

        return LogBytesAsync(runId, buffer.WrittenMemory, artifactFile, cancellationToken);
    }

    /// <summary>Serializes a value with source-generated metadata and writes it as a JSON run artifact.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="runId">The run id.</param>
    /// <param name="value">The value.</param>
    /// <param name="jsonTypeInfo">The metadata, e.g. <c>MyJsonContext.Default.MyType</c> (no reflection).</param>
    /// <param name="artifactFile">The run-relative file path, e.g. <c>config.json</c>.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the artifact is written.</returns>
    public virtual Task LogJsonAsync<T>(string runId, T value, JsonTypeInfo<T> jsonTypeInfo, string artifactFile, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(jsonTypeInfo);
        return LogBytesAsync(runId, JsonSerializer.SerializeToUtf8Bytes(value, jsonTypeInfo), artifactFile, cancellationToken);
    }

    /// <summary>Writes bytes as a run artifact.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="content">The bytes.</param>
    /// <param name="artifactFile">The run-relative file path.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the artifact is written.</returns>
    public virtual async Task LogBytesAsync(string runId, ReadOnlyMemory<byte> content, string artifactFile, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        var target = ArtifactPaths.RequireUserFilePath(artifactFile, nameof(artifactFile));
        var repository = await OpenRunRepositoryAsync(runId, cancellationToken).ConfigureAwait(false);
        var options = ArtifactTransferOptions.FromEnvironment();
        var tracker = new TransferTracker(null, 1, content.Length);
        var progress = tracker.StartFile(target, null, content.Length);
        await repository.UploadAsync(ArtifactSource.FromBytes(content), target, progress, options, cancellationToken).ConfigureAwait(false);
    }

    // ----------------------------------------------------------------------------------------------------- listing

    /// <summary>
    /// Lists a run's artifacts at <paramref name="path"/> (run-relative paths). On a tracking server this uses
    /// <c>artifacts/list</c>, so it also works for artifact stores only the server can reach; on a local store it reads
    /// the run's artifact directory. The one way to list a run's artifacts (<c>path</c> is checked by the same rules
    /// as every other artifact path).
    /// </summary>
    /// <param name="runId">The run id.</param>
    /// <param name="path">A run-relative directory, or <see langword="null"/> for the root.</param>
    /// <param name="recursive">Whether to descend into directories (directories are listed too, before their content).</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The entries, sorted by path within each directory.</returns>
    /// <exception cref="UnsafeArtifactPathException">The server listed a path that is not a safe relative path below <paramref name="path"/>.</exception>
    public virtual IAsyncEnumerable<ArtifactFileInfo> ListAsync(string runId, string? path = null, bool recursive = false, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        var normalized = ArtifactPaths.NormalizeUserPath(path, nameof(path));
        return ListRunCoreAsync(runId, normalized, recursive, cancellationToken);
    }

    /// <summary>Lists the artifacts under an artifact URI (paths relative to the URI).</summary>
    /// <param name="artifactUri">The artifact URI (<c>mlflow-artifacts:/…</c>, <c>file://…</c>, a local path).</param>
    /// <param name="path">A relative directory below the URI, or <see langword="null"/> for the URI itself.</param>
    /// <param name="recursive">Whether to descend into directories.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The entries.</returns>
    public virtual IAsyncEnumerable<ArtifactFileInfo> ListUriAsync(string artifactUri, string? path = null, bool recursive = false, CancellationToken cancellationToken = default)
    {
        var normalized = ArtifactPaths.NormalizeUserPath(path, nameof(path));
        var repository = OpenRepository(artifactUri);
        return ListRepositoryAsync(repository, normalized, recursive, cancellationToken);
    }

    // ---------------------------------------------------------------------------------------------------- downloads

    /// <summary>
    /// Downloads a run artifact (a file or a directory tree) to <c>&lt;destinationDirectory&gt;/&lt;path&gt;</c>;
    /// an empty <paramref name="path"/> downloads every artifact of the run into <paramref name="destinationDirectory"/>.
    /// </summary>
    /// <param name="runId">The run id.</param>
    /// <param name="path">The run-relative path of a file or directory; "" for everything.</param>
    /// <param name="destinationDirectory">The local directory to write into (created if missing).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The local path of the downloaded file or directory.</returns>
    public virtual Task<string> DownloadAsync(string runId, string path, string destinationDirectory, CancellationToken cancellationToken = default) =>
        DownloadAsync(runId, path, destinationDirectory, ArtifactTransferOptions.FromEnvironment(), cancellationToken);

    /// <summary>Downloads a run artifact (file or directory tree), with transfer options (parallelism, progress).</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="path">The run-relative path of a file or directory; "" for everything.</param>
    /// <param name="destinationDirectory">The local directory to write into.</param>
    /// <param name="options">Transfer settings.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The local path of the downloaded file or directory.</returns>
    public virtual async Task<string> DownloadAsync(string runId, string path, string destinationDirectory, ArtifactTransferOptions options, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        var normalized = ArtifactPaths.NormalizeUserPath(path, nameof(path));
        var destination = RequireDestination(destinationDirectory);
        ValidateOptions(options);
        var repository = await OpenRunRepositoryAsync(runId, cancellationToken).ConfigureAwait(false);
        return await DownloadCoreAsync(repository, normalized, destination, "", options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Downloads a file or a directory tree from an artifact URI into <paramref name="destinationDirectory"/>, as
    /// <c>&lt;destinationDirectory&gt;/&lt;last segment of the URI&gt;</c> (MLflow's <c>download_artifacts</c>).
    /// </summary>
    /// <param name="artifactUri">The source artifact URI.</param>
    /// <param name="destinationDirectory">The local directory to write into.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The local path of the downloaded file or directory.</returns>
    public virtual Task<string> DownloadUriAsync(string artifactUri, string destinationDirectory, CancellationToken cancellationToken = default) =>
        DownloadUriAsync(artifactUri, destinationDirectory, ArtifactTransferOptions.FromEnvironment(), cancellationToken);

    /// <summary>Downloads a file or a directory tree from an artifact URI, with transfer options.</summary>
    /// <param name="artifactUri">The source artifact URI.</param>
    /// <param name="destinationDirectory">The local directory to write into.</param>
    /// <param name="options">Transfer settings.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The local path of the downloaded file or directory.</returns>
    public virtual async Task<string> DownloadUriAsync(string artifactUri, string destinationDirectory, ArtifactTransferOptions options, CancellationToken cancellationToken = default)
    {
        var repository = OpenRepository(artifactUri);
        var destination = RequireDestination(destinationDirectory);
        ValidateOptions(options);
        var name = LastSegment(artifactUri);
        return await DownloadCoreAsync(repository, "", destination, name, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Opens a run artifact for reading, streamed from the server (dispose the stream).</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="path">The run-relative file path.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The content stream.</returns>
    public virtual async Task<Stream> OpenReadAsync(string runId, string path, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        var normalized = ArtifactPaths.RequireUserFilePath(path, nameof(path));
        var repository = await OpenRunRepositoryAsync(runId, cancellationToken).ConfigureAwait(false);
        var (stream, _) = await repository.OpenReadAsync(normalized, cancellationToken).ConfigureAwait(false);
        return stream;
    }

    /// <summary>Opens the file an artifact URI points at, streamed (dispose the stream).</summary>
    /// <param name="artifactUri">The file's artifact URI.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The content stream.</returns>
    public virtual async Task<Stream> OpenReadUriAsync(string artifactUri, CancellationToken cancellationToken = default)
    {
        var repository = OpenRepository(artifactUri);
        var (stream, _) = await repository.OpenReadAsync("", cancellationToken).ConfigureAwait(false);
        return stream;
    }

    /// <summary>Reads a (small) text artifact of a run as UTF-8.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="path">The run-relative file path.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The text.</returns>
    public virtual async Task<string> ReadTextAsync(string runId, string path, CancellationToken cancellationToken = default)
    {
        var stream = await OpenReadAsync(runId, path, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Deletes a run artifact (a file or a directory tree).</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="path">The run-relative path; must not be empty.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes when the artifact is deleted.</returns>
    public virtual async Task DeleteAsync(string runId, string path, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        var normalized = ArtifactPaths.RequireUserFilePath(path, nameof(path));
        var repository = await OpenRunRepositoryAsync(runId, cancellationToken).ConfigureAwait(false);
        await repository.DeleteAsync(normalized, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The run's artifact root URI (<c>artifact_uri</c>), read once per run id and cached.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The URI, e.g. <c>mlflow-artifacts:/1/&lt;run id&gt;/artifacts</c>.</returns>
    public virtual async Task<string> GetArtifactUriAsync(string runId, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        if (_artifactUris.TryGetValue(runId, out var cached))
        {
            return cached;
        }

        var run = await _client.Runs.GetAsync(runId, cancellationToken).ConfigureAwait(false);
        var uri = run.Info.ArtifactUri;
        if (string.IsNullOrEmpty(uri))
        {
            throw new InvalidOperationException($"The run '{runId}' has no artifact_uri; its experiment has no artifact location.");
        }

        if (_artifactUris.Count >= MaxCachedArtifactUris)
        {
            _artifactUris.Clear(); // A run's artifact_uri never changes; the cap only bounds memory of long-lived clients.
        }

        return _artifactUris.GetOrAdd(runId, uri);
    }
}
