using System.Text.Json.Nodes;
using MLOpsDemo.Mlflow.Tests.Sqlite;
using MLOpsDemo.Mlflow.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Tests.Sync;

public class MlflowSyncTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed class ListProgress : IProgress<SyncProgress>
    {
        public List<SyncProgress> Reports { get; } = [];

        public void Report(SyncProgress value) => Reports.Add(value);
    }

    [Fact]
    public async Task Sqlite_to_sqlite_copies_everything_once_and_twice_is_a_no_op()
    {
        using var sourceFolder = new TempFolder();
        using var destinationFolder = new TempFolder();
        using var source = sourceFolder.Client();
        using var destination = destinationFolder.Client();

        var exp = await source.Experiments.CreateAsync("vision", Path.Combine(sourceFolder.Path, "mlruns", "1"), new Dictionary<string, string> { ["team"] = "cv" }, Ct);
        var parent = await source.Runs.CreateAsync(exp, new CreateRunOptions { RunName = "parent", UserId = "ada", StartTime = DateTimeOffset.FromUnixTimeMilliseconds(1_000), Tags = new Dictionary<string, string> { ["stage"] = "dev" } }, Ct);
        var child = await source.Runs.CreateAsync(exp, new CreateRunOptions { RunName = "child", StartTime = DateTimeOffset.FromUnixTimeMilliseconds(2_000), Tags = new Dictionary<string, string> { ["mlflow.parentRunId"] = parent.Info.RunId } }, Ct);
        await source.Runs.LogBatchAsync(parent.Info.RunId, [new Metric("loss", 0.9, 10, 0), new Metric("loss", 0.5, 20, 1), new Metric("loss", double.NaN, 30, 2), new Metric("acc", 0.7, 10, 0)], [new("lr", "0.01")], cancellationToken: Ct);
        await source.Runs.LogInputsAsync(parent.Info.RunId, [new DatasetInput { Dataset = new Dataset { Name = "train", Digest = "d1", SourceType = "local", Source = "{}" }, Tags = new Dictionary<string, string> { ["mlflow.data.context"] = "training" } }], cancellationToken: Ct);
        await source.Runs.SetTerminatedAsync(parent.Info.RunId, RunStatus.Finished, DateTimeOffset.FromUnixTimeMilliseconds(5_000), Ct);
        var deleted = await source.Runs.CreateAsync(exp, new CreateRunOptions { RunName = "gone" }, Ct);
        await source.Runs.DeleteAsync(deleted.Info.RunId, Ct);
        Directory.CreateDirectory(parent.Info.ArtifactUri!);
        await File.WriteAllTextAsync(Path.Combine(parent.Info.ArtifactUri!, "notes.txt"), "hi", Ct);

        var progress = new ListProgress();
        var result = await source.SyncAsync(destination, progress: progress, cancellationToken: Ct);

        Assert.Equal(1, result.ExperimentsCreated); // "Default" exists on both sides
        Assert.Equal(2, result.RunsCopied);
        Assert.Equal(0, result.RunsSkipped);
        Assert.Equal(4, result.MetricPointsCopied);
        Assert.Contains(progress.Reports, r => r.Message.Contains("Created experiment 'vision'", StringComparison.Ordinal));
        Assert.Equal(2, progress.Reports.Count(r => r.Message.StartsWith("Copied run", StringComparison.Ordinal)));
        Assert.Equal(2, progress.Reports[^1].RunsCopied);

        var target = (await destination.Experiments.GetByNameAsync("vision", Ct))!;
        Assert.Equal("cv", target.Tags["team"]);
        var copiedParent = await destination.Runs.GetAsync(result.RunIdMap[parent.Info.RunId], Ct);
        Assert.Equal(("parent", "ada", RunStatus.Finished, 1_000L, (long?)5_000), (copiedParent.Info.RunName, copiedParent.Info.UserId, copiedParent.Info.Status, copiedParent.Info.StartTime!.Value, copiedParent.Info.EndTime));
        Assert.Equal("0.01", copiedParent.Data.Params["lr"]);
        Assert.Equal("dev", copiedParent.Data.Tags["stage"]);
        Assert.Equal(parent.Info.RunId, copiedParent.Data.Tags[MlflowSync.SourceRunIdTag]);
        Assert.Equal("sqlite:///" + sourceFolder.DatabasePath, copiedParent.Data.Tags[MlflowSync.SourceUriTag]);
        Assert.True(double.IsNaN(copiedParent.Data.Metrics.Single(m => m.Key == "loss").Value));
        var history = new List<Metric>();
        await foreach (var m in destination.Runs.GetMetricHistoryAsync(copiedParent.Info.RunId, "loss", cancellationToken: Ct))
        {
            history.Add(m);
        }

        Assert.Equal([(10L, 0L), (20L, 1L), (30L, 2L)], history.Select(m => (m.Timestamp, m.Step)));
        Assert.Equal("training", Assert.Single(copiedParent.Inputs.DatasetInputs).Tags["mlflow.data.context"]);
        var copiedChild = await destination.Runs.GetAsync(result.RunIdMap[child.Info.RunId], Ct);
        Assert.Equal(copiedParent.Info.RunId, copiedChild.Data.Tags["mlflow.parentRunId"]); // remapped to the destination id
        Assert.Equal(RunStatus.Running, copiedChild.Info.Status);
        Assert.DoesNotContain(deleted.Info.RunId, result.RunIdMap.Keys);

        Assert.False(result.ArtifactsSkipped, result.ArtifactsSkippedReason);
        Assert.Equal("hi", await File.ReadAllTextAsync(Path.Combine(copiedParent.Info.ArtifactUri!, "notes.txt"), Ct));

        var again = await source.SyncAsync(destination, cancellationToken: Ct);
        Assert.Equal((0, 0, 2, 0L), (again.ExperimentsCreated, again.RunsCopied, again.RunsSkipped, again.MetricPointsCopied));
        Assert.Equal(result.RunIdMap.OrderBy(p => p.Key), again.RunIdMap.OrderBy(p => p.Key));
        var page = await destination.Runs.SearchPageAsync(new SearchRunsOptions { ExperimentIds = [target.ExperimentId], ViewType = ViewType.All }, Ct);
        Assert.Equal(2, page.Items.Count);
    }

    [Fact]
    public async Task Sqlite_to_rest_sends_exactly_the_expected_requests_and_twice_is_a_no_op()
    {
        using var folder = new TempFolder();
        using var source = folder.Client();
        var exp = await source.Experiments.CreateAsync("exp", cancellationToken: Ct);
        var run = await source.Runs.CreateAsync(exp, new CreateRunOptions { RunName = "r1", UserId = "ada", StartTime = DateTimeOffset.FromUnixTimeMilliseconds(1_000), Tags = new Dictionary<string, string> { ["team"] = "a" } }, Ct);
        await source.Runs.LogBatchAsync(run.Info.RunId, [new Metric("loss", 0.5, 100, 0), new Metric("loss", 0.25, 200, 1)], [new("lr", "0.1")], cancellationToken: Ct);
        await source.Runs.SetTerminatedAsync(run.Info.RunId, RunStatus.Finished, DateTimeOffset.FromUnixTimeMilliseconds(9_000), Ct);
        var sourceUri = "sqlite:///" + folder.DatabasePath;

        using var server = WireMockServer.Start();
        Stub(server, "GET", "/api/2.0/mlflow/experiments/get-by-name", 404, """{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Could not find experiment with name 'exp'"}""");
        Stub(server, "POST", "/api/2.0/mlflow/experiments/create", 200, """{"experiment_id": "7"}""");
        Stub(server, "POST", "/api/2.0/mlflow/runs/search", 200, "{}");
        Stub(server, "POST", "/api/2.0/mlflow/runs/create", 200, """{"run": {"info": {"run_id": "dest1", "run_uuid": "dest1", "experiment_id": "7", "run_name": "r1", "user_id": "ada", "status": "RUNNING", "start_time": 1000, "lifecycle_stage": "active"}, "data": {}}}""");
        Stub(server, "POST", "/api/2.0/mlflow/runs/log-batch", 200, "{}");
        Stub(server, "POST", "/api/2.0/mlflow/runs/update", 200, """{"run_info": {"run_id": "dest1", "experiment_id": "7", "status": "FINISHED", "end_time": 9000, "lifecycle_stage": "active"}}""");
        using (var destination = TestClients.For(server))
        {
            var result = await source.SyncAsync(destination, new SyncOptions { ExperimentNames = ["exp"] }, cancellationToken: Ct);
            Assert.Equal((1, 1, 0, 2L), (result.ExperimentsCreated, result.RunsCopied, result.RunsSkipped, result.MetricPointsCopied));
            Assert.Equal("dest1", result.RunIdMap[run.Info.RunId]);
        }

        var filter = $"tags.`mlflow.sync.sourceUri` = '{sourceUri}'";
        AssertRequests(
            server,
            ("GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=exp", null),
            ("POST", "/api/2.0/mlflow/experiments/create", new JsonObject { ["name"] = "exp" }),
            ("POST", "/api/2.0/mlflow/runs/search", new JsonObject { ["experiment_ids"] = new JsonArray("7"), ["filter"] = filter, ["run_view_type"] = "ALL", ["max_results"] = 1000 }),
            ("POST", "/api/2.0/mlflow/runs/create", JsonNode.Parse("""{"experiment_id": "7", "user_id": "ada", "run_name": "r1", "start_time": 1000, "tags": [{"key": "mlflow.runName", "value": "r1"}, {"key": "team", "value": "a"}]}""")),
            ("POST", "/api/2.0/mlflow/runs/log-batch", JsonNode.Parse("""{"run_id": "dest1", "metrics": [{"key": "loss", "value": 0.5, "timestamp": 100, "step": 0}, {"key": "loss", "value": 0.25, "timestamp": 200, "step": 1}], "params": [{"key": "lr", "value": "0.1"}]}""")),
            ("POST", "/api/2.0/mlflow/runs/update", JsonNode.Parse("""{"run_id": "dest1", "status": "FINISHED", "end_time": 9000}""")),
            ("POST", "/api/2.0/mlflow/runs/log-batch", JsonNode.Parse($$"""{"run_id": "dest1", "tags": [{"key": "mlflow.sync.sourceRunId", "value": "{{run.Info.RunId}}"}, {"key": "mlflow.sync.sourceUri", "value": "{{sourceUri}}"}]}""")));

        // Second sync: the server now has the experiment and the tagged copy, so only the two look-ups are sent.
        server.Reset();
        Stub(server, "GET", "/api/2.0/mlflow/experiments/get-by-name", 200, """{"experiment": {"experiment_id": "7", "name": "exp", "lifecycle_stage": "active"}}""");
        var copy = new JsonObject
        {
            ["runs"] = new JsonArray(new JsonObject
            {
                ["info"] = new JsonObject { ["run_id"] = "dest1", ["experiment_id"] = "7", ["status"] = "FINISHED", ["lifecycle_stage"] = "active" },
                ["data"] = new JsonObject { ["tags"] = new JsonArray(new JsonObject { ["key"] = MlflowSync.SourceRunIdTag, ["value"] = run.Info.RunId }, new JsonObject { ["key"] = MlflowSync.SourceUriTag, ["value"] = sourceUri }) },
            }),
        };
        Stub(server, "POST", "/api/2.0/mlflow/runs/search", 200, copy.ToJsonString());
        using (var destination = TestClients.For(server))
        {
            var again = await source.SyncAsync(destination, new SyncOptions { ExperimentNames = ["exp"] }, cancellationToken: Ct);
            Assert.Equal((0, 0, 1), (again.ExperimentsCreated, again.RunsCopied, again.RunsSkipped));
        }

        AssertRequests(
            server,
            ("GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=exp", null),
            ("POST", "/api/2.0/mlflow/runs/search", new JsonObject { ["experiment_ids"] = new JsonArray("7"), ["filter"] = filter, ["run_view_type"] = "ALL", ["max_results"] = 1000 }));
    }

    private static void Stub(WireMockServer server, string method, string path, int status, string body) =>
        server.Given(Request.Create().UsingMethod(method).WithPath(path))
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body));

    private static void AssertRequests(WireMockServer server, params (string Method, string PathAndQuery, JsonNode? Body)[] expected)
    {
        var actual = server.LogEntries.OrderBy(e => e.RequestMessage.DateTime).Select(e => e.RequestMessage).ToList();
        Assert.Equal(
            expected.Select(e => $"{e.Method} {e.PathAndQuery}"),
            actual.Select(a => $"{a.Method} {a.Path}{(string.IsNullOrEmpty(a.RawQuery) ? "" : "?" + a.RawQuery.TrimStart('?'))}"));
        foreach (var (e, a) in expected.Zip(actual))
        {
            if (e.Body is null)
            {
                Assert.True(string.IsNullOrEmpty(a.Body), $"{e.PathAndQuery}: unexpected body {a.Body}");
                continue;
            }

            var body = JsonNode.Parse(a.Body!);
            Assert.True(JsonNode.DeepEquals(e.Body, body), $"{e.PathAndQuery}: body differs.\nexpected: {e.Body.ToJsonString()}\nactual:   {body!.ToJsonString()}");
        }
    }
}
