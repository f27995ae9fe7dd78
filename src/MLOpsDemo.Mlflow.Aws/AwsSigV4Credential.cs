using System.Security.Cryptography;
using Amazon.Runtime;
using MLOpsDemo.Mlflow.Http;

namespace MLOpsDemo.Mlflow.Aws;

/// <summary>
/// Signs every request of one <see cref="MlflowClient"/> with AWS Signature Version 4 (including
/// <c>X-Amz-Content-SHA256</c>), after adding fixed headers such as SageMaker's routing header (which are signed too).
/// </summary>
/// <remarks>
/// Bodies are hashed before sending. A seekable stream body (<see cref="StreamContent"/> with a known length) is read
/// once to hash it and rewound by <see cref="StreamContent"/> when sent, so large artifact uploads are not held in
/// memory; a non-seekable stream is spooled to a temporary file while it is hashed (the signature needs the hash before
/// the first byte is sent), and the file is sent and deleted with the request.
/// <c>UNSIGNED-PAYLOAD</c> is not used: only S3 documents accepting it. Credentials are fetched on every request from
/// the <see cref="AWSCredentials"/>, which cache and refresh themselves (assumed roles, instance profiles, SSO).
/// </remarks>
public sealed class AwsSigV4Credential : MlflowCredential
{
    private readonly AWSCredentials _credentials;
    private readonly string _region;
    private readonly string _service;
    private readonly IReadOnlyDictionary<string, string> _headers;
    private readonly string[] _signedHeaderNames;
    private readonly TimeProvider _time;

    /// <summary>Creates the credential.</summary>
    /// <param name="credentials">AWS credentials, for example from <see cref="AwsMlflow.GetDefaultCredentials"/>.</param>
    /// <param name="region">The signing region, for example <c>us-east-1</c>.</param>
    /// <param name="service">The signing service: <c>sagemaker-mlflow</c>, <c>sagemaker</c> or <c>execute-api</c>.</param>
    /// <param name="headers">Headers added to (and signed with) every request, or <see langword="null"/>.</param>
    /// <param name="timeProvider">The clock for <c>X-Amz-Date</c>. Default <see cref="TimeProvider.System"/>.</param>
    public AwsSigV4Credential(AWSCredentials credentials, string region, string service, IReadOnlyDictionary<string, string>? headers = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentException.ThrowIfNullOrWhiteSpace(region);
        ArgumentException.ThrowIfNullOrWhiteSpace(service);
        _credentials = credentials;
        _region = region;
        _service = service;
        _headers = headers ?? new Dictionary<string, string>();
        _signedHeaderNames = [.. _headers.Keys.Select(k => k.ToLowerInvariant())];
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The signing region.</summary>
    public string Region => _region;

    /// <summary>The signing service name.</summary>
    public string Service => _service;

    /// <inheritdoc />
    public override async ValueTask AuthenticateAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        await SignAsync(request, cancellationToken).ConfigureAwait(false);
    }

    internal async Task<SigV4Result> SignAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        foreach (var (name, value) in _headers)
        {
            request.Headers.Remove(name);
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var payloadHash = await HashPayloadAsync(request, cancellationToken).ConfigureAwait(false);
        var credentials = await _credentials.GetCredentialsAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        return SigV4Signer.Sign(request, credentials, _region, _service, _time.GetUtcNow(), payloadHash, _signedHeaderNames);
    }

    internal static async Task<string> HashPayloadAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var content = request.Content;
        if (content is null)
        {
            return SigV4Signer.EmptyPayloadHash;
        }

        if (content is StreamContent && content.Headers.ContentLength is null)
        {
            // A stream that cannot seek can be read only once and may be larger than memory: spool it to a temporary
            // file (deleted when the request is disposed) while hashing it, and send the file instead.
            var (spooled, spooledHash) = await SpoolAsync(content, cancellationToken).ConfigureAwait(false);
            request.Content = spooled;
            request.Options.Set(MlflowCredentialHandler.ReplayableContentKey, true);
            return spooledHash;
        }

        if (content is StreamContent)
        {
            request.Options.Set(MlflowCredentialHandler.ReplayableContentKey, true);
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var sink = new HashingStream(hash))
        {
            await content.CopyToAsync(sink, cancellationToken).ConfigureAwait(false);
        }

        return SigV4Signer.Hex(hash.GetHashAndReset());
    }

    /// <summary>A description without secrets.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => $"AWS SigV4 ({_service}, {_region}, ***)";

    /// <summary>Copies <paramref name="content"/> into a delete-on-close temporary file, hashing on the way; returns the file's content.</summary>
    private static async Task<(StreamContent Content, string Hash)> SpoolAsync(HttpContent content, CancellationToken cancellationToken)
    {
        var path = Path.Combine(Path.GetTempPath(), "mlflow-sigv4-" + Guid.NewGuid().ToString("N") + ".tmp");
        var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.Asynchronous | FileOptions.DeleteOnClose);
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var source = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (source.ConfigureAwait(false))
            {
                var buffer = new byte[81920];
                int read;
                while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }
            }

            await file.FlushAsync(cancellationToken).ConfigureAwait(false);
            file.Position = 0;
            var spooled = new StreamContent(file, 81920);
            foreach (var header in content.Headers)
            {
                spooled.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            spooled.Headers.ContentLength = file.Length;
            content.Dispose();
            return (spooled, SigV4Signer.Hex(hash.GetHashAndReset()));
        }
        catch
        {
            await file.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A write-only stream that feeds an <see cref="IncrementalHash"/>.</summary>
    private sealed class HashingStream(IncrementalHash hash) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => hash.AppendData(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => hash.AppendData(buffer);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            hash.AppendData(buffer, offset, count);
            return Task.CompletedTask;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            hash.AppendData(buffer.Span);
            return default;
        }
    }
}
