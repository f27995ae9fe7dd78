using System.Globalization;

namespace MLOpsDemo.Mlflow;

/// <summary>
/// How artifact uploads and downloads run: parallelism, progress reporting, multipart thresholds and download retries.
/// Defaults are MLflow's; <see cref="FromEnvironment()"/> reads the same variables as the Python client.
/// </summary>
public sealed class ArtifactTransferOptions
{
    /// <summary>MLflow's default multipart threshold (<c>MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE</c>): 500 MiB.</summary>
    public const long DefaultMultipartThreshold = 500L * 1024 * 1024;

    /// <summary>MLflow's default multipart part size (<c>MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE</c>): 10 MiB.</summary>
    public const long DefaultMultipartChunkSize = 10L * 1024 * 1024;

    /// <summary>How many files (or multipart parts) move at the same time in a directory transfer. Default 4, range 1–64.</summary>
    public int MaxParallelism { get; set; } = 4;

    /// <summary>Receives progress (bytes done and total, per file and overall), or <see langword="null"/>.</summary>
    public IProgress<ArtifactTransferProgress>? Progress { get; set; }

    /// <summary>
    /// Files of at least this many bytes are uploaded in parts when the server offers multipart upload (S3, GCS or
    /// Azure behind <c>--serve-artifacts</c>); otherwise they go in one streamed PUT. Default 500 MiB.
    /// </summary>
    public long MultipartThreshold { get; set; } = DefaultMultipartThreshold;

    /// <summary>The size of each multipart part. Default 10 MiB (raised automatically to keep at most 10 000 parts).</summary>
    public long MultipartChunkSize { get; set; } = DefaultMultipartChunkSize;

    /// <summary>
    /// Whether to try multipart upload for large files (<c>MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD</c>). Default
    /// <see langword="true"/>: the client asks the server once and, when it answers 501 NOT_IMPLEMENTED, remembers that
    /// and uses single PUTs from then on.
    /// </summary>
    public bool EnableMultipartUpload { get; set; } = true;

    /// <summary>
    /// How many times a file download (or a multipart part) is started again after the connection broke mid-body.
    /// Default 3, range 0–10. Each attempt starts from an empty temporary file.
    /// </summary>
    public int MaxTransferRetries { get; set; } = 3;

    /// <summary>
    /// Creates options from <c>MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE</c>, <c>MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE</c>
    /// and <c>MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD</c>; everything else keeps its default.
    /// </summary>
    /// <returns>The options.</returns>
    /// <exception cref="ArgumentException">A variable holds a value that cannot be used.</exception>
    public static ArtifactTransferOptions FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    /// <summary>Creates options from variables returned by <paramref name="getVariable"/> (see <see cref="FromEnvironment()"/>).</summary>
    /// <param name="getVariable">Returns a variable's value or <see langword="null"/>.</param>
    /// <returns>The options.</returns>
    public static ArtifactTransferOptions FromEnvironment(Func<string, string?> getVariable)
    {
        ArgumentNullException.ThrowIfNull(getVariable);
        var options = new ArtifactTransferOptions();
        if (ReadSize(getVariable, "MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE") is { } threshold)
        {
            options.MultipartThreshold = threshold;
        }

        if (ReadSize(getVariable, "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE") is { } chunk)
        {
            options.MultipartChunkSize = chunk;
        }

        var enable = getVariable("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD")?.Trim();
        if (!string.IsNullOrEmpty(enable))
        {
            options.EnableMultipartUpload = enable.ToUpperInvariant() switch
            {
                "TRUE" or "1" => true,
                "FALSE" or "0" => false,
                _ => throw new ArgumentException($"Environment variable MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD must be true, false, 1 or 0; it is '{enable}'."),
            };
        }

        return options;
    }

    /// <summary>Checks the settings and throws an <see cref="ArgumentException"/> that names the first bad one.</summary>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public void Validate()
    {
        if (MaxParallelism is < 1 or > 64)
        {
            throw new ArgumentException($"ArtifactTransferOptions.MaxParallelism must be between 1 and 64; it is {MaxParallelism}.", nameof(MaxParallelism));
        }

        if (MultipartThreshold < 1)
        {
            throw new ArgumentException($"ArtifactTransferOptions.MultipartThreshold must be positive; it is {MultipartThreshold}.", nameof(MultipartThreshold));
        }

        if (MultipartChunkSize < 1)
        {
            throw new ArgumentException($"ArtifactTransferOptions.MultipartChunkSize must be positive; it is {MultipartChunkSize}.", nameof(MultipartChunkSize));
        }

        if (MaxTransferRetries is < 0 or > 10)
        {
            throw new ArgumentException($"ArtifactTransferOptions.MaxTransferRetries must be between 0 and 10; it is {MaxTransferRetries}.", nameof(MaxTransferRetries));
        }
    }

    private static long? ReadSize(Func<string, string?> getVariable, string name)
    {
        var raw = getVariable(name)?.Trim();
        if (string.IsNullOrEmpty(raw))
        {
            return null;
        }

        if (!long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < 1)
        {
            throw new ArgumentException($"Environment variable {name} must be a positive number of bytes; it is '{raw}'.");
        }

        return value;
    }
}

/// <summary>One progress report of an artifact transfer.</summary>
public sealed record ArtifactTransferProgress
{
    /// <summary>The artifact path of the file this report is about (relative to the artifact root).</summary>
    public string ArtifactPath { get; init; } = "";

    /// <summary>The local file being read or written.</summary>
    public string? LocalPath { get; init; }

    /// <summary>Bytes of this file transferred so far.</summary>
    public long FileBytesTransferred { get; init; }

    /// <summary>The size of this file, when known.</summary>
    public long? FileTotalBytes { get; init; }

    /// <summary>Whether this file is complete.</summary>
    public bool FileCompleted { get; init; }

    /// <summary>Bytes transferred so far by the whole operation.</summary>
    public long BytesTransferred { get; init; }

    /// <summary>The size of the whole operation, when known.</summary>
    public long? TotalBytes { get; init; }

    /// <summary>Files completed so far.</summary>
    public int FilesCompleted { get; init; }

    /// <summary>Files in the whole operation.</summary>
    public int FileCount { get; init; }
}
