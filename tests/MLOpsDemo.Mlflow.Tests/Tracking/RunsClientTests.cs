using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using MLOpsDemo.Mlflow.Tests.TestSupport;
using WireMock.Matchers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Tests.Tracking;

public class RunsClientTests : IDisposable
{
    private const string Runs = "/api/2.0/mlflow/runs/";
    private const string RunId = "0123456789abcdef0123456789abcdef";
    private const string RunJson = """{"run":{"info":{"run_uuid":"0123456789abcdef0123456789abcdef","run_id":"0123456789abcdef0123456789abcdef","experiment_id":"1","run_name":"r","user_id":"u","status":"RUNNING","start_time":1767225600000,"artifact_uri":"mlflow-artifacts:/1/x/artifacts","lifecycle_stage":"active"},"data":{"tags":[{"key":"mlflow.runName","value":"r"}]},"inputs":{}}}""";
    private static readonly DateTimeOffset s_now = DateTimeOffset.FromUnixTimeMilliseconds(1767225600000);
    private readonly WireMockServer _server = WireMockServer.Start();
    private readonly FakeTimeProvider _time = new(s_now);
    private readonly MlflowClient _client;

    public RunsClientTests() => _client = TestClients.For(_server, o => o.TimeProvider = _time);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        _client.Dispose();
        _server.Dispose();
    }

    private void Ok(string endpoint) => _server.Json("POST", Runs + endpoint, "{}");

    [Fact]
    public async Task CreateAsync_posts_every_field_and_parses_the_run()
    {
        _server.Json("POST", Runs + "create", RunJson);
        var run = await _client.Runs.CreateAsync("1", new CreateRunOptions { RunName = "r", UserId = "u", StartTime = s_now, Tags = new Dictionary<string, string> { ["a"] = "b" } }, Ct);
        Assert.Equal(RunId, run.Info.RunId);
        Assert.Equal(RunStatus.Running, run.Info.Status);
        Assert.Equal("r", run.Data.Tags["mlflow.runName"]);
        Assert.Empty(run.Data.Metrics);
        Assert.Empty(run.Data.Params);
        Assert.Empty(run.Inputs.DatasetInputs);
        Assert.Empty(run.Outputs.ModelOutputs);
        Assert.Single(_server.LogEntries).AssertRequest("POST", Runs + "create", """{"experiment_id":"1","user_id":"u","run_name":"r","start_time":1767225600000,"tags":[{"key":"a","value":"b"}]}""");
    }

    [Fact]
    public async Task CreateAsync_defaults_start_time_to_now_user_to_the_mlflow_user_tag_and_generates_a_name()
    {
        _server.Json("POST", Runs + "create", RunJson);
        await _client.Runs.CreateAsync("1", new CreateRunOptions { Tags = new Dictionary<string, string> { ["mlflow.user"] = "alice" } }, Ct);
        var body = Assert.Single(_server.LogEntries).Body();
        Assert.Equal(1767225600000, (long)body["start_time"]!);
        Assert.Equal("alice", (string)body["user_id"]!);
        Assert.Matches("^[a-z]+-[a-z]+-[0-9]{1,3}$", (string)body["run_name"]!);
    }

    [Fact]
    public async Task CreateAsync_refuses_a_run_name_that_contradicts_the_runName_tag()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => _client.Runs.CreateAsync("1", new CreateRunOptions { RunName = "a", Tags = new Dictionary<string, string> { ["mlflow.runName"] = "b" } }, Ct));
        Assert.Contains("mlflow.runName", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_server.LogEntries);
    }

    [Fact]
    public async Task GetAsync_sends_run_id_in_the_query()
    {
        _server.Json("GET", Runs + "get", RunJson);
        var run = await _client.Runs.GetAsync(RunId, Ct);
        Assert.Equal("mlflow-artifacts:/1/x/artifacts", run.Info.ArtifactUri);
        Assert.Single(_server.LogEntries).AssertRequest("GET", Runs + "get", query: "run_id=" + RunId);
    }

    [Fact]
    public async Task UpdateAsync_sends_only_the_given_fields_and_parses_run_info()
    {
        _server.Json("POST", Runs + "update", """{"run_info":{"run_id":"0123456789abcdef0123456789abcdef","experiment_id":"1","status":"KILLED","end_time":5}}""");
        var info = await _client.Runs.UpdateAsync(RunId, runName: "renamed", cancellationToken: Ct);
        Assert.Equal(RunStatus.Killed, info.Status);
        Assert.Equal(5, info.EndTime);
        Assert.Single(_server.LogEntries).AssertRequest("POST", Runs + "update", $$"""{"run_id":"{{RunId}}","run_name":"renamed"}""");
    }

    [Fact]
    public async Task SetTerminatedAsync_sends_status_and_end_time_now()
    {
        _server.Json("POST", Runs + "update", """{"run_info":{"run_id":"x","status":"FAILED"}}""");
        await _client.Runs.SetTerminatedAsync(RunId, RunStatus.Failed, cancellationToken: Ct);
        Assert.Single(_server.LogEntries).AssertRequest("POST", Runs + "update", $$"""{"run_id":"{{RunId}}","status":"FAILED","end_time":1767225600000}""");
    }

    [Fact]
    public async Task DeleteAsync_and_RestoreAsync_post_the_run_id()
    {
        Ok("delete");
        Ok("restore");
        await _client.Runs.DeleteAsync(RunId, Ct);
        await _client.Runs.RestoreAsync(RunId, Ct);
        var entries = _server.LogEntries.ToList();
        entries[0].AssertRequest("POST", Runs + "delete", $$"""{"run_id":"{{RunId}}"}""");
        entries[1].AssertRequest("POST", Runs + "restore", $$"""{"run_id":"{{RunId}}"}""");
    }

    [Fact]
    public async Task SearchAsync_stops_on_the_empty_page_after_a_full_last_page_as_on_MLflow_2_22()
    {
        _server.Given(Request.Create().WithPath(Runs + "search").UsingPost().WithBody(new JsonPartialMatcher("""{"page_token":"p2"}"""))).AtPriority(1)
            .RespondWith(Response.Create().WithBody("{}"));
        _server.Json("POST", Runs + "search", RunJson.Replace("{\"run\":", "{\"next_page_token\":\"p2\",\"runs\":[", StringComparison.Ordinal)[..^1] + "]}");
        var runs = await _client.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = ["1", "2"], Filter = "metrics.acc > 0.5", OrderBy = ["metrics.acc DESC"], ViewType = ViewType.ActiveOnly, PageSize = 1 }, Ct).ToListAsync(Ct);
        Assert.Single(runs);
        var entries = _server.LogEntries.ToList();
        Assert.Equal(2, entries.Count);
        entries[0].AssertRequest("POST", Runs + "search", """{"experiment_ids":["1","2"],"filter":"metrics.acc > 0.5","run_view_type":"ACTIVE_ONLY","order_by":["metrics.acc DESC"],"max_results":1}""");
        entries[1].AssertRequest("POST", Runs + "search", """{"experiment_ids":["1","2"],"filter":"metrics.acc > 0.5","run_view_type":"ACTIVE_ONLY","order_by":["metrics.acc DESC"],"max_results":1,"page_token":"p2"}""");
    }

    [Fact]
    public async Task SearchAsync_needs_an_experiment_id()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _client.Runs.SearchPageAsync(new SearchRunsOptions(), Ct));
        Assert.Empty(_server.LogEntries);
    }

    [Fact]
    public async Task LogMetricAsync_leaves_out_a_null_step_and_uses_now_as_timestamp()
    {
        Ok("log-metric");
        await _client.Runs.LogMetricAsync(RunId, "loss", 0.5, cancellationToken: Ct);
        Assert.Single(_server.LogEntries).AssertRequest("POST", Runs + "log-metric", $$"""{"run_id":"{{RunId}}","key":"loss","value":0.5,"timestamp":1767225600000}""");
    }

    [Theory]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "Infinity")]
    [InlineData(double.NegativeInfinity, "-Infinity")]
    public async Task LogMetricAsync_sends_non_finite_values_as_strings(double value, string wire)
    {
        Ok("log-metric");
        await _client.Runs.LogMetricAsync(RunId, "m", value, 3, s_now, Ct);
        var raw = Assert.Single(_server.LogEntries).RequestMessage.Body!;
        Assert.Contains($"\"value\":\"{wire}\"", raw, StringComparison.Ordinal);
        Assert.Single(_server.LogEntries).AssertRequest("POST", Runs + "log-metric", $$"""{"run_id":"{{RunId}}","key":"m","value":"{{wire}}","timestamp":1767225600000,"step":3}""");
    }

    [Fact]
    public async Task Metric_values_read_back_from_strings_and_clamped_numbers()
    {
        _server.Json("GET", "/api/2.0/mlflow/metrics/get-history", """{"metrics":[{"key":"m","value":"NaN","timestamp":1,"step":0},{"key":"m","value":"Infinity","timestamp":2},{"key":"m","value":"-Infinity","timestamp":3},{"key":"m","value":1.7976931348623157e308,"timestamp":4}]}""");
        var points = await _client.Runs.GetMetricHistoryAsync(RunId, "m", cancellationToken: Ct).ToListAsync(Ct);
        Assert.True(double.IsNaN(points[0].Value));
        Assert.Equal(double.PositiveInfinity, points[1].Value);
        Assert.Equal(double.NegativeInfinity, points[2].Value);
        Assert.Equal(double.MaxValue, points[3].Value);
        Assert.Equal(0, points[1].Step);
    }

    [Fact]
    public async Task LogParamAsync_SetTagAsync_DeleteTagAsync_post_their_bodies()
    {
        Ok("log-parameter");
        Ok("set-tag");
        Ok("delete-tag");
        await _client.Runs.LogParamAsync(RunId, "lr", "0.01", Ct);
        await _client.Runs.SetTagAsync(RunId, "team", "x", Ct);
        await _client.Runs.DeleteTagAsync(RunId, "team", Ct);
        var e = _server.LogEntries.ToList();
        e[0].AssertRequest("POST", Runs + "log-parameter", $$"""{"run_id":"{{RunId}}","key":"lr","value":"0.01"}""");
        e[1].AssertRequest("POST", Runs + "set-tag", $$"""{"run_id":"{{RunId}}","key":"team","value":"x"}""");
        e[2].AssertRequest("POST", Runs + "delete-tag", $$"""{"run_id":"{{RunId}}","key":"team"}""");
    }

    [Fact]
    public async Task A_param_of_6000_characters_is_sent_and_6001_is_refused_before_any_request()
    {
        Ok("log-parameter");
        await _client.Runs.LogParamAsync(RunId, "p", new string('a', 6000), Ct);
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => _client.Runs.LogParamAsync(RunId, "p", new string('a', 6001), Ct));
        Assert.Equal("value", ex.ParamName);
        Assert.Contains("'p'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("6001", ex.Message, StringComparison.Ordinal);
        Assert.Contains("6000", ex.Message, StringComparison.Ordinal);
        Assert.Contains("TruncateLongValues", ex.Message, StringComparison.Ordinal);
        Assert.Single(_server.LogEntries);
    }

    [Fact]
    public async Task A_tag_of_8001_characters_is_refused_and_8000_is_sent()
    {
        Ok("set-tag");
        await _client.Runs.SetTagAsync(RunId, "t", new string('a', 8000), Ct);
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => _client.Runs.SetTagAsync(RunId, "t", new string('a', 8001), Ct));
        Assert.Contains("8000", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => _client.Runs.LogBatchAsync(RunId, tags: [new("t", new string('a', 8001))], cancellationToken: Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => _client.Runs.LogBatchAsync(RunId, parameters: [new("p", new string('a', 6001))], cancellationToken: Ct));
        Assert.Single(_server.LogEntries);
    }

    [Fact]
    public async Task TruncateLongValues_truncates_params_and_tags_by_code_points()
    {
        using var client = TestClients.For(_server, o => o.TruncateLongValues = true);
        Ok("log-parameter");
        Ok("log-batch");
        await client.Runs.LogParamAsync(RunId, "p", new string('a', 6500), Ct);
        var emoji = string.Concat(Enumerable.Repeat("😀", 8001));
        await client.Runs.LogBatchAsync(RunId, tags: [new("t", emoji)], cancellationToken: Ct);
        var e = _server.LogEntries.ToList();
        Assert.Equal(6000, ((string)e[0].Body()["value"]!).Length);
        var tag = (string)e[1].Body()["tags"]![0]!["value"]!;
        Assert.Equal(8000 * 2, tag.Length); // 8000 code points, each a surrogate pair
    }

    [Theory]
    [InlineData("")]
    [InlineData("bad!key")]
    [InlineData("/abs")]
    [InlineData("a//b")]
    [InlineData("a/../b")]
    [InlineData("trailing/")]
    public async Task Bad_keys_are_refused_with_a_clear_message(string key)
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => _client.Runs.LogMetricAsync(RunId, key, 1, cancellationToken: Ct));
        Assert.Equal("key", ex.ParamName);
        Assert.Contains("metric key", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => _client.Runs.LogParamAsync(RunId, key, "v", Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => _client.Runs.SetTagAsync(RunId, key, "v", Ct));
        Assert.Empty(_server.LogEntries);
    }

    [Fact]
    public async Task Keys_longer_than_250_characters_and_bad_run_ids_are_refused()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => _client.Runs.LogParamAsync(RunId, new string('k', 251), "v", Ct));
        Assert.Contains("250", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => _client.Runs.GetAsync("../etc", Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _client.Runs.LogMetricAsync(RunId, "m", 1, timestamp: DateTimeOffset.UnixEpoch.AddDays(-1), cancellationToken: Ct));
        Assert.Empty(_server.LogEntries);
    }

    [Fact]
    public async Task LogBatchAsync_sends_everything_in_one_request_when_it_fits()
    {
        Ok("log-batch");
        await _client.Runs.LogBatchAsync(RunId, [new Metric("m", double.NaN, 5, 2)], [new("p", "1")], [new("t", "x")], Ct);
        Assert.Single(_server.LogEntries).AssertRequest("POST", Runs + "log-batch", $$"""{"run_id":"{{RunId}}","metrics":[{"key":"m","value":"NaN","timestamp":5,"step":2}],"params":[{"key":"p","value":"1"}],"tags":[{"key":"t","value":"x"}]}""");
    }

    [Fact]
    public async Task LogBatchAsync_with_nothing_sends_nothing()
    {
        await _client.Runs.LogBatchAsync(RunId, [], [], [], Ct);
        Assert.Empty(_server.LogEntries);
    }

    [Fact]
    public async Task LogBatchAsync_splits_250_params_30_tags_2500_metrics_as_MLflow_does()
    {
        Ok("log-batch");
        var metrics = Enumerable.Range(0, 2500).Select(i => new Metric("m", i, 1, i)).ToList();
        var parameters = Enumerable.Range(0, 250).Select(i => KeyValuePair.Create($"p{i}", "v")).ToList();
        var tags = Enumerable.Range(0, 30).Select(i => KeyValuePair.Create($"t{i}", "v")).ToList();
        await _client.Runs.LogBatchAsync(RunId, metrics, parameters, tags, Ct);
        var shapes = _server.LogEntries.Select(e => e.Body()).Select(b => (Count(b, "params"), Count(b, "tags"), Count(b, "metrics"))).ToList();
        Assert.Equal([(100, 30, 870), (100, 0, 900), (50, 0, 730)], shapes);

        // Order is kept: all metric steps 0..2499 in sequence, params p0..p249.
        var steps = _server.LogEntries.SelectMany(e => e.Body()["metrics"]!.AsArray()).Select(m => (int)m!["step"]!);
        Assert.Equal(Enumerable.Range(0, 2500), steps);
    }

    [Fact]
    public async Task LogBatchAsync_keeps_each_request_under_1_MB()
    {
        Ok("log-batch");

        // 100 params of 6000 'é' (escaped as \u00E9 = 6 bytes each: 36 KB per param, 3.6 MB in all).
        var parameters = Enumerable.Range(0, 100).Select(i => KeyValuePair.Create($"p{i}", new string('é', 6000))).ToList();
        var tags = Enumerable.Range(0, 100).Select(i => KeyValuePair.Create($"t{i}", new string('x', 8000))).ToList();
        await _client.Runs.LogBatchAsync(RunId, parameters: parameters, tags: tags, cancellationToken: Ct);
        var entries = _server.LogEntries.ToList();
        Assert.True(entries.Count >= 5, $"{entries.Count} requests");
        foreach (var entry in entries)
        {
            var size = System.Text.Encoding.UTF8.GetByteCount(entry.RequestMessage.Body!);
            Assert.True(size <= 1_000_000, $"request of {size} bytes");
        }

        Assert.Equal(100, entries.Sum(e => Count(e.Body(), "params")));
        Assert.Equal(100, entries.Sum(e => Count(e.Body(), "tags")));
    }

    [Fact]
    public async Task LogBatchAsync_refuses_duplicate_param_keys_before_any_request()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => _client.Runs.LogBatchAsync(RunId, parameters: [new("epochs", "10"), new("epochs", "10")], cancellationToken: Ct));
        Assert.Equal("parameters", ex.ParamName);
        Assert.Contains("'epochs'", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_server.LogEntries);
    }

    [Fact]
    public async Task LogBatchAsync_validates_everything_before_the_first_request()
    {
        var metrics = Enumerable.Range(0, 1500).Select(i => new Metric(i == 1400 ? "bad!" : "m", i, 1, i)).ToList();
        await Assert.ThrowsAsync<ArgumentException>(() => _client.Runs.LogBatchAsync(RunId, metrics, cancellationToken: Ct));
        Assert.Empty(_server.LogEntries);
    }

    [Fact]
    public async Task LogInputsAsync_and_LogOutputsAsync_post_their_bodies()
    {
        Ok("log-inputs");
        Ok("outputs");
        var input = new DatasetInput { Tags = new Dictionary<string, string> { ["mlflow.data.context"] = "training" }, Dataset = new Dataset { Name = "iris", Digest = "d1", SourceType = "local", Source = "{}" } };
        await _client.Runs.LogInputsAsync(RunId, [input], [new ModelInput { ModelId = "m-1" }], Ct);
        await _client.Runs.LogOutputsAsync(RunId, [new ModelOutput { ModelId = "m-1", Step = 3 }], Ct);
        var e = _server.LogEntries.ToList();
        e[0].AssertRequest("POST", Runs + "log-inputs", $$$"""{"run_id":"{{{RunId}}}","datasets":[{"tags":[{"key":"mlflow.data.context","value":"training"}],"dataset":{"name":"iris","digest":"d1","source_type":"local","source":"{}"}}],"models":[{"model_id":"m-1"}]}""");
        e[1].AssertRequest("POST", Runs + "outputs", $$"""{"run_id":"{{RunId}}","models":[{"model_id":"m-1","step":3}]}""");
    }

    [Fact]
    public async Task LogInputsAsync_validates_datasets()
    {
        var input = new DatasetInput { Dataset = new Dataset { Name = "iris", Digest = new string('d', 37), SourceType = "local", Source = "{}" } };
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => _client.Runs.LogInputsAsync(RunId, [input], cancellationToken: Ct));
        Assert.Contains("digest", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_server.LogEntries);
    }

    [Fact]
    public async Task GetMetricHistoryAsync_always_sends_max_results_and_pages()
    {
        _server.Given(Request.Create().WithPath("/api/2.0/mlflow/metrics/get-history").UsingGet().WithParam("page_token", "t")).AtPriority(1)
            .RespondWith(Response.Create().WithBody("""{"metrics":[{"key":"loss","value":2,"timestamp":2,"step":1}]}"""));
        _server.Json("GET", "/api/2.0/mlflow/metrics/get-history", """{"metrics":[{"key":"loss","value":1,"timestamp":1,"step":0}],"next_page_token":"t"}""");
        var points = await _client.Runs.GetMetricHistoryAsync(RunId, "loss", pageSize: 1, Ct).ToListAsync(Ct);
        Assert.Equal([1.0, 2.0], points.Select(p => p.Value));
        var e = _server.LogEntries.ToList();
        e[0].AssertRequest("GET", "/api/2.0/mlflow/metrics/get-history", query: $"run_id={RunId}&metric_key=loss&max_results=1");
        e[1].AssertRequest("GET", "/api/2.0/mlflow/metrics/get-history", query: $"run_id={RunId}&metric_key=loss&max_results=1&page_token=t");
    }

    [Fact]
    public async Task GetMetricHistoryAsync_stops_on_MLflow_3_empty_page_with_token()
    {
        _server.Json("GET", "/api/2.0/mlflow/metrics/get-history", """{"next_page_token":"eyJvZmZzZXQiOiAwfQ=="}""");
        Assert.Empty(await _client.Runs.GetMetricHistoryAsync(RunId, "loss", cancellationToken: Ct).ToListAsync(Ct));
        Assert.Equal("25000", Assert.Single(_server.LogEntries).QueryValue("max_results"));
    }

    [Fact]
    public async Task GetMetricHistoryBulkIntervalAsync_repeats_run_ids_and_sends_steps()
    {
        _server.Json("GET", "/api/2.0/mlflow/metrics/get-history-bulk-interval", """{"metrics":[{"key":"loss","value":1,"timestamp":1,"step":0,"run_id":"a1"}]}""");
        var points = await _client.Runs.GetMetricHistoryBulkIntervalAsync(["a1", "b2"], "loss", 0, 10, 100, Ct);
        Assert.Equal("a1", Assert.Single(points).RunId);
        Assert.Single(_server.LogEntries).AssertRequest("GET", "/api/2.0/mlflow/metrics/get-history-bulk-interval", query: "run_ids=a1&run_ids=b2&metric_key=loss&start_step=0&end_step=10&max_results=100");
    }

    [Fact]
    public async Task GetMetricHistoryBulkIntervalAsync_validates_its_arguments()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _client.Runs.GetMetricHistoryBulkIntervalAsync([], "loss", cancellationToken: Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => _client.Runs.GetMetricHistoryBulkIntervalAsync(Enumerable.Range(0, 101).Select(i => $"r{i}").ToList(), "loss", cancellationToken: Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => _client.Runs.GetMetricHistoryBulkIntervalAsync(["a"], "loss", startStep: 1, cancellationToken: Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => _client.Runs.GetMetricHistoryBulkIntervalAsync(["a"], "loss", 5, 1, cancellationToken: Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _client.Runs.GetMetricHistoryBulkIntervalAsync(["a"], "loss", maxResults: 2501, cancellationToken: Ct));
        Assert.Empty(_server.LogEntries);
    }

    [Fact]
    public async Task Artifacts_ListAsync_sends_run_id_and_path_and_follows_tokens()
    {
        _server.Given(Request.Create().WithPath("/api/2.0/mlflow/artifacts/list").UsingGet().WithParam("page_token", "n")).AtPriority(1)
            .RespondWith(Response.Create().WithBody("""{"root_uri":"r","files":[{"path":"model/b.txt","is_dir":false,"file_size":3}]}"""));
        _server.Json("GET", "/api/2.0/mlflow/artifacts/list", """{"root_uri":"r","files":[{"path":"model/sub","is_dir":true}],"next_page_token":"n"}""");
        var files = await _client.Artifacts.ListAsync(RunId, "model", cancellationToken: Ct).ToListAsync(Ct);
        Assert.Equal(["model/b.txt", "model/sub"], files.Select(f => f.Path));
        Assert.Equal(3, files[0].FileSize);
        _server.LogEntries[0].AssertRequest("GET", "/api/2.0/mlflow/artifacts/list", query: $"run_id={RunId}&path=model");
        await Assert.ThrowsAsync<ArgumentException>(() => _client.Artifacts.ListAsync(RunId, "../x", cancellationToken: Ct).ToListAsync(Ct).AsTask());
    }

    [Fact]
    public async Task A_disposed_client_throws_ObjectDisposedException()
    {
        using var client = TestClients.For(_server);
        client.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => client.Runs.GetAsync(RunId, Ct));
    }

    private static int Count(JsonNode body, string property) => body[property]?.AsArray().Count ?? 0;
}
