using System.Net;
using Microsoft.Extensions.Time.Testing;

namespace MLOpsDemo.Mlflow.Tests.Sqlite;

public class SqliteTrackingStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Experiments_round_trip_with_MLflow_errors()
    {
        using var folder = new TempFolder();
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000));
        using var client = folder.Client(time);

        var id = await client.Experiments.CreateAsync("exp", tags: new Dictionary<string, string> { ["team"] = "vision" }, cancellationToken: Ct);
        Assert.Equal("1", id);
        var experiment = await client.Experiments.GetAsync(id, Ct);
        Assert.Equal("exp", experiment.Name);
        Assert.Equal(Path.GetFullPath("mlruns") + "/1", experiment.ArtifactLocation);
        Assert.Equal(1_700_000_000_000, experiment.CreationTime);
        Assert.Equal(1_700_000_000_000, experiment.LastUpdateTime);
        Assert.Equal("vision", experiment.Tags["team"]);

        var duplicate = await Assert.ThrowsAsync<MlflowException>(() => client.Experiments.CreateAsync("exp", cancellationToken: Ct));
        Assert.Equal((HttpStatusCode.BadRequest, MlflowErrorCodes.ResourceAlreadyExists), (duplicate.StatusCode, duplicate.ErrorCode));
        var missing = await Assert.ThrowsAsync<MlflowException>(() => client.Experiments.GetAsync("42", Ct));
        Assert.Equal((HttpStatusCode.NotFound, MlflowErrorCodes.ResourceDoesNotExist), (missing.StatusCode, missing.ErrorCode));
        Assert.Null(await client.Experiments.GetByNameAsync("nope", Ct));

        var custom = await client.Experiments.CreateAsync("custom", artifactLocation: "/data/artifacts", cancellationToken: Ct);
        Assert.Equal("/data/artifacts", (await client.Experiments.GetAsync(custom, Ct)).ArtifactLocation);

        time.Advance(TimeSpan.FromSeconds(1));
        await client.Experiments.RenameAsync(id, "exp-renamed", Ct);
        var renamed = await client.Experiments.GetAsync(id, Ct);
        Assert.Equal("exp-renamed", renamed.Name);
        Assert.Equal(1_700_000_001_000, renamed.LastUpdateTime);
        var taken = await Assert.ThrowsAsync<MlflowException>(() => client.Experiments.RenameAsync(id, "custom", Ct));
        Assert.Equal(MlflowErrorCodes.BadRequest, taken.ErrorCode);

        await client.Experiments.SetTagAsync(id, "team", "nlp", Ct);
        await client.Experiments.DeleteTagAsync(id, "team", Ct);
        Assert.Empty((await client.Experiments.GetAsync(id, Ct)).Tags);
        var noTag = await Assert.ThrowsAsync<MlflowException>(() => client.Experiments.DeleteTagAsync(id, "team", Ct));
        Assert.Equal(HttpStatusCode.NotFound, noTag.StatusCode);

        var run = await client.Runs.CreateAsync(id, cancellationToken: Ct);
        time.Advance(TimeSpan.FromSeconds(1));
        await client.Experiments.DeleteAsync(id, Ct);
        Assert.Equal(LifecycleStage.Deleted, (await client.Experiments.GetAsync(id, Ct)).LifecycleStage);
        Assert.Equal(LifecycleStage.Deleted, (await client.Runs.GetAsync(run.Info.RunId, Ct)).Info.LifecycleStage);
        using (var c = SqliteGolden.Open(folder.DatabasePath))
        {
            Assert.Equal(1_700_000_002_000L, SqliteGolden.Scalar(c, "SELECT deleted_time FROM runs WHERE run_uuid = $r", ("$r", run.Info.RunId)));
        }

        Assert.Equal(HttpStatusCode.NotFound, (await Assert.ThrowsAsync<MlflowException>(() => client.Experiments.DeleteAsync(id, Ct))).StatusCode);
        var rename = await Assert.ThrowsAsync<MlflowException>(() => client.Experiments.RenameAsync(id, "x", Ct));
        Assert.Equal(MlflowErrorCodes.InvalidState, rename.ErrorCode);
        var create = await Assert.ThrowsAsync<MlflowException>(() => client.Runs.CreateAsync(id, cancellationToken: Ct));
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, create.ErrorCode);

        await client.Experiments.RestoreAsync(id, Ct);
        Assert.Equal(LifecycleStage.Active, (await client.Runs.GetAsync(run.Info.RunId, Ct)).Info.LifecycleStage);
        Assert.Equal(HttpStatusCode.NotFound, (await Assert.ThrowsAsync<MlflowException>(() => client.Experiments.RestoreAsync(id, Ct))).StatusCode);
        using (var c = SqliteGolden.Open(folder.DatabasePath))
        {
            Assert.Equal(DBNull.Value, SqliteGolden.Scalar(c, "SELECT deleted_time FROM runs WHERE run_uuid = $r", ("$r", run.Info.RunId)));
        }
    }

    [Fact]
    public async Task Runs_keep_every_MLflow_invariant()
    {
        using var folder = new TempFolder();
        using var client = folder.Client();
        var exp = await client.Experiments.CreateAsync("runs", cancellationToken: Ct);
        var start = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
        var run = await client.Runs.CreateAsync(exp, new CreateRunOptions { RunName = "first", StartTime = start, Tags = new Dictionary<string, string> { ["mlflow.user"] = "ada" } }, Ct);
        var runId = run.Info.RunId;
        Assert.Matches("^[0-9a-f]{32}$", runId);
        Assert.Equal("first", run.Info.RunName);
        Assert.Equal("first", run.Data.Tags["mlflow.runName"]);
        Assert.Equal("ada", run.Info.UserId);
        Assert.Equal(RunStatus.Running, run.Info.Status);
        Assert.Equal(start.ToUnixTimeMilliseconds(), run.Info.StartTime);
        Assert.Null(run.Info.EndTime);
        Assert.Equal($"{Path.GetFullPath("mlruns")}/{exp}/{runId}/artifacts", run.Info.ArtifactUri);

        var generated = await client.Runs.CreateAsync(exp, cancellationToken: Ct);
        Assert.Matches("^[a-z]+-[a-z]+-[0-9]+$", generated.Info.RunName!);
        Assert.Equal(generated.Info.RunName, generated.Data.Tags["mlflow.runName"]);

        // latest_metrics: highest (step, timestamp, value) wins — the golden sequences.
        await client.Runs.LogMetricAsync(runId, "loss", 0.9, 0, DateTimeOffset.FromUnixTimeMilliseconds(1000), Ct);
        await client.Runs.LogMetricAsync(runId, "loss", 0.5, 1, DateTimeOffset.FromUnixTimeMilliseconds(2000), Ct);
        await client.Runs.LogMetricAsync(runId, "loss", 0.25, 2, DateTimeOffset.FromUnixTimeMilliseconds(3000), Ct);
        await client.Runs.LogMetricAsync(runId, "loss", 0.45, 1, DateTimeOffset.FromUnixTimeMilliseconds(4000), Ct);
        await client.Runs.LogBatchAsync(runId, [new Metric("tie_value", 0.7, 5000, 3), new Metric("tie_value", 0.3, 5000, 3)], cancellationToken: Ct);
        await client.Runs.LogBatchAsync(runId, [new Metric("tie_step", 1.0, 5000, 5)], cancellationToken: Ct);
        await client.Runs.LogBatchAsync(runId, [new Metric("tie_step", 0.1, 6000, 5)], cancellationToken: Ct);
        await client.Runs.LogMetricAsync(runId, "nan", 1.0, 0, DateTimeOffset.FromUnixTimeMilliseconds(1000), Ct);
        await client.Runs.LogMetricAsync(runId, "nan", double.NaN, 1, DateTimeOffset.FromUnixTimeMilliseconds(2000), Ct);
        await client.Runs.LogMetricAsync(runId, "inf", double.PositiveInfinity, 0, DateTimeOffset.FromUnixTimeMilliseconds(1000), Ct);
        await client.Runs.LogMetricAsync(runId, "inf", double.NegativeInfinity, 1, DateTimeOffset.FromUnixTimeMilliseconds(2000), Ct);
        await client.Runs.LogMetricAsync(runId, "nostep", 3.0, null, DateTimeOffset.FromUnixTimeMilliseconds(2000), Ct);
        await client.Runs.LogMetricAsync(runId, "nostep", 3.0, null, DateTimeOffset.FromUnixTimeMilliseconds(2000), Ct); // exact duplicate: ignored

        var metrics = (await client.Runs.GetAsync(runId, Ct)).Data.Metrics.ToDictionary(m => m.Key);
        Assert.Equal((0.25, 2L, 3000L), (metrics["loss"].Value, metrics["loss"].Step, metrics["loss"].Timestamp));
        Assert.Equal(0.7, metrics["tie_value"].Value);
        Assert.Equal(0.1, metrics["tie_step"].Value);
        Assert.True(double.IsNaN(metrics["nan"].Value));
        Assert.Equal(-1.7976931348623157e308, metrics["inf"].Value);
        Assert.Equal(0, metrics["nostep"].Step);

        var history = new List<Metric>();
        await foreach (var m in client.Runs.GetMetricHistoryAsync(runId, "inf", cancellationToken: Ct))
        {
            history.Add(m);
        }

        Assert.Equal([1.7976931348623157e308, -1.7976931348623157e308], history.Select(m => m.Value));
        var nostep = new List<Metric>();
        await foreach (var m in client.Runs.GetMetricHistoryAsync(runId, "nostep", cancellationToken: Ct))
        {
            nostep.Add(m);
        }

        Assert.Single(nostep);
        using (var c = SqliteGolden.Open(folder.DatabasePath))
        {
            Assert.Equal("0.0|1", SqliteGolden.Scalar(c, "SELECT printf('%.1f', value) || '|' || is_nan FROM metrics WHERE run_uuid = $r AND key = 'nan' AND step = 1", ("$r", runId)));
            Assert.Equal("0.0|1|1", SqliteGolden.Scalar(c, "SELECT printf('%.1f', value) || '|' || is_nan || '|' || step FROM latest_metrics WHERE run_uuid = $r AND key = 'nan'", ("$r", runId)));
        }

        // params: same value OK, different value refused; duplicates in one batch refused.
        await client.Runs.LogParamAsync(runId, "lr", "0.01", Ct);
        await client.Runs.LogParamAsync(runId, "lr", "0.01", Ct);
        var change = await Assert.ThrowsAsync<MlflowException>(() => client.Runs.LogParamAsync(runId, "lr", "0.02", Ct));
        Assert.Equal((HttpStatusCode.BadRequest, MlflowErrorCodes.InvalidParameterValue), (change.StatusCode, change.ErrorCode));
        Assert.Contains("Changing param values is not allowed", change.Message, StringComparison.Ordinal);
        var dup = await Assert.ThrowsAsync<MlflowException>(() => client.Store.LogBatchAsync(runId, [], [new("a", "1"), new("a", "1")], [], Ct));
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, dup.ErrorCode);
        Assert.Contains("Duplicate parameter keys", dup.Message, StringComparison.Ordinal);

        // tags and the run name.
        await client.Runs.SetTagAsync(runId, "mlflow.runName", "renamed", Ct);
        Assert.Equal("renamed", (await client.Runs.GetAsync(runId, Ct)).Info.RunName);
        await client.Runs.UpdateAsync(runId, runName: "again", cancellationToken: Ct);
        var again = await client.Runs.GetAsync(runId, Ct);
        Assert.Equal(("again", "again"), (again.Info.RunName, again.Data.Tags["mlflow.runName"]));
        await client.Runs.SetTagAsync(runId, "stage", "a", Ct);
        await client.Runs.SetTagAsync(runId, "stage", "b", Ct);
        Assert.Equal("b", (await client.Runs.GetAsync(runId, Ct)).Data.Tags["stage"]);
        await client.Runs.DeleteTagAsync(runId, "stage", Ct);
        Assert.Equal(HttpStatusCode.NotFound, (await Assert.ThrowsAsync<MlflowException>(() => client.Runs.DeleteTagAsync(runId, "stage", Ct))).StatusCode);

        // inputs.
        var dataset = new Dataset { Name = "train", Digest = "abc", SourceType = "local", Source = "{\"uri\": \"/d.csv\"}" };
        var input = new DatasetInput { Dataset = dataset, Tags = new Dictionary<string, string> { ["mlflow.data.context"] = "training" } };
        await client.Runs.LogInputsAsync(runId, [input, input], cancellationToken: Ct);
        await client.Runs.LogInputsAsync(runId, [input], cancellationToken: Ct);
        var inputs = (await client.Runs.GetAsync(runId, Ct)).Inputs.DatasetInputs;
        Assert.Equal("train", Assert.Single(inputs).Dataset.Name);
        Assert.Equal("training", inputs[0].Tags["mlflow.data.context"]);

        // terminate, then still writable; deleted runs refuse writes.
        var end = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_100_000);
        var info = await client.Runs.SetTerminatedAsync(runId, RunStatus.Finished, end, Ct);
        Assert.Equal((RunStatus.Finished, end.ToUnixTimeMilliseconds()), (info.Status, info.EndTime));
        await client.Runs.LogMetricAsync(runId, "after", 1, cancellationToken: Ct);
        await client.Runs.DeleteAsync(runId, Ct);
        var deleted = await Assert.ThrowsAsync<MlflowException>(() => client.Runs.LogMetricAsync(runId, "x", 1, cancellationToken: Ct));
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, deleted.ErrorCode);
        Assert.Contains("must be in the 'active' state", deleted.Message, StringComparison.Ordinal);
        await client.Runs.RestoreAsync(runId, Ct);
        await client.Runs.LogMetricAsync(runId, "x", 1, cancellationToken: Ct);

        var notFound = await Assert.ThrowsAsync<MlflowException>(() => client.Runs.GetAsync("0123456789abcdef0123456789abcdef", Ct));
        Assert.Equal((HttpStatusCode.NotFound, MlflowErrorCodes.ResourceDoesNotExist), (notFound.StatusCode, notFound.ErrorCode));
    }

    [Fact]
    public async Task Metric_history_pages_with_MLflow_tokens()
    {
        using var folder = new TempFolder();
        using var client = folder.Client();
        var run = await client.Runs.CreateAsync("0", cancellationToken: Ct);
        await client.Runs.LogBatchAsync(run.Info.RunId, Enumerable.Range(0, 25).Select(i => new Metric("m", i, 1000 + i, i)), cancellationToken: Ct);
        var first = await client.Store.GetMetricHistoryAsync(run.Info.RunId, "m", 10, null, Ct);
        Assert.Equal(10, first.Items.Count);
        Assert.Equal("eyJvZmZzZXQiOiAxMH0=", first.NextPageToken);
        var points = new List<Metric>();
        await foreach (var m in client.Runs.GetMetricHistoryAsync(run.Info.RunId, "m", pageSize: 10, cancellationToken: Ct))
        {
            points.Add(m);
        }

        Assert.Equal(Enumerable.Range(0, 25).Select(i => (double)i), points.Select(p => p.Value));
        var bulk = await client.Runs.GetMetricHistoryBulkIntervalAsync([run.Info.RunId], "m", 5, 9, cancellationToken: Ct);
        Assert.Equal([5L, 6, 7, 8, 9], bulk.Select(m => m.Step));
        Assert.All(bulk, m => Assert.Equal(run.Info.RunId, m.RunId));
    }

    [Fact]
    public async Task Metric_history_pages_continue_after_the_last_row_returned_and_fall_back_to_the_offset_for_unknown_tokens()
    {
        using var folder = new TempFolder();
        using var client = folder.Client();
        var runId = (await client.Runs.CreateAsync("0", cancellationToken: Ct)).Info.RunId;

        // Ties on timestamp and step (different values, a NaN) so that the order is decided by value and the NaN flag too.
        var logged = Enumerable.Range(0, 250).Select(i => new Metric("m", i % 3 == 0 ? double.NaN : i % 7, 1000 + (i / 4), i / 2)).ToList();
        await client.Runs.LogBatchAsync(runId, logged, cancellationToken: Ct);
        var whole = (await client.Store.GetMetricHistoryAsync(runId, "m", 10_000, null, Ct)).Items;
        Assert.Equal(250, whole.Count);

        var paged = new List<Metric>();
        await foreach (var m in client.Runs.GetMetricHistoryAsync(runId, "m", pageSize: 30, cancellationToken: Ct))
        {
            paged.Add(m);
        }

        Assert.Equal(Keys(whole), Keys(paged)); // the same rows in the same order, none twice

        // A token from another store of the same file (no remembered row) reads the same page by its offset.
        var first = await client.Store.GetMetricHistoryAsync(runId, "m", 30, null, Ct);
        using (var other = folder.Client())
        {
            var viaOffset = await other.Store.GetMetricHistoryAsync(runId, "m", 30, first.NextPageToken, Ct);
            Assert.Equal(Keys(whole.Skip(30).Take(30)), Keys(viaOffset.Items));
            Assert.Equal("eyJvZmZzZXQiOiA2MH0=", viaOffset.NextPageToken); // MLflow's own token for offset 60
        }

        // A point logged before the first page while reading: the next page starts after the row the caller has seen last,
        // where offset paging would hand that row out a second time.
        var again = await client.Store.GetMetricHistoryAsync(runId, "m", 30, null, Ct);
        await client.Runs.LogBatchAsync(runId, [new Metric("m", -1, 1, 0)], cancellationToken: Ct);
        var next = await client.Store.GetMetricHistoryAsync(runId, "m", 30, again.NextPageToken, Ct);
        Assert.Equal(Keys(whole.Skip(30).Take(30)), Keys(next.Items));

        static List<(long, long, double)> Keys(IEnumerable<Metric> metrics) => metrics.Select(m => (m.Timestamp, m.Step, m.Value)).ToList();
    }

    [Fact]
    public async Task Artifacts_are_listed_from_the_local_run_directory()
    {
        using var folder = new TempFolder();
        using var client = folder.Client();
        var exp = await client.Experiments.CreateAsync("art", artifactLocation: Path.Combine(folder.Path, "arts"), cancellationToken: Ct);
        var run = await client.Runs.CreateAsync(exp, cancellationToken: Ct);
        var dir = run.Info.ArtifactUri!;
        Directory.CreateDirectory(Path.Combine(dir, "model"));
        await File.WriteAllTextAsync(Path.Combine(dir, "model", "MLmodel"), "x: 1", Ct);
        await File.WriteAllTextAsync(Path.Combine(dir, "a.txt"), "hello", Ct);
        var root = new List<ArtifactFileInfo>();
        await foreach (var f in client.Artifacts.ListAsync(run.Info.RunId, cancellationToken: Ct))
        {
            root.Add(f);
        }

        Assert.Equal([("a.txt", false, (long?)5), ("model", true, null)], root.Select(f => (f.Path, f.IsDirectory, f.FileSize)));
        var model = new List<ArtifactFileInfo>();
        await foreach (var f in client.Artifacts.ListAsync(run.Info.RunId, "model", cancellationToken: Ct))
        {
            model.Add(f);
        }

        Assert.Equal("model/MLmodel", Assert.Single(model).Path);
    }

    [Fact]
    public async Task Model_inputs_and_outputs_need_an_MLflow_3_database()
    {
        using var folder = new TempFolder();
        using (var client = folder.Client())
        {
            var run = await client.Runs.CreateAsync("0", cancellationToken: Ct);
            await client.Runs.LogInputsAsync(run.Info.RunId, [], [new ModelInput { ModelId = "m-1" }], Ct);
            await client.Runs.LogOutputsAsync(run.Info.RunId, [new ModelOutput { ModelId = "m-1", Step = 3 }], Ct);
            var read = await client.Runs.GetAsync(run.Info.RunId, Ct);
            Assert.Equal("m-1", Assert.Single(read.Inputs.ModelInputs).ModelId);
            Assert.Equal(("m-1", 3L), (Assert.Single(read.Outputs.ModelOutputs).ModelId, read.Outputs.ModelOutputs[0].Step));
            var missingModel = await Assert.ThrowsAsync<MlflowException>(() => client.Store.LogMetricAsync(run.Info.RunId, "acc", 1, 1, 0, "m-missing", Ct));
            Assert.Equal(MlflowErrorCodes.ResourceDoesNotExist, missingModel.ErrorCode);
        }

        using var old = new TempFolder();
        File.Copy(Path.Combine(SqliteGolden.Directory, "populated-2.22.db"), old.DatabasePath);
        using var client222 = old.Client();
        var run222 = await client222.Runs.CreateAsync("1", cancellationToken: Ct);
        await client222.Runs.LogInputsAsync(run222.Info.RunId, [new DatasetInput { Dataset = new Dataset { Name = "d", Digest = "x", SourceType = "local", Source = "{}" } }], cancellationToken: Ct);
        Assert.Single((await client222.Runs.GetAsync(run222.Info.RunId, Ct)).Inputs.DatasetInputs);
        var ex = await Assert.ThrowsAsync<MlflowException>(() => client222.Runs.LogOutputsAsync(run222.Info.RunId, [new ModelOutput { ModelId = "m-1" }], Ct));
        Assert.Equal((System.Net.HttpStatusCode.NotImplemented, MlflowErrorCodes.NotImplemented), (ex.StatusCode, ex.ErrorCode));
        Assert.Contains("2.22", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Page_tokens_match_Python()
    {
        Assert.Equal("eyJvZmZzZXQiOiAxfQ==", MLOpsDemo.Mlflow.Sqlite.PageToken.Encode(1));
        Assert.Equal("eyJvZmZzZXQiOiAxMDAwfQ==", MLOpsDemo.Mlflow.Sqlite.PageToken.Encode(1000));
        Assert.Equal(1000, MLOpsDemo.Mlflow.Sqlite.PageToken.Decode("eyJvZmZzZXQiOiAxMDAwfQ=="));
        Assert.Equal(0, MLOpsDemo.Mlflow.Sqlite.PageToken.Decode(null));
        foreach (var bad in new[] { MLOpsDemo.Mlflow.Sqlite.PageToken.Encode(0), "not-base64!", Convert.ToBase64String("[1]"u8.ToArray()) })
        {
            var ex = Assert.Throws<MlflowException>(() => MLOpsDemo.Mlflow.Sqlite.PageToken.Decode(bad));
            Assert.Equal(MlflowErrorCodes.InvalidParameterValue, ex.ErrorCode);
        }
    }
}
