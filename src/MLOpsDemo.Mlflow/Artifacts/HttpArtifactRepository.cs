using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using MLOpsDemo.Mlflow.Http;
using MLOpsDemo.Mlflow.Rest;
using MLOpsDemo.Mlflow.Serialization;

namespace MLOpsDemo.Mlflow.Artifacts;

/// <summary>
/// Artifacts behind the tracking server's proxy (<c>/api/2.0/mlflow-artifacts</c>, REST.md §5): PUT to upload, GET to
/// download (streamed) and to list (<c>?path=</c>), DELETE, and multipart upload where the server offers it.
/// Requests go through the client's own <see cref="HttpClient"/> (resilience and credentials); presigned part URLs
/// go through a separate client without credentials.
/// </summary>
internal sealed class HttpArtifactRepository : IArtifactRepository
{
    private const int MaxErrorBodyChars = 64 * 1024;
    private readonly ArtifactsClient _owner;
    private readonly HttpClient _http;
    private readonly string _apiBase;
    private readonly string _root;

    /// <param name="owner">The artifacts client (multipart memory, presigned HTTP client, retry delays).</param>
    /// <param name="http">The tracking server's HTTP client.</param>
    /// <param name="apiBase">e.g. <c>http://host:5000/prefix/api/2.0/mlflow-artifacts/</c> (ends in '/').</param>
    /// <param name="root">The artifact root below <c>artifacts/</c>, e.g. <c>1/&lt;run&gt;/artifacts</c> (unescaped, validated).</param>
    public HttpArtifactRepository(ArtifactsClient owner, HttpClient http, string apiBase, string root)
    {
        _owner = owner;
        _http = http;
        _apiBase = apiBase;
        _root = root;
    }

    public string Description => $"{_apiBase}artifacts/{ArtifactPaths.EscapeSegments(_root)}";

    /// <summary>The URL of one artifact.</summary>
    public Uri FileUri(string path) => new(_apiBase + "artifacts/" + ArtifactPaths.EscapeSegments(ArtifactPaths.Join(_root, path)));

    public async Task<IReadOnlyList<ArtifactFileInfo>> ListAsync(string path, CancellationToken cancellationToken)
    {
        var full = ArtifactPaths.Join(_root, path);
        var url = _apiBase + "artifacts" + (full.Length == 0 ? "" : "?path=" + Uri.EscapeDataString(full));
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        ListArtifactsResponse? parsed;
        try
        {
            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                parsed = await JsonSerializer.DeserializeAsync(body, MlflowJsonContext.Default.ListArtifactsResponse, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (JsonException ex)
        {
            throw new MlflowException(response.StatusCode, MlflowErrorCodes.InternalError, $"The artifact listing could not be read as MLflow JSON: {ex.Message}", null, ex);
        }

        var source = Description;
        return (parsed?.Files ?? [])
            .Select(f => f with { Path = ArtifactPaths.Join(path, ArtifactPaths.ValidateBaseNameFromServer(f.Path, source)) })
            .OrderBy(f => f.Path, StringComparer.Ordinal)
            .ToList();
    }

    public async Task<bool> IsDirectoryAsync(string path, CancellationToken cancellationToken)
    {
        if (path.Length == 0 && _root.Length == 0)
        {
            return true;
        }

        IReadOnlyList<ArtifactFileInfo> entries;
        try
        {
            entries = await ListAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (MlflowException ex) when (ex.StatusCode == HttpStatusCode.NotFound && path.Length > 0)
        {
            return false; // Listing a file can fail on some stores; the download then reports what is missing.
        }

        // Some stores list a file as itself; MLflow's client treats that as "not a directory".
        return entries.Count > 0 && !(entries.Count == 1 && !entries[0].IsDirectory && entries[0].Path == ArtifactPaths.Join(path, ArtifactPaths.BaseName(ArtifactPaths.Join(_root, path))));
    }

    public async Task<(Stream Stream, long? Length)> OpenReadAsync(string path, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, FileUri(path));
        HttpResponseMessage? response = null;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var result = new ResponseStream(response, stream);
            var length = response.Content.Headers.ContentLength;
            response = null;
            return (result, length);
        }
        finally
        {
            response?.Dispose();
            request.Dispose();
        }
    }

    public async Task UploadAsync(ArtifactSource source, string path, TransferTracker.FileProgress progress, ArtifactTransferOptions options, CancellationToken cancellationToken)
    {
        if (await TryMultipartUploadAsync(source, path, progress, options, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var stream = source.Open();
        var upload = new UploadStream(stream, 0, source.Length, progress);
        using var content = new StreamContent(upload, 81920);
        content.Headers.ContentType = new MediaTypeHeaderValue(MimeTypes.Guess(path));
        content.Headers.ContentLength = source.Length;
        using var request = new HttpRequestMessage(HttpMethod.Put, FileUri(path)) { Content = content };
        if (upload.CanSeek)
        {
            request.Options.Set(MlflowCredentialHandler.ReplayableContentKey, true);
        }

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
    }

    public async Task DeleteAsync(string path, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, FileUri(path));
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Uploads in parts when the file is large enough and the server offers it; false means "do a single PUT".</summary>
    private async Task<bool> TryMultipartUploadAsync(ArtifactSource source, string path, TransferTracker.FileProgress progress, ArtifactTransferOptions options, CancellationToken cancellationToken)
    {
        if (!options.EnableMultipartUpload || source.Length < options.MultipartThreshold || _owner.Capabilities.MultipartUpload == ServerSupport.Unsupported)
        {
            return false;
        }

        var length = source.Length;
        var chunk = Math.Max(options.MultipartChunkSize, (length + 9999) / 10000);
        var numParts = (int)((length + chunk - 1) / chunk);
        var full = ArtifactPaths.Join(_root, path);
        var directory = ArtifactPaths.EscapeSegments(ArtifactPaths.Parent(full));
        var fileName = ArtifactPaths.BaseName(full);

        string? uploadId;
        IReadOnlyList<MultipartCredential> credentials;
        using (var response = await PostJsonAsync("mpu/create/" + directory, MultipartMessages.Create(fileName, numParts), cancellationToken).ConfigureAwait(false))
        {
            if (response.StatusCode == HttpStatusCode.NotImplemented)
            {
                _owner.Capabilities.MultipartUpload = ServerSupport.Unsupported;
                return false;
            }

            await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
            try
            {
                (uploadId, credentials) = MultipartMessages.ReadCreateResponse(await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
            }
            catch (JsonException ex)
            {
                throw new MlflowException(response.StatusCode, MlflowErrorCodes.InternalError, $"The server's mpu/create answer could not be read as JSON: {ex.Message}", null, ex);
            }
        }

        if (string.IsNullOrEmpty(uploadId))
        {
            throw new MlflowException(HttpStatusCode.OK, MlflowErrorCodes.InternalError, "The server's mpu/create answer has no upload_id.");
        }

        try
        {
            if (credentials.Count != numParts || credentials.Any(c => c.PartNumber < 1 || c.PartNumber > numParts || string.IsNullOrEmpty(c.Url))
                || credentials.Select(c => c.PartNumber).Distinct().Count() != numParts)
            {
                throw new MlflowException(HttpStatusCode.OK, MlflowErrorCodes.InternalError, $"The server's mpu/create answer has {credentials.Count} part URLs for {numParts} parts, or invalid part numbers.");
            }

            var parts = new CompletedPart[numParts];
            await Parallel.ForEachAsync(
                credentials,
                new ParallelOptions { MaxDegreeOfParallelism = options.MaxParallelism, CancellationToken = cancellationToken },
                async (credential, ct) =>
                {
                    var index = (int)credential.PartNumber - 1;
                    var offset = index * chunk;
                    var partLength = Math.Min(chunk, length - offset);
                    var etag = await UploadPartAsync(source, credential, offset, partLength, progress, options, ct).ConfigureAwait(false);
                    parts[index] = new CompletedPart(credential.PartNumber, etag, credential.Url);
                }).ConfigureAwait(false);

            using var complete = await PostJsonAsync("mpu/complete/" + directory, MultipartMessages.Complete(fileName, uploadId, parts), cancellationToken).ConfigureAwait(false);
            await EnsureSuccessAsync(complete, cancellationToken).ConfigureAwait(false);
            _owner.Capabilities.MultipartUpload = ServerSupport.Supported;
            return true;
        }
        catch
        {
            progress.Reset();
            await AbortQuietlyAsync(directory, fileName, uploadId).ConfigureAwait(false);
            throw;
        }
    }

    private async Task AbortQuietlyAsync(string directory, string fileName, string uploadId)
    {
        try
        {
            using var abort = await PostJsonAsync("mpu/abort/" + directory, MultipartMessages.Abort(fileName, uploadId), CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The abort is best effort; the original failure is what the caller must see.
        catch (Exception)
#pragma warning restore CA1031
        {
            // Ignored: the server expires abandoned uploads.
        }
    }

    /// <summary>PUTs one part to its presigned URL (never with the tracking credentials); each attempt re-reads its own file range.</summary>
    private async Task<string> UploadPartAsync(ArtifactSource source, MultipartCredential credential, long offset, long length, TransferTracker.FileProgress progress, ArtifactTransferOptions options, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var stream = source.Open();
            var upload = new UploadStream(stream, offset, length, progress);
            var succeeded = false;
            try
            {
                using var content = new StreamContent(upload, 81920);
                content.Headers.ContentLength = length;
                using var request = new HttpRequestMessage(HttpMethod.Put, credential.Url) { Content = content };
                request.Options.Set(MlflowResilienceHandler.RetryModeKey, MlflowRetryMode.None); // this loop retries with a fresh read of the range
                foreach (var (name, value) in credential.Headers)
                {
                    if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || name.Equals("Host", StringComparison.OrdinalIgnoreCase))
                    {
                        continue;
                    }

                    if (!request.Headers.TryAddWithoutValidation(name, value))
                    {
                        content.Headers.Remove(name);
                        content.Headers.TryAddWithoutValidation(name, value);
                    }
                }

                using var response = await _owner.PresignedHttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    var etag = response.Headers.TryGetValues("ETag", out var values) ? values.FirstOrDefault() : null;
                    if (string.IsNullOrEmpty(etag))
                    {
                        throw new MlflowException(response.StatusCode, MlflowErrorCodes.InternalError, $"The storage accepted part {credential.PartNumber} but sent no ETag header.");
                    }

                    succeeded = true;
                    return etag;
                }

                if (attempt >= options.MaxTransferRetries || !IsTransient(response.StatusCode))
                {
                    await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException && attempt < options.MaxTransferRetries && !cancellationToken.IsCancellationRequested)
            {
                // Retried below with a fresh read of the same range.
            }
            finally
            {
                if (!succeeded)
                {
                    progress.Add(-upload.Position);
                }

                await upload.DisposeAsync().ConfigureAwait(false);
            }

            await _owner.DelayBeforeRetryAsync(attempt, cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool IsTransient(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests or >= HttpStatusCode.InternalServerError;

    private async Task<HttpResponseMessage> PostJsonAsync(string relative, byte[] body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _apiBase + relative)
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Throws <see cref="MlflowException"/> for a failed response (JSON, HTML or text body alike).</summary>
    internal static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        string? body = null;
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var buffer = new char[MaxErrorBodyChars];
            var read = await reader.ReadBlockAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
            body = new string(buffer, 0, read);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            // The status alone still describes the failure.
        }

        throw MlflowErrors.FromResponse(response.StatusCode, body);
    }
}
