using System.Net;
using static MLOpsDemo.Mlflow.Tests.Artifacts.ArtifactStubs;

namespace MLOpsDemo.Mlflow.Tests.Artifacts;

[CollectionDefinition(nameof(BoundedMemoryCollection), DisableParallelization = true)]
public sealed class BoundedMemoryCollection;

/// <summary>A 64 MiB file moves through upload and download without the library buffering it in memory.</summary>
[Collection(nameof(BoundedMemoryCollection))]
public sealed class BoundedMemoryTests
{
    private const long Size = 64L * 1024 * 1024;
    private const long Budget = 16L * 1024 * 1024;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Upload_and_download_of_64_MiB_allocate_far_less_than_the_file()
    {
        long received = 0;
        var handler = new AsyncHandlerNoBuffer(async request =>
        {
            if (request.RequestUri!.AbsolutePath.EndsWith("/runs/get", StringComparison.Ordinal))
            {
                return RecordingHandler.Run(RunArtifactUri);
            }

            if (request.Method == HttpMethod.Put)
            {
                var counter = new CountingStream();
                await request.Content!.CopyToAsync(counter);
                received = counter.Count;
                return RecordingHandler.Json("{}");
            }

            if (request.RequestUri.Query.Length > 0)
            {
                return RecordingHandler.Json("""{"files":[]}""");
            }

            var content = new StreamContent(new ZeroStream(Size));
            content.Headers.ContentLength = Size;
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
        });
        using var http = new HttpClient(handler);
        using var client = new MlflowClient(http, new MlflowClientOptions { TrackingUri = "http://mlflow.test", MaxRetries = 0 });
        using var temp = new TempDir();
        var file = temp.Combine("big.bin");
        await using (var stream = File.Create(file))
        {
            stream.SetLength(Size);
        }

        await client.Artifacts.GetArtifactUriAsync(RunId, Ct);
        GC.Collect();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        await client.Artifacts.LogArtifactAsync(RunId, file, null, Ct);
        var afterUpload = GC.GetTotalAllocatedBytes(precise: true);
        var local = await client.Artifacts.DownloadAsync(RunId, "big.bin", temp.Combine("down"), Ct);
        var afterDownload = GC.GetTotalAllocatedBytes(precise: true);

        Assert.Equal(Size, received);
        Assert.Equal(Size, new FileInfo(local).Length);
        Assert.InRange(afterUpload - before, 0, Budget);
        Assert.InRange(afterDownload - afterUpload, 0, Budget);
    }

    private sealed class AsyncHandlerNoBuffer(Func<HttpRequestMessage, Task<HttpResponseMessage>> respond) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => respond(request);
    }

    private sealed class CountingStream : Stream
    {
        public long Count { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => Count;

        public override long Position { get => Count; set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Count += count;

        public override void Write(ReadOnlySpan<byte> buffer) => Count += buffer.Length;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Count += buffer.Length;
            return ValueTask.CompletedTask;
        }
    }

    private sealed class ZeroStream(long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, length - _position);
            buffer[..n].Clear();
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
