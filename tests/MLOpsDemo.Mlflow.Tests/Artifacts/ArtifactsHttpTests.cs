using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using MLOpsDemo.Mlflow.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using static MLOpsDemo.Mlflow.Tests.Artifacts.ArtifactStubs;

namespace MLOpsDemo.Mlflow.Tests.Artifacts;

/// <summary>The proxied repository against WireMock.Net and in-process transports: paths, encoding, listing, downloads, safety.</summary>
public sealed class ArtifactsHttpTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Upload_get_and_delete_use_the_exact_proxy_paths()
    {
        using var server = WireMockServer.Start();
        using var client = TestClients.For(server);
        StubRun(server);
        server.Given(Request.Create().UsingPut()).RespondWith(Response.Create().WithStatusCode(200).WithBody("{}"));
        server.Given(Request.Create().UsingDelete()).RespondWith(Response.Create().WithStatusCode(200).WithBody("{}"));
        StubFile(server, RunRoot + "/model/weights/w.bin", [1, 2, 3]);

        await client.Artifacts.LogBytesAsync(RunId, new byte[] { 9, 8 }, "model/weights/w.bin", Ct);
        await using (var stream = await client.Artifacts.OpenReadAsync(RunId, "model/weights/w.bin", Ct))
        {
            Assert.Equal(1, stream.ReadByte());
        }

        await client.Artifacts.DeleteAsync(RunId, "model/weights", Ct);

        var requests = server.LogEntries.Where(e => !e.RequestMessage.Path.EndsWith("/runs/get", StringComparison.Ordinal))
            .Select(e => $"{e.RequestMessage.Method} {e.RequestMessage.Path}").ToList();
        Assert.Equal(
            [$"PUT {ProxyApi}/{RunRoot}/model/weights/w.bin", $"GET {ProxyApi}/{RunRoot}/model/weights/w.bin", $"DELETE {ProxyApi}/{RunRoot}/model/weights"],
            requests);
        Assert.Single(server.LogEntries, e => e.RequestMessage.Path.EndsWith("/runs/get", StringComparison.Ordinal)); // artifact_uri cached per run
        var put = server.LogEntries.Single(e => e.RequestMessage.Method == "PUT");
        Assert.Equal(new byte[] { 9, 8 }, put.RequestMessage.BodyAsBytes);
        Assert.Equal("application/octet-stream", put.RequestMessage.Headers!["Content-Type"].Single());
    }

    [Fact]
    public async Task Each_path_segment_is_percent_encoded_on_the_wire()
    {
        var handler = new RecordingHandler((request, _) => request.Method == HttpMethod.Get ? RecordingHandler.Run(RunArtifactUri) : RecordingHandler.Json("{}"));
        using var http = new HttpClient(handler);
        using var client = new MlflowClient(http, new MlflowClientOptions { TrackingUri = "http://mlflow.test:5000/prefix", MaxRetries = 0 });

        await client.Artifacts.LogTextAsync(RunId, "x", "dir with space/ünï #1%?.txt", Ct);

        var put = handler.Requests.Single(r => r.Method == HttpMethod.Put);
        Assert.Equal(
            $"http://mlflow.test:5000/prefix/api/2.0/mlflow-artifacts/artifacts/{RunRoot}/dir%20with%20space/%C3%BCn%C3%AF%20%231%25%3F.txt",
            put.Uri.AbsoluteUri);
        Assert.Empty(put.Uri.Fragment);
        Assert.Empty(put.Uri.Query);
    }

    [Fact]
    public async Task WireMock_receives_the_decoded_segments_intact()
    {
        using var server = WireMockServer.Start();
        using var client = TestClients.For(server);
        StubRun(server);
        server.Given(Request.Create().UsingPut()).RespondWith(Response.Create().WithStatusCode(200).WithBody("{}"));

        await client.Artifacts.LogTextAsync(RunId, "x", "a b/日本 #%.txt", Ct);

        var put = server.LogEntries.Single(e => e.RequestMessage.Method == "PUT");
        Assert.Equal($"{ProxyApi}/{RunRoot}/a b/日本 #%.txt", Uri.UnescapeDataString(put.RequestMessage.AbsolutePath));
    }

    [Fact]
    public async Task Listing_query_path_is_encoded_and_nested_directories_are_walked_recursively()
    {
        using var server = WireMockServer.Start();
        using var client = TestClients.For(server);
        StubListing(server, RunRoot, """[{"path":"b dir","is_dir":true},{"path":"a.txt","is_dir":false,"file_size":1}]""");
        StubListing(server, RunRoot + "/b dir", """[{"path":"c","is_dir":true},{"path":"x#1.bin","is_dir":false,"file_size":2}]""");
        StubListing(server, RunRoot + "/b dir/c", """[{"path":"deep.txt","is_dir":false,"file_size":3}]""");

        var flat = await client.Artifacts.ListUriAsync(RunArtifactUri, cancellationToken: Ct).ToListAsync(Ct);
        var all = await client.Artifacts.ListUriAsync(RunArtifactUri, recursive: true, cancellationToken: Ct).ToListAsync(Ct);

        Assert.Equal(["a.txt", "b dir"], flat.Select(e => e.Path));
        Assert.Equal(["a.txt", "b dir", "b dir/c", "b dir/c/deep.txt", "b dir/x#1.bin"], all.Select(e => e.Path));
        Assert.Equal([1L, null, null, 3L, 2L], all.Select(e => e.FileSize));
        Assert.Contains(server.LogEntries, e => e.RequestMessage.Query!["path"].Single() == RunRoot + "/b dir/c");
    }

    [Fact]
    public async Task Run_listing_walks_artifacts_list_recursively()
    {
        using var server = WireMockServer.Start();
        using var client = TestClients.For(server);
        StubJson(server, "GET", "/api/2.0/mlflow/artifacts/list", """{"root_uri":"x","files":[{"path":"model","is_dir":true},{"path":"notes.txt","is_dir":false,"file_size":4}]}""", 200, ("run_id", RunId));
        StubJson(server, "GET", "/api/2.0/mlflow/artifacts/list", """{"root_uri":"x","files":[{"path":"model/MLmodel","is_dir":false,"file_size":9},{"path":"model/data","is_dir":true}]}""", 200, ("run_id", RunId), ("path", "model"));
        StubJson(server, "GET", "/api/2.0/mlflow/artifacts/list", """{"root_uri":"x","files":[{"path":"model/data/w.onnx","is_dir":false,"file_size":7}]}""", 200, ("run_id", RunId), ("path", "model/data"));

        var all = await client.Artifacts.ListAsync(RunId, recursive: true, cancellationToken: Ct).ToListAsync(Ct);

        Assert.Equal(["model", "model/MLmodel", "model/data", "model/data/w.onnx", "notes.txt"], all.Select(e => e.Path));
    }

    [Fact]
    public async Task Directory_download_recreates_the_tree_and_reports_progress()
    {
        using var server = WireMockServer.Start();
        using var client = TestClients.For(server);
        StubRun(server);
        StubListing(server, RunRoot + "/golden", """[{"path":"data.bin","is_dir":false,"file_size":256},{"path":"hello.txt","is_dir":false,"file_size":13},{"path":"sub","is_dir":true},{"path":"empty","is_dir":true}]""");
        StubListing(server, RunRoot + "/golden/sub", """[{"path":"nested.txt","is_dir":false,"file_size":7}]""");
        StubListing(server, RunRoot + "/golden/empty", "[]");
        var data = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        StubFile(server, RunRoot + "/golden/data.bin", data);
        StubFile(server, RunRoot + "/golden/hello.txt", Encoding.UTF8.GetBytes("hello golden\n"));
        StubFile(server, RunRoot + "/golden/sub/nested.txt", Encoding.UTF8.GetBytes("nested\n"));
        using var temp = new TempDir();
        var reports = new SyncProgress();

        var local = await client.Artifacts.DownloadAsync(RunId, "golden", temp.Path, new ArtifactTransferOptions { Progress = reports, MaxParallelism = 2 }, Ct);

        Assert.Equal(temp.Combine("golden"), local);
        var files = TempDir.Snapshot(temp.Path);
        Assert.Equal(["golden/data.bin", "golden/hello.txt", "golden/sub/nested.txt"], files.Keys);
        Assert.Equal(data, files["golden/data.bin"]);
        Assert.Equal("nested\n", Encoding.UTF8.GetString(files["golden/sub/nested.txt"]));
        Assert.True(Directory.Exists(temp.Combine("golden", "empty")));
        var last = reports.Items.MaxBy(r => r.FilesCompleted)!;
        Assert.Equal(3, last.FilesCompleted);
        Assert.Equal(3, last.FileCount);
        Assert.Equal(276, last.TotalBytes);
        Assert.Equal(276, reports.Items.Max(r => r.BytesTransferred));
        Assert.Equal(3, reports.Items.Count(r => r.FileCompleted));
    }

    [Theory]
    [InlineData("../../x")]
    [InlineData("..")]
    [InlineData("/etc/passwd")]
    [InlineData("C:\\\\x")]
    [InlineData("C:x")]
    [InlineData("a/../../b")]
    [InlineData("sub/file")]
    public async Task Hostile_proxied_listing_entries_are_refused_and_nothing_is_written(string hostile)
    {
        using var server = WireMockServer.Start();
        using var client = TestClients.For(server);
        StubRun(server);
        StubListing(server, RunRoot, $$"""[{"path":"ok.txt","is_dir":false,"file_size":1},{"path":"{{hostile}}","is_dir":false,"file_size":1}]""");
        server.Given(Request.Create().UsingGet().WithPath(new WireMock.Matchers.WildcardMatcher(ProxyApi + "/*"))).RespondWith(Response.Create().WithBody("z"));
        using var outer = new TempDir();
        var destination = outer.Combine("dest");

        var ex = await Assert.ThrowsAsync<UnsafeArtifactPathException>(() => client.Artifacts.DownloadAsync(RunId, "", destination, Ct));

        Assert.Equal(hostile.Replace("\\\\", "\\", StringComparison.Ordinal), ex.ArtifactPath);
        Assert.Empty(Directory.EnumerateFiles(outer.Path, "*", SearchOption.AllDirectories));
        Assert.DoesNotContain(server.LogEntries, e => e.RequestMessage.Path.StartsWith(ProxyApi + "/", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("../../x")]
    [InlineData("/etc/passwd")]
    [InlineData("C:\\\\x")]
    [InlineData("a/../../b")]
    [InlineData("other/file.txt")]
    public async Task Hostile_run_listing_entries_are_refused(string hostile)
    {
        using var server = WireMockServer.Start();
        using var client = TestClients.For(server);
        StubJson(server, "GET", "/api/2.0/mlflow/artifacts/list", $$"""{"files":[{"path":"{{hostile}}","is_dir":false,"file_size":1}]}""", 200, ("run_id", RunId), ("path", "golden"));

        await Assert.ThrowsAsync<UnsafeArtifactPathException>(async () => await client.Artifacts.ListAsync(RunId, "golden", cancellationToken: Ct).ToListAsync(Ct));
    }

    [Fact]
    public async Task A_symlink_in_the_destination_pointing_outside_is_refused()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Creating symbolic links needs extra privileges on Windows.");
        using var server = WireMockServer.Start();
        using var client = TestClients.For(server);
        StubRun(server);
        StubListing(server, RunRoot + "/golden", """[{"path":"hello.txt","is_dir":false,"file_size":5}]""");
        StubFile(server, RunRoot + "/golden/hello.txt", Encoding.UTF8.GetBytes("owned"));
        using var temp = new TempDir();
        var outside = temp.Combine("outside");
        Directory.CreateDirectory(outside);
        var destination = temp.Combine("dest");
        Directory.CreateDirectory(destination);
        Directory.CreateSymbolicLink(Path.Combine(destination, "golden"), outside);

        var ex = await Assert.ThrowsAsync<UnsafeArtifactPathException>(() => client.Artifacts.DownloadAsync(RunId, "golden", destination, Ct));

        Assert.Contains("symbolic link", ex.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
    }

    [Fact]
    public async Task A_size_different_from_the_listing_discards_the_file()
    {
        using var server = WireMockServer.Start();
        using var client = TestClients.For(server);
        StubRun(server);
        StubListing(server, RunRoot, """[{"path":"a.bin","is_dir":false,"file_size":10}]""");
        StubFile(server, RunRoot + "/a.bin", [1, 2, 3, 4, 5]);
        using var temp = new TempDir();

        await Assert.ThrowsAsync<InvalidDataException>(() => client.Artifacts.DownloadAsync(RunId, "", temp.Path, Ct));

        Assert.Empty(Directory.EnumerateFiles(temp.Path, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_connection_dropped_mid_body_leaves_no_file_and_a_retry_succeeds()
    {
        var content = Enumerable.Range(0, 100_000).Select(i => (byte)(i * 7)).ToArray();
        var fileGets = 0;
        var handler = new RecordingHandler((request, _) =>
        {
            var path = request.RequestUri!.AbsolutePath;
            if (path.EndsWith("/runs/get", StringComparison.Ordinal))
            {
                return RecordingHandler.Run(RunArtifactUri);
            }

            if (request.RequestUri.Query.Contains("path=", StringComparison.Ordinal))
            {
                return RecordingHandler.Json("""{"files":[]}""");
            }

            var broken = Interlocked.Increment(ref fileGets) == 1;
            var body = new StreamContent(broken ? new BrokenStream(content[..40_000]) : new MemoryStream(content));
            body.Headers.ContentLength = content.Length;
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = body };
        });
        using var http = new HttpClient(handler);
        using var client = new MlflowClient(http, new MlflowClientOptions { TrackingUri = "http://mlflow.test", MaxRetries = 0 });
        using var temp = new TempDir();
        var final = temp.Combine("model.bin");

        await Assert.ThrowsAnyAsync<IOException>(() => client.Artifacts.DownloadAsync(RunId, "model.bin", temp.Path, new ArtifactTransferOptions { MaxTransferRetries = 0 }, Ct));
        Assert.False(File.Exists(final));
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));

        var local = await client.Artifacts.DownloadAsync(RunId, "model.bin", temp.Path, new ArtifactTransferOptions { MaxTransferRetries = 0 }, Ct);
        Assert.Equal(final, local);
        Assert.Equal(content, await File.ReadAllBytesAsync(final, Ct));
        Assert.Equal(["model.bin"], Directory.EnumerateFileSystemEntries(temp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_dropped_connection_is_retried_automatically_from_an_empty_file()
    {
        var content = Enumerable.Range(0, 50_000).Select(i => (byte)(i * 13)).ToArray();
        var fileGets = 0;
        var handler = new RecordingHandler((request, _) =>
        {
            if (request.RequestUri!.AbsolutePath.EndsWith("/runs/get", StringComparison.Ordinal))
            {
                return RecordingHandler.Run(RunArtifactUri);
            }

            if (request.RequestUri.Query.Length > 0)
            {
                return RecordingHandler.Json("""{"files":[]}""");
            }

            var body = new StreamContent(Interlocked.Increment(ref fileGets) == 1 ? new BrokenStream(content[..20_000]) : new MemoryStream(content));
            body.Headers.ContentLength = content.Length;
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = body };
        });
        using var http = new HttpClient(handler);
        using var client = new MlflowClient(http, new MlflowClientOptions { TrackingUri = "http://mlflow.test", MaxRetries = 0 });
        using var temp = new TempDir();
        var reports = new SyncProgress();

        var local = await client.Artifacts.DownloadAsync(RunId, "w.bin", temp.Path, new ArtifactTransferOptions { Progress = reports }, Ct);

        Assert.Equal(2, fileGets);
        Assert.Equal(content, await File.ReadAllBytesAsync(local, Ct));
        Assert.Equal(content.Length, reports.Items.Single(r => r.FileCompleted).FileBytesTransferred);
    }

    [Theory]
    [InlineData("http://elsewhere.test:5000/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts")]
    [InlineData("https://mlflow.test:5000/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts")]
    [InlineData("http://mlflow.test:5001/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts")]
    [InlineData("mlflow-artifacts://elsewhere.test:5000/1/r/artifacts")]
    public async Task Artifact_uris_on_another_host_are_refused_so_credentials_never_leave_the_tracking_server(string uri)
    {
        var handler = new RecordingHandler((_, _) => RecordingHandler.Json("{}"));
        using var http = new HttpClient(handler);
        using var client = new MlflowClient(http, new MlflowClientOptions { TrackingUri = "http://mlflow.test:5000", Token = "secret-token", MaxRetries = 0 });
        using var temp = new TempDir();

        var ex = await Assert.ThrowsAsync<NotSupportedException>(() => client.Artifacts.DownloadUriAsync(uri, temp.Path, Ct));

        Assert.Contains("credentials", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-token", ex.Message, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task An_http_proxy_uri_on_the_tracking_host_is_used_as_is()
    {
        using var server = WireMockServer.Start();
        using var client = TestClients.For(server);
        StubListing(server, "7/r1/artifacts/model", """[{"path":"MLmodel","is_dir":false,"file_size":3}]""");
        StubFile(server, "7/r1/artifacts/model/MLmodel", [65, 66, 67]);
        using var temp = new TempDir();

        var local = await client.Artifacts.DownloadUriAsync($"{server.Url}/api/2.0/mlflow-artifacts/artifacts/7/r1/artifacts/model", temp.Path, Ct);

        Assert.Equal(temp.Combine("model"), local);
        Assert.Equal("ABC", await File.ReadAllTextAsync(Path.Combine(local, "MLmodel"), Ct));
    }

    [Theory]
    [InlineData("s3://bucket/mlruns/1/r/artifacts")]
    [InlineData("gs://bucket/1/r/artifacts")]
    [InlineData("wasbs://container@account.blob.core.windows.net/1/r/artifacts")]
    [InlineData("dbfs:/databricks/mlflow-tracking/1/r/artifacts")]
    [InlineData("hdfs://namenode/1/r/artifacts")]
    public async Task Unserved_schemes_say_to_use_serve_artifacts(string uri)
    {
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = "http://mlflow.test:5000", MaxRetries = 0 });
        using var temp = new TempDir();

        var ex = await Assert.ThrowsAsync<NotSupportedException>(() => client.Artifacts.DownloadUriAsync(uri, temp.Path, Ct));

        Assert.Contains("--serve-artifacts", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("container@", ex.Message, StringComparison.Ordinal); // user info is redacted
    }

    [Fact]
    public async Task A_cancelled_download_leaves_no_file_behind()
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var handler = new RecordingHandler((request, _) =>
        {
            if (request.RequestUri!.AbsolutePath.EndsWith("/runs/get", StringComparison.Ordinal))
            {
                return RecordingHandler.Run(RunArtifactUri);
            }

            if (request.RequestUri.Query.Length > 0)
            {
                return RecordingHandler.Json("""{"files":[]}""");
            }

            var body = new StreamContent(new StallingStream(new byte[10_000], cts));
            body.Headers.ContentLength = 1_000_000;
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = body };
        });
        using var http = new HttpClient(handler);
        using var client = new MlflowClient(http, new MlflowClientOptions { TrackingUri = "http://mlflow.test", MaxRetries = 0 });
        using var temp = new TempDir();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.Artifacts.DownloadAsync(RunId, "big.bin", temp.Path, cts.Token));

        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));
    }

    [Fact]
    public async Task Uploads_run_at_most_MaxParallelism_files_at_a_time()
    {
        var inFlight = 0;
        var peak = 0;
        var handler = new AsyncHandler(async request =>
        {
            if (request.Method == HttpMethod.Get)
            {
                return RecordingHandler.Run(RunArtifactUri);
            }

            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref peak, now);
            await Task.Delay(40);
            Interlocked.Decrement(ref inFlight);
            return RecordingHandler.Json("{}");
        });
        using var http = new HttpClient(handler);
        using var client = new MlflowClient(http, new MlflowClientOptions { TrackingUri = "http://mlflow.test", MaxRetries = 0 });
        using var temp = new TempDir();
        for (var i = 0; i < 8; i++)
        {
            temp.Write($"d{i % 3}/f{i}.txt", $"file {i}");
        }

        var reports = new SyncProgress();
        await client.Artifacts.LogArtifactsAsync(RunId, temp.Path, "out", new ArtifactTransferOptions { MaxParallelism = 2, Progress = reports }, Ct);

        Assert.Equal(2, peak);
        Assert.Equal(8, handler.Count(HttpMethod.Put));
        Assert.Equal(8, reports.Items.Count(r => r.FileCompleted));
        Assert.Equal(reports.Items[0].TotalBytes, reports.Items.Max(r => r.BytesTransferred));
    }

    [Fact]
    public async Task Upload_validation_happens_before_any_request()
    {
        var handler = new RecordingHandler((_, _) => RecordingHandler.Json("{}"));
        using var http = new HttpClient(handler);
        using var client = new MlflowClient(http, new MlflowClientOptions { TrackingUri = "http://mlflow.test", MaxRetries = 0 });
        using var temp = new TempDir();
        var file = temp.Write("a.txt", "a");

        await Assert.ThrowsAsync<FileNotFoundException>(() => client.Artifacts.LogArtifactAsync(RunId, temp.Combine("missing.txt"), null, Ct));
        await Assert.ThrowsAsync<DirectoryNotFoundException>(() => client.Artifacts.LogArtifactsAsync(RunId, temp.Combine("missing"), null, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => client.Artifacts.LogArtifactAsync(RunId, file, "/abs", Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => client.Artifacts.LogArtifactAsync(RunId, file, "a\\b", Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => client.Artifacts.LogTextAsync(RunId, "x", "", Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => client.Artifacts.LogArtifactAsync(RunId, file, null, new ArtifactTransferOptions { MaxParallelism = 0 }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => client.Artifacts.DeleteAsync(RunId, "", Ct));
        Assert.Empty(handler.Requests);
    }

    [Fact]
    public async Task Log_json_writes_indented_json()
    {
        using var server = WireMockServer.Start();
        using var client = TestClients.For(server);
        StubRun(server);
        server.Given(Request.Create().UsingPut()).RespondWith(Response.Create().WithStatusCode(200).WithBody("{}"));

        await client.Artifacts.LogJsonAsync(RunId, new JsonObject { ["lr"] = 0.1, ["layers"] = new JsonArray(1, 2) }, "config.json", Ct);

        var put = server.LogEntries.Single(e => e.RequestMessage.Method == "PUT");
        Assert.Equal($"{ProxyApi}/{RunRoot}/config.json", put.RequestMessage.Path);
        Assert.Equal("application/json", put.RequestMessage.Headers!["Content-Type"].Single());
        var body = Encoding.UTF8.GetString(put.RequestMessage.BodyAsBytes!);
        Assert.Contains("\n", body, StringComparison.Ordinal);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"lr":0.1,"layers":[1,2]}"""), JsonNode.Parse(body)));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}

/// <summary>Sends a prefix, cancels the caller's token, then waits for the cancellation.</summary>
public sealed class StallingStream(byte[] prefix, CancellationTokenSource cancel) : Stream
{
    private int _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position < prefix.Length)
        {
            var n = Math.Min(buffer.Length, prefix.Length - _position);
            prefix.AsMemory(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        await cancel.CancelAsync();
        await Task.Delay(Timeout.Infinite, cancellationToken);
        return 0;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>Collects progress synchronously (Progress&lt;T&gt; would post to the thread pool).</summary>
public sealed class SyncProgress : IProgress<ArtifactTransferProgress>
{
    private readonly List<ArtifactTransferProgress> _items = [];

    public List<ArtifactTransferProgress> Items
    {
        get
        {
            lock (_items)
            {
                return [.. _items];
            }
        }
    }

    public void Report(ArtifactTransferProgress value)
    {
        lock (_items)
        {
            _items.Add(value);
        }
    }
}

/// <summary>A transport answering with an async delegate; counts requests per method.</summary>
public sealed class AsyncHandler : HttpMessageHandler
{
    private readonly Func<HttpRequestMessage, Task<HttpResponseMessage>> _respond;
    private readonly List<(HttpMethod Method, Uri Uri, byte[]? Body, HttpRequestMessage Request)> _requests = [];

    public AsyncHandler(Func<HttpRequestMessage, Task<HttpResponseMessage>> respond) => _respond = respond;

    public List<(HttpMethod Method, Uri Uri, byte[]? Body, HttpRequestMessage Request)> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    public int Count(HttpMethod method) => Requests.Count(r => r.Method == method);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        lock (_requests)
        {
            _requests.Add((request.Method, request.RequestUri!, body, request));
        }

        return await _respond(request);
    }
}
