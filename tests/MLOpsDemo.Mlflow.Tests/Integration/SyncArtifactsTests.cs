using System.Text;
using MLOpsDemo.Mlflow.Tests.Sqlite;
using MLOpsDemo.Mlflow.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Tests.Integration;

/// <summary>Sync copies the artifacts a run logged through the fluent API, to another SQLite store and to a server.</summary>
public class SyncArtifactsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Sqlite_to_sqlite_copies_the_artifact_tree_of_each_run()
    {
        using var sourceFolder = new TempFolder();
        using var destinationFolder = new TempFolder();
        using var source = sourceFolder.Client();
        using var destination = destinationFolder.Client();
        var experimentId = await source.Experiments.CreateAsync("offline", Path.Combine(sourceFolder.Path, "mlruns", "1"), cancellationToken: Ct);
        // The destination has the experiment already (sync matches it by name), with its artifacts in its own folder.
        await destination.Experiments.CreateAsync("offline", Path.Combine(destinationFolder.Path, "mlruns", "1"), cancellationToken: Ct);
        string runId;
        await using (var run = await source.StartRunAsync(new StartRunOptions { ExperimentId = experimentId }, Ct))
        {
            runId = run.RunId;
            run.LogMetric("loss", 0.5);
            await run.LogTextAsync("hi", "notes.txt", Ct);
            await run.LogBytesAsync(new byte[] { 0, 255, 7 }, "model/weights/w.bin", Ct);
        }

        var result = await source.SyncAsync(destination, new SyncOptions { ExperimentNames = ["offline"] }, cancellationToken: Ct);

        Assert.False(result.ArtifactsSkipped, result.ArtifactsSkippedReason);
        var copyId = result.RunIdMap[runId];
        var listed = new List<string>();
        await foreach (var file in destination.Artifacts.ListAsync(copyId, recursive: true, cancellationToken: Ct))
        {
            if (!file.IsDirectory)
            {
                listed.Add(file.Path);
            }
        }

        Assert.Equal(["model/weights/w.bin", "notes.txt"], listed.Order(StringComparer.Ordinal));
        using var download = new TempFolder();
        var local = await destination.Artifacts.DownloadAsync(copyId, "model", download.Path, Ct);
        Assert.Equal(new byte[] { 0, 255, 7 }, await File.ReadAllBytesAsync(Path.Combine(local, "weights", "w.bin"), Ct));
        var copy = await destination.Runs.GetAsync(copyId, Ct);
        Assert.StartsWith(Path.Combine(destinationFolder.Path, "mlruns", "1", copyId), copy.Info.ArtifactUri!, StringComparison.Ordinal);
        Assert.Equal("hi", await File.ReadAllTextAsync(Path.Combine(copy.Info.ArtifactUri!, "notes.txt"), Ct));
    }

    [Fact]
    public async Task Sqlite_to_rest_uploads_the_artifacts_through_the_servers_artifact_proxy()
    {
        using var folder = new TempFolder();
        using var source = folder.Client();
        var experimentId = await source.Experiments.CreateAsync("exp", Path.Combine(folder.Path, "mlruns", "1"), cancellationToken: Ct);
        await using (var run = await source.StartRunAsync(new StartRunOptions { ExperimentId = experimentId }, Ct))
        {
            await run.LogTextAsync("hello", "reports/summary.txt", Ct);
        }

        using var server = WireMockServer.Start();
        Stub(server, "GET", "/api/2.0/mlflow/experiments/get-by-name", 404, """{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "no"}""");
        Stub(server, "POST", "/api/2.0/mlflow/experiments/create", 200, """{"experiment_id": "7"}""");
        Stub(server, "POST", "/api/2.0/mlflow/runs/search", 200, "{}");
        Stub(server, "POST", "/api/2.0/mlflow/runs/create", 200, """{"run": {"info": {"run_id": "dest1", "experiment_id": "7", "status": "RUNNING", "start_time": 1, "artifact_uri": "mlflow-artifacts:/7/dest1/artifacts", "lifecycle_stage": "active"}, "data": {}}}""");
        Stub(server, "GET", "/api/2.0/mlflow/runs/get", 200, """{"run": {"info": {"run_id": "dest1", "experiment_id": "7", "status": "RUNNING", "start_time": 1, "artifact_uri": "mlflow-artifacts:/7/dest1/artifacts", "lifecycle_stage": "active"}, "data": {}}}""");
        Stub(server, "POST", "/api/2.0/mlflow/runs/log-batch", 200, "{}");
        Stub(server, "POST", "/api/2.0/mlflow/runs/update", 200, """{"run_info": {"run_id": "dest1", "experiment_id": "7", "status": "FINISHED", "lifecycle_stage": "active"}}""");
        server.Given(Request.Create().UsingPut()).RespondWith(Response.Create().WithStatusCode(200).WithBody("{}"));

        using (var destination = TestClients.For(server))
        {
            var result = await source.SyncAsync(destination, new SyncOptions { ExperimentNames = ["exp"] }, cancellationToken: Ct);
            Assert.False(result.ArtifactsSkipped, result.ArtifactsSkippedReason);
            Assert.Equal(1, result.RunsCopied);
        }

        var put = Assert.Single(server.LogEntries, e => e.RequestMessage.Method == "PUT");
        Assert.Equal("/api/2.0/mlflow-artifacts/artifacts/7/dest1/artifacts/reports/summary.txt", put.RequestMessage.Path);
        Assert.Equal("hello", Encoding.UTF8.GetString(put.RequestMessage.BodyAsBytes!));

        // The upload comes before the sync tags, so an interrupted copy is retried by the next sync.
        var order = server.LogEntries.OrderBy(e => e.RequestMessage.DateTime).Select(e => e.RequestMessage).ToList();
        var lastBatch = order.FindLastIndex(m => m.Path.EndsWith("/runs/log-batch", StringComparison.Ordinal));
        Assert.True(order.FindIndex(m => m.Method == "PUT") < lastBatch);
        Assert.Contains(MlflowSync.SourceRunIdTag, order[lastBatch].Body, StringComparison.Ordinal);
    }

    private static void Stub(WireMockServer server, string method, string path, int status, string body) =>
        server.Given(Request.Create().UsingMethod(method).WithPath(path))
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body));
}
