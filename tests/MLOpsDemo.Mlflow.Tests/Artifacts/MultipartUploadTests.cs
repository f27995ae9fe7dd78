using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using static MLOpsDemo.Mlflow.Tests.Artifacts.ArtifactStubs;

namespace MLOpsDemo.Mlflow.Tests.Artifacts;

/// <summary>Multipart upload through <c>mlflow-artifacts/mpu/*</c> with presigned part URLs.</summary>
public sealed class MultipartUploadTests
{
    private const string Tracking = "http://mlflow.test:5000";
    private const string MpuBase = Tracking + "/api/2.0/mlflow-artifacts/mpu/";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ArtifactTransferOptions SmallParts() => new() { MultipartThreshold = 10, MultipartChunkSize = 4 };

    [Fact]
    public async Task Large_files_go_in_parts_to_presigned_urls_without_credentials_and_a_failed_part_is_resent_intact()
    {
        var tracking = new AsyncHandler(request => Task.FromResult(TrackingAnswer(request, numParts: 3)));
        var partAttempts = new Dictionary<int, int>();
        var storage = new AsyncHandler(request =>
        {
            var part = int.Parse(request.RequestUri!.AbsolutePath[^1..], System.Globalization.CultureInfo.InvariantCulture);
            int attempt;
            lock (partAttempts)
            {
                attempt = partAttempts[part] = partAttempts.GetValueOrDefault(part) + 1;
            }

            if (part == 2 && attempt == 1)
            {
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.ServiceUnavailable));
            }

            var ok = new HttpResponseMessage(HttpStatusCode.OK);
            ok.Headers.TryAddWithoutValidation("ETag", $"\"etag-{part}\"");
            return Task.FromResult(ok);
        });
        using var client = CreateClient(tracking, storage);
        using var temp = new TempDir();
        var file = temp.Write("big.bin", Encoding.ASCII.GetBytes("0123456789"));
        var reports = new SyncProgress();
        var options = SmallParts();
        options.Progress = reports;

        await client.Artifacts.LogArtifactAsync(RunId, file, "models", options, Ct);

        var create = tracking.Requests.Single(r => r.Uri.AbsoluteUri.StartsWith(MpuBase + "create/", StringComparison.Ordinal));
        Assert.Equal($"{MpuBase}create/{RunRoot}/models", create.Uri.AbsoluteUri);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"path":"big.bin","num_parts":3}"""), JsonNode.Parse(create.Body)));
        Assert.Equal("Bearer secret-token", create.Request.Headers.Authorization?.ToString());

        var parts = storage.Requests.GroupBy(r => r.Uri.AbsolutePath).ToDictionary(g => g.Key, g => g.Select(r => Encoding.ASCII.GetString(r.Body!)).ToList());
        Assert.Equal(["0123"], parts["/bucket/part1"]);
        Assert.Equal(["4567", "4567"], parts["/bucket/part2"]);
        Assert.Equal(["89"], parts["/bucket/part3"]);
        Assert.All(storage.Requests, r => Assert.Null(r.Request.Headers.Authorization));
        Assert.All(storage.Requests, r => Assert.Contains(r.Request.Headers.UserAgent, p => p.Product?.Name == "mlflow-dotnet-client"));
        Assert.All(storage.Requests, r => Assert.Equal("golden", r.Request.Headers.GetValues("x-amz-meta-team").Single()));
        Assert.All(storage.Requests, r => Assert.Contains("X-Amz-Signature=sig", r.Uri.Query, StringComparison.Ordinal));

        var complete = tracking.Requests.Single(r => r.Uri.AbsoluteUri.StartsWith(MpuBase + "complete/", StringComparison.Ordinal));
        var body = JsonNode.Parse(complete.Body)!;
        Assert.Equal("big.bin", (string)body["path"]!);
        Assert.Equal("upload-1", (string)body["upload_id"]!);
        Assert.Equal(["\"etag-1\"", "\"etag-2\"", "\"etag-3\""], body["parts"]!.AsArray().Select(p => (string)p!["etag"]!));
        Assert.Equal([1L, 2L, 3L], body["parts"]!.AsArray().Select(p => (long)p!["part_number"]!));
        Assert.DoesNotContain(tracking.Requests, r => r.Method == HttpMethod.Put);
        Assert.Equal(10, reports.Items.Single(r => r.FileCompleted).FileBytesTransferred);
    }

    [Fact]
    public async Task A_part_that_keeps_failing_aborts_the_upload()
    {
        var tracking = new AsyncHandler(request => Task.FromResult(TrackingAnswer(request, numParts: 3)));
        var storage = new AsyncHandler(request => Task.FromResult(
            request.RequestUri!.AbsolutePath.EndsWith('3') ? new HttpResponseMessage(HttpStatusCode.Forbidden) { Content = new StringContent("<Error>AccessDenied</Error>") } : Ok()));
        using var client = CreateClient(tracking, storage);
        using var temp = new TempDir();
        var file = temp.Write("big.bin", Encoding.ASCII.GetBytes("0123456789"));

        var ex = await Assert.ThrowsAsync<MlflowException>(() => client.Artifacts.LogArtifactAsync(RunId, file, null, SmallParts(), Ct));

        Assert.Equal(HttpStatusCode.Forbidden, ex.StatusCode);
        var abort = tracking.Requests.Single(r => r.Uri.AbsoluteUri.StartsWith(MpuBase + "abort/", StringComparison.Ordinal));
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"path":"big.bin","upload_id":"upload-1"}"""), JsonNode.Parse(abort.Body)));
        Assert.DoesNotContain(tracking.Requests, r => r.Uri.AbsoluteUri.StartsWith(MpuBase + "complete/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Servers_without_multipart_answer_501_once_and_get_single_streamed_puts()
    {
        var tracking = new AsyncHandler(request => Task.FromResult(
            request.RequestUri!.AbsolutePath.Contains("/mpu/create/", StringComparison.Ordinal)
                ? RecordingHandler.Json("""{"error_code":"NOT_IMPLEMENTED","message":"Multipart upload is not supported for the current artifact repository"}""", HttpStatusCode.NotImplemented)
                : TrackingAnswer(request, numParts: 0)));
        var storage = new AsyncHandler(_ => Task.FromResult(Ok()));
        using var client = CreateClient(tracking, storage);
        using var temp = new TempDir();
        var first = temp.Write("a.bin", Encoding.ASCII.GetBytes("0123456789AB"));
        var second = temp.Write("b.bin", Encoding.ASCII.GetBytes("abcdefghijkl"));

        await client.Artifacts.LogArtifactAsync(RunId, first, null, SmallParts(), Ct);
        await client.Artifacts.LogArtifactAsync(RunId, second, null, SmallParts(), Ct);

        Assert.Single(tracking.Requests, r => r.Uri.AbsolutePath.Contains("/mpu/create/", StringComparison.Ordinal));
        var puts = tracking.Requests.Where(r => r.Method == HttpMethod.Put).ToList();
        Assert.Equal([$"{Tracking}{ProxyApi}/{RunRoot}/a.bin", $"{Tracking}{ProxyApi}/{RunRoot}/b.bin"], puts.Select(p => p.Uri.AbsoluteUri));
        Assert.Equal("0123456789AB", Encoding.ASCII.GetString(puts[0].Body!));
        Assert.True(puts[0].Request.Options.TryGetValue(MLOpsDemo.Mlflow.Http.MlflowCredentialHandler.ReplayableContentKey, out var replayable) && replayable);
        Assert.Empty(storage.Requests);
    }

    [Fact]
    public async Task Files_below_the_threshold_never_ask_for_multipart()
    {
        var tracking = new AsyncHandler(request => Task.FromResult(TrackingAnswer(request, numParts: 0)));
        using var client = CreateClient(tracking, new AsyncHandler(_ => Task.FromResult(Ok())));
        using var temp = new TempDir();
        var file = temp.Write("small.bin", Encoding.ASCII.GetBytes("012345678"));

        await client.Artifacts.LogArtifactAsync(RunId, file, null, SmallParts(), Ct);

        Assert.DoesNotContain(tracking.Requests, r => r.Uri.AbsolutePath.Contains("/mpu/", StringComparison.Ordinal));
        Assert.Single(tracking.Requests, r => r.Method == HttpMethod.Put);
    }

    [Fact]
    public void Environment_variables_set_thresholds()
    {
        var env = new Dictionary<string, string>
        {
            ["MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE"] = "1048576",
            ["MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE"] = "5242880",
            ["MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD"] = "false",
        };

        var options = ArtifactTransferOptions.FromEnvironment(name => env.GetValueOrDefault(name));

        Assert.Equal(1048576, options.MultipartThreshold);
        Assert.Equal(5242880, options.MultipartChunkSize);
        Assert.False(options.EnableMultipartUpload);
        Assert.Equal(ArtifactTransferOptions.DefaultMultipartThreshold, ArtifactTransferOptions.FromEnvironment(_ => null).MultipartThreshold);
        Assert.Throws<ArgumentException>(() => ArtifactTransferOptions.FromEnvironment(name => name == "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE" ? "ten" : null));
    }

    private static MlflowClient CreateClient(AsyncHandler tracking, AsyncHandler storage)
    {
        var credential = new MLOpsDemo.Mlflow.Http.MlflowCredentialHandler(MlflowCredential.Bearer("secret-token")) { InnerHandler = tracking };
        // Presigned parts go through the options' unauthenticated pipeline (here: the storage stub), not a static client.
        return new MlflowClient(new HttpClient(credential), new MlflowClientOptions { TrackingUri = Tracking, MaxRetries = 0, BackoffFactor = TimeSpan.Zero, UnauthenticatedHttpClientFactory = () => new HttpClient(storage) });
    }

    private static HttpResponseMessage Ok()
    {
        var ok = new HttpResponseMessage(HttpStatusCode.OK);
        ok.Headers.TryAddWithoutValidation("ETag", "\"e\"");
        return ok;
    }

    private static HttpResponseMessage TrackingAnswer(HttpRequestMessage request, int numParts)
    {
        var path = request.RequestUri!.AbsolutePath;
        if (path.EndsWith("/runs/get", StringComparison.Ordinal))
        {
            return RecordingHandler.Run(RunArtifactUri);
        }

        if (path.Contains("/mpu/create/", StringComparison.Ordinal))
        {
            var credentials = new JsonArray(Enumerable.Range(1, numParts).Select(n => (JsonNode)new JsonObject
            {
                ["url"] = $"https://storage.test/bucket/part{n}?X-Amz-Signature=sig",
                ["part_number"] = n,
                ["headers"] = new JsonObject { ["x-amz-meta-team"] = "golden" },
            }).ToArray());
            return RecordingHandler.Json(new JsonObject { ["upload_id"] = "upload-1", ["credentials"] = credentials }.ToJsonString());
        }

        return RecordingHandler.Json("{}");
    }
}
