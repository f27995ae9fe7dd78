namespace MLOpsDemo.Mlflow.Artifacts;

/// <summary>
/// A read-only view of <c>[offset, offset + length)</c> of a seekable stream that reports bytes read. Seeking (as
/// <see cref="StreamContent"/> does when a request is sent again) moves within the range and corrects the progress,
/// so a retried upload or part re-reads exactly its own bytes.
/// </summary>
internal sealed class UploadStream : Stream
{
    private readonly Stream _inner;
    private readonly long _offset;
    private readonly long _length;
    private readonly TransferTracker.FileProgress? _progress;
    private long _position;

    public UploadStream(Stream inner, long offset, long length, TransferTracker.FileProgress? progress)
    {
        _inner = inner;
        _offset = offset;
        _length = length;
        _progress = progress;
        _inner.Position = offset;
    }

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => Seek(value, SeekOrigin.Begin);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = _inner.Read(buffer[..Limit(buffer.Length)]);
        Advance(n);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await _inner.ReadAsync(buffer[..Limit(buffer.Length)], cancellationToken).ConfigureAwait(false);
        Advance(n);
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => _length + offset,
        };
        ArgumentOutOfRangeException.ThrowIfNegative(target, nameof(offset));
        _inner.Position = _offset + target;
        _progress?.Add(target - _position);
        _position = target;
        return target;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await _inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private int Limit(int requested) => (int)Math.Min(requested, Math.Max(0, _length - _position));

    private void Advance(int n)
    {
        _position += n;
        _progress?.Add(n);
    }
}

/// <summary>A response body stream that disposes its <see cref="HttpResponseMessage"/> with it.</summary>
internal sealed class ResponseStream : Stream
{
    private readonly HttpResponseMessage _response;
    private readonly Stream _inner;

    public ResponseStream(HttpResponseMessage response, Stream inner)
    {
        _response = response;
        _inner = inner;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => _response.Content.Headers.ContentLength ?? throw new NotSupportedException("The server did not send a Content-Length.");

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

    public override int Read(Span<byte> buffer) => _inner.Read(buffer);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _inner.ReadAsync(buffer, cancellationToken);

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
            _response.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>Something to upload: a local file or bytes in memory. <see cref="Open"/> may be called once per attempt.</summary>
internal abstract class ArtifactSource
{
    public abstract long Length { get; }

    /// <summary>The local path, for progress reports.</summary>
    public abstract string? LocalPath { get; }

    /// <summary>Opens a new seekable stream over the whole content.</summary>
    public abstract Stream Open();

    public static ArtifactSource FromFile(string path) => new FileSource(path);

    public static ArtifactSource FromBytes(ReadOnlyMemory<byte> bytes) => new BytesSource(bytes);

    private sealed class FileSource : ArtifactSource
    {
        private readonly string _path;

        public FileSource(string path)
        {
            _path = path;
            Length = new FileInfo(path).Length;
        }

        public override long Length { get; }

        public override string? LocalPath => _path;

        public override Stream Open() =>
            new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
    }

    private sealed class BytesSource : ArtifactSource
    {
        private readonly ReadOnlyMemory<byte> _bytes;

        public BytesSource(ReadOnlyMemory<byte> bytes) => _bytes = bytes;

        public override long Length => _bytes.Length;

        public override string? LocalPath => null;

        public override Stream Open() =>
            System.Runtime.InteropServices.MemoryMarshal.TryGetArray(_bytes, out var segment)
                ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
                : new MemoryStream(_bytes.ToArray(), writable: false);
    }
}

/// <summary>The content type MLflow's Python client would send (guessed from the file name, as <c>mimetypes</c>).</summary>
internal static class MimeTypes
{
    private static readonly Dictionary<string, string> s_types = new(StringComparer.OrdinalIgnoreCase)
    {
        [".txt"] = "text/plain",
        [".log"] = "text/plain",
        [".md"] = "text/markdown",
        [".csv"] = "text/csv",
        [".tsv"] = "text/tab-separated-values",
        [".html"] = "text/html",
        [".htm"] = "text/html",
        [".css"] = "text/css",
        [".xml"] = "application/xml",
        [".json"] = "application/json",
        [".js"] = "text/javascript",
        [".py"] = "text/x-python",
        [".yaml"] = "application/yaml",
        [".yml"] = "application/yaml",
        [".png"] = "image/png",
        [".jpg"] = "image/jpeg",
        [".jpeg"] = "image/jpeg",
        [".gif"] = "image/gif",
        [".svg"] = "image/svg+xml",
        [".pdf"] = "application/pdf",
        [".zip"] = "application/zip",
        [".gz"] = "application/gzip",
        [".tar"] = "application/x-tar",
    };

    public static string Guess(string fileName) =>
        s_types.TryGetValue(Path.GetExtension(fileName), out var type) ? type : "application/octet-stream";
}
