using Microsoft.Extensions.Time.Testing;
using MLOpsDemo.Mlflow.Registry;

namespace MLOpsDemo.Mlflow.Tests.Sqlite;

/// <summary>
/// MLflow 3 logged models on the embedded store: the golden 103–113 flow through the public API, the rows MLflow's SQL
/// store writes (SQLSTORE.md §6.8), search, and model logging + registration + download end to end.
/// </summary>
public class SqliteLoggedModelStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Logged_model_lifecycle_follows_the_golden_flow()
    {
        using var folder = new TempFolder();
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_000));
        using var client = folder.Client(time);
        var location = Path.Combine(folder.Path, "store");
        var experimentId = await client.Experiments.CreateAsync("logged", artifactLocation: location, cancellationToken: Ct);
        var run = await client.Runs.CreateAsync(experimentId, cancellationToken: Ct);

        var created = await client.LoggedModels.CreateAsync(
            experimentId,
            new CreateLoggedModelOptions
            {
                Name = "golden-logged-model",
                ModelType = "classifier",
                SourceRunId = run.Info.RunId,
                Params = new Dictionary<string, string> { ["alpha"] = "0.5" },
                Tags = new Dictionary<string, string> { ["framework"] = "onnx", ["scratch"] = "to-be-deleted" },
            },
            Ct);
        Assert.Matches("^m-[0-9a-f]{32}$", created.Info.ModelId);
        Assert.Equal(LoggedModelStatus.Pending, created.Info.Status);
        Assert.Equal($"{location}/models/{created.Info.ModelId}/artifacts", created.Info.ArtifactUri);
        Assert.Equal(experimentId, created.Info.ExperimentId);
        Assert.Equal(("golden-logged-model", "classifier", run.Info.RunId), (created.Info.Name, created.Info.ModelType, created.Info.SourceRunId));
        Assert.Equal(time.GetUtcNow().ToUnixTimeMilliseconds(), created.Info.CreationTimestampMs);
        Assert.Equal(created.Info.CreationTimestampMs, created.Info.LastUpdatedTimestampMs);
        Assert.Equal("0.5", created.Data.Params["alpha"]);
        Assert.Equal(["framework", "scratch"], created.Info.Tags.Keys.Order(StringComparer.Ordinal));
        var fetched = await client.LoggedModels.GetAsync(created.Info.ModelId, Ct);
        Assert.Equal(created.Info, fetched.Info with { Tags = created.Info.Tags, Registrations = created.Info.Registrations });
        Assert.Equal(created.Info.Tags, fetched.Info.Tags);
        Assert.Equal(created.Data.Params, fetched.Data.Params);

        time.Advance(TimeSpan.FromMilliseconds(33));
        var ready = await client.LoggedModels.FinalizeAsync(created.Info.ModelId, LoggedModelStatus.Ready, Ct);
        Assert.Equal(LoggedModelStatus.Ready, ready.Info.Status);
        Assert.Equal(created.Info.CreationTimestampMs + 33, ready.Info.LastUpdatedTimestampMs);

        time.Advance(TimeSpan.FromMilliseconds(5));
        await client.LoggedModels.SetTagsAsync(created.Info.ModelId, new Dictionary<string, string> { ["stage"] = "candidate", ["framework"] = "onnx-1.17" }, Ct);
        await client.LoggedModels.DeleteTagAsync(created.Info.ModelId, "scratch", Ct);
        var missingTag = await Assert.ThrowsAsync<MlflowException>(() => client.LoggedModels.DeleteTagAsync(created.Info.ModelId, "scratch", Ct));
        Assert.Equal(MlflowErrorCodes.ResourceDoesNotExist, missingTag.ErrorCode);

        await client.Runs.LogOutputsAsync(run.Info.RunId, [new ModelOutput { ModelId = created.Info.ModelId, Step = 3 }], Ct);
        await client.LoggedModels.LogMetricAsync(created.Info.ModelId, run.Info.RunId, "eval_acc", 0.91, step: 3, timestamp: DateTimeOffset.FromUnixTimeMilliseconds(1_767_226_300_000), cancellationToken: Ct);

        var after = await client.LoggedModels.GetAsync(created.Info.ModelId, Ct);
        Assert.Equal(ready.Info.LastUpdatedTimestampMs, after.Info.LastUpdatedTimestampMs); // tags do not touch the timestamp
        Assert.Equal(new Dictionary<string, string> { ["framework"] = "onnx-1.17", ["stage"] = "candidate" }, after.Info.Tags);
        var metric = Assert.Single(after.Data.Metrics);
        Assert.Equal(("eval_acc", 0.91, 1_767_226_300_000L, 3L, created.Info.ModelId, run.Info.RunId), (metric.Key, metric.Value, metric.Timestamp, metric.Step, metric.ModelId, metric.RunId));
        var output = Assert.Single((await client.Runs.GetAsync(run.Info.RunId, Ct)).Outputs.ModelOutputs);
        Assert.Equal((created.Info.ModelId, 3L), (output.ModelId, output.Step));

        var found = await client.LoggedModels.SearchPageAsync(new SearchLoggedModelsOptions { ExperimentIds = [experimentId], Filter = "name = 'golden-logged-model'", PageSize = 10 }, Ct);
        Assert.Equal(created.Info.ModelId, Assert.Single(found.Items).Info.ModelId);
        Assert.Null(found.NextPageToken);

        await client.LoggedModels.DeleteAsync(created.Info.ModelId, Ct);
        var gone = await Assert.ThrowsAsync<MlflowException>(() => client.LoggedModels.GetAsync(created.Info.ModelId, Ct));
        Assert.Equal((404, MlflowErrorCodes.ResourceDoesNotExist), ((int)gone.StatusCode, gone.ErrorCode));
        Assert.Equal($"Logged model with ID '{created.Info.ModelId}' not found.", gone.ServerMessage ?? gone.Message);
        Assert.Empty((await client.LoggedModels.SearchPageAsync(new SearchLoggedModelsOptions { ExperimentIds = [experimentId] }, Ct)).Items);
        await Assert.ThrowsAsync<MlflowException>(() => client.LoggedModels.FinalizeAsync(created.Info.ModelId, cancellationToken: Ct));
        await Assert.ThrowsAsync<MlflowException>(() => client.LoggedModels.SetTagsAsync(created.Info.ModelId, new Dictionary<string, string> { ["a"] = "b" }, Ct));

        // The rows as MLflow's SQL store writes them: integer status, soft delete, children with the experiment id.
        using var db = SqliteGolden.Open(folder.DatabasePath);
        Assert.Equal(2L, SqliteGolden.Scalar(db, "SELECT status FROM logged_models WHERE model_id = $m", ("$m", created.Info.ModelId)));
        Assert.Equal("deleted", SqliteGolden.Scalar(db, "SELECT lifecycle_stage FROM logged_models WHERE model_id = $m", ("$m", created.Info.ModelId)));
        Assert.Equal(long.Parse(experimentId, System.Globalization.CultureInfo.InvariantCulture), SqliteGolden.Scalar(db, "SELECT experiment_id FROM logged_model_params WHERE model_id = $m AND param_key = 'alpha'", ("$m", created.Info.ModelId)));
        Assert.Equal(2L, SqliteGolden.Scalar(db, "SELECT count(*) FROM logged_model_tags WHERE model_id = $m", ("$m", created.Info.ModelId)));
        Assert.Equal(0.91, SqliteGolden.Scalar(db, "SELECT metric_value FROM logged_model_metrics WHERE model_id = $m", ("$m", created.Info.ModelId)));
    }

    [Fact]
    public async Task Create_checks_the_experiment_and_generates_a_name()
    {
        using var folder = new TempFolder();
        using var client = folder.Client();
        var missing = await Assert.ThrowsAsync<MlflowException>(() => client.LoggedModels.CreateAsync("424242", cancellationToken: Ct));
        Assert.Equal(MlflowErrorCodes.ResourceDoesNotExist, missing.ErrorCode);

        var experimentId = await client.Experiments.CreateAsync("soon-deleted", cancellationToken: Ct);
        var unnamed = await client.LoggedModels.CreateAsync(experimentId, cancellationToken: Ct);
        Assert.Matches("^[a-z]+-[a-z]+-[0-9]+$", unnamed.Info.Name);
        var experiment = await client.Experiments.GetAsync(experimentId, Ct);
        Assert.Equal($"{experiment.ArtifactLocation}/models/{unnamed.Info.ModelId}/artifacts", unnamed.Info.ArtifactUri);

        await client.Experiments.DeleteAsync(experimentId, Ct);
        var inactive = await Assert.ThrowsAsync<MlflowException>(() => client.LoggedModels.CreateAsync(experimentId, cancellationToken: Ct));
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, inactive.ErrorCode);
    }

    [Fact]
    public async Task Search_filters_orders_and_pages_like_the_sql_store()
    {
        using var folder = new TempFolder();
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_000)) { AutoAdvanceAmount = TimeSpan.FromMilliseconds(10) };
        using var client = folder.Client(time);
        var exp1 = await client.Experiments.CreateAsync("search-a", cancellationToken: Ct);
        var exp2 = await client.Experiments.CreateAsync("search-b", cancellationToken: Ct);
        var run = await client.Runs.CreateAsync(exp1, cancellationToken: Ct);
        var ids = new Dictionary<string, string>();
        foreach (var (name, exp, acc, type) in new[] { ("alpha", exp1, 0.7, "tree"), ("beta", exp1, 0.9, "linear"), ("gamma", exp2, 0.8, "tree"), ("Delta", exp1, double.NaN, "linear") })
        {
            var model = await client.LoggedModels.CreateAsync(exp, new CreateLoggedModelOptions { Name = name, ModelType = type, SourceRunId = exp == exp1 ? run.Info.RunId : null, Params = new Dictionary<string, string> { ["depth"] = name.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) }, Tags = new Dictionary<string, string> { ["team"] = name == "beta" ? "red" : "blue" } }, Ct);
            ids[name] = model.Info.ModelId;
            if (!double.IsNaN(acc) && exp == exp1)
            {
                await client.LoggedModels.LogMetricAsync(model.Info.ModelId, run.Info.RunId, "acc", acc, step: 1, cancellationToken: Ct);
            }
        }

        await client.LoggedModels.FinalizeAsync(ids["beta"], cancellationToken: Ct);

        async Task<List<string>> Names(SearchLoggedModelsOptions options)
        {
            var names = new List<string>();
            await foreach (var m in client.LoggedModels.SearchAsync(options, Ct))
            {
                names.Add(m.Info.Name);
            }

            return names;
        }

        // Default order: creation time, newest first.
        Assert.Equal(["Delta", "beta", "alpha"], await Names(new SearchLoggedModelsOptions { ExperimentIds = [exp1] }));
        Assert.Equal(["Delta", "gamma", "beta", "alpha"], await Names(new SearchLoggedModelsOptions { ExperimentIds = [exp1, exp2] }));
        Assert.Equal(["beta"], await Names(new SearchLoggedModelsOptions { ExperimentIds = [exp1], Filter = "metrics.acc > 0.8" }));
        Assert.Equal(["beta"], await Names(new SearchLoggedModelsOptions { ExperimentIds = [exp1, exp2], Filter = "tags.team = 'red' AND status = 'READY'" }));
        Assert.Equal(["Delta", "alpha"], await Names(new SearchLoggedModelsOptions { ExperimentIds = [exp1], Filter = "status = 'PENDING'" }));
        Assert.Equal(["Delta"], await Names(new SearchLoggedModelsOptions { ExperimentIds = [exp1], Filter = "name LIKE 'D%'" }));
        Assert.Equal(["Delta"], await Names(new SearchLoggedModelsOptions { ExperimentIds = [exp1], Filter = "name ILIKE 'd%'" }));
        Assert.Empty(await Names(new SearchLoggedModelsOptions { ExperimentIds = [exp1], Filter = "name LIKE 'd%'" })); // LIKE is case-sensitive
        Assert.Equal(["gamma", "alpha"], await Names(new SearchLoggedModelsOptions { ExperimentIds = [exp1, exp2], Filter = "params.depth = '5' AND model_type IN ('tree')" }));
        Assert.Equal(["alpha"], await Names(new SearchLoggedModelsOptions { ExperimentIds = [exp1], Filter = $"source_run_id = '{run.Info.RunId}' AND name != 'beta' AND model_id != '{ids["Delta"]}'" }));

        // Metric order: models without the metric come last in both directions.
        Assert.Equal(["beta", "alpha", "Delta"], await Names(new SearchLoggedModelsOptions { ExperimentIds = [exp1], OrderBy = [new LoggedModelOrderBy("metrics.acc", Ascending: false)] }));
        Assert.Equal(["alpha", "beta", "Delta"], await Names(new SearchLoggedModelsOptions { ExperimentIds = [exp1], OrderBy = [new LoggedModelOrderBy("metrics.acc")] }));
        Assert.Equal(["Delta", "alpha", "beta"], await Names(new SearchLoggedModelsOptions { ExperimentIds = [exp1], OrderBy = [new LoggedModelOrderBy("name")] }));

        // Pages: a token continues only the search it came from.
        var options = new SearchLoggedModelsOptions { ExperimentIds = [exp1], PageSize = 2, OrderBy = [new LoggedModelOrderBy("creation_timestamp")] };
        var page1 = await client.LoggedModels.SearchPageAsync(options, Ct);
        Assert.Equal(["alpha", "beta"], page1.Items.Select(m => m.Info.Name));
        Assert.NotNull(page1.NextPageToken);
        var page2 = await client.LoggedModels.SearchPageAsync(options with { PageToken = page1.NextPageToken }, Ct);
        Assert.Equal(["Delta"], page2.Items.Select(m => m.Info.Name));
        Assert.Null(page2.NextPageToken);
        Assert.Equal(["alpha", "beta", "Delta"], await Names(options));
        var mismatch = await Assert.ThrowsAsync<MlflowException>(() => client.LoggedModels.SearchPageAsync(options with { ExperimentIds = [exp2], PageToken = page1.NextPageToken }, Ct));
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, mismatch.ErrorCode);
        var garbage = await Assert.ThrowsAsync<MlflowException>(() => client.LoggedModels.SearchPageAsync(options with { PageToken = "not a token" }, Ct));
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, garbage.ErrorCode);

        // As MLflow's search_logged_model_utils: IN lists on params and tags too.
        Assert.Equal(["Delta", "alpha"], await Names(new SearchLoggedModelsOptions { ExperimentIds = [exp1], Filter = "params.depth IN ('5', '9') AND tags.team NOT IN ('red')" }));

        foreach (var bad in new[] { "owner = 'x'", "metrics.acc > '0.5'", "name > 3", "name = 'a' OR name = 'b'", "params.depth IS NULL", "status LIKE 'R%'" })
        {
            var error = await Assert.ThrowsAsync<MlflowException>(() => client.LoggedModels.SearchPageAsync(new SearchLoggedModelsOptions { ExperimentIds = [exp1], Filter = bad }, Ct));
            Assert.Equal(MlflowErrorCodes.InvalidParameterValue, error.ErrorCode);
        }

        var badOrder = await Assert.ThrowsAsync<MlflowException>(() => client.LoggedModels.SearchPageAsync(new SearchLoggedModelsOptions { ExperimentIds = [exp1], OrderBy = [new LoggedModelOrderBy("params.depth")] }, Ct));
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, badOrder.ErrorCode);
    }

    [Fact]
    public async Task Dataset_filters_restrict_metric_filters_and_order_to_metrics_of_those_datasets_as_the_sql_store_does()
    {
        // Oracle: Python MLflow 3.11 on sqlite:/// with m1: acc 0.9 on train/d1 and 0.5 on test/d2, m2: acc 0.7 on
        // test/d2, m3: acc 0.95 without a dataset; search_logged_models(datasets=…) printed the lists asserted below.
        using var folder = new TempFolder();
        using var client = folder.Client(new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_000)) { AutoAdvanceAmount = TimeSpan.FromMilliseconds(10) });
        var experimentId = await client.Experiments.CreateAsync("dataset-filter", cancellationToken: Ct);
        var run = await client.Runs.CreateAsync(experimentId, cancellationToken: Ct);
        var ids = new Dictionary<string, string>();
        foreach (var name in new[] { "m1", "m2", "m3" })
        {
            ids[(await client.LoggedModels.CreateAsync(experimentId, new CreateLoggedModelOptions { Name = name }, Ct)).Info.ModelId] = name;
        }

        var id = ids.ToDictionary(p => p.Value, p => p.Key);
        await client.Runs.LogBatchAsync(
            run.Info.RunId,
            [
                new Metric("acc", 0.9, 1000) { ModelId = id["m1"], DatasetName = "train", DatasetDigest = "d1" },
                new Metric("acc", 0.5, 1001) { ModelId = id["m1"], DatasetName = "test", DatasetDigest = "d2" },
                new Metric("acc", 0.7, 1002) { ModelId = id["m2"], DatasetName = "test", DatasetDigest = "d2" },
                new Metric("acc", 0.95, 1003) { ModelId = id["m3"] },
            ],
            cancellationToken: Ct);

        async Task<List<string>> Names(string? filter, LoggedModelDatasetFilter[]? datasets, params LoggedModelOrderBy[] orderBy)
        {
            var page = await client.LoggedModels.SearchPageAsync(new SearchLoggedModelsOptions { ExperimentIds = [experimentId], Filter = filter, Datasets = datasets, OrderBy = orderBy }, Ct);
            return [.. page.Items.Select(m => ids[m.Info.ModelId])];
        }

        Assert.Empty(await Names("metrics.acc > 0.8", [new("test")]));
        Assert.Equal(["m3", "m1"], await Names("metrics.acc > 0.8", null));
        Assert.Equal(["m1"], await Names(null, [new("train")]));
        Assert.Equal(["m2", "m1"], await Names(null, [new("test")], new LoggedModelOrderBy("metrics.acc", Ascending: false) { DatasetName = "test" }));
        Assert.Empty(await Names(null, [new("train", "wrong")]));
        Assert.Equal(["m1"], await Names("metrics.acc < 0.6", [new("train"), new("test", "d2")]));
        Assert.Empty(await Names("name = 'm2'", [new("train")]));
        Assert.Equal(["m3", "m2", "m1"], await Names(null, [], new LoggedModelOrderBy("metrics.acc", Ascending: false)));

        // A dataset without a name is refused before the store is asked (MLflow: INVALID_PARAMETER_VALUE).
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Names(null, [new("")]));
        Assert.Contains("DatasetName", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metric_filter_matches_any_logged_value_of_the_key_as_the_sql_store_does()
    {
        // Oracle: MLflow 3.11's SqlAlchemyStore (sqlite:///) given acc = 0.5 at step 0 then 0.9 at step 1 returns the
        // model for both 'metrics.acc < 0.6' and 'metrics.acc > 0.8', and for neither of 'metrics.acc > 0.95' and
        // 'metrics.loss > 0' (its filter joins every logged_model_metrics row of the key; ordering uses the latest).
        using var folder = new TempFolder();
        using var client = folder.Client(new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_000)) { AutoAdvanceAmount = TimeSpan.FromMilliseconds(10) });
        var experimentId = await client.Experiments.CreateAsync("metric-filter", cancellationToken: Ct);
        var run = await client.Runs.CreateAsync(experimentId, cancellationToken: Ct);
        var model = await client.LoggedModels.CreateAsync(experimentId, new CreateLoggedModelOptions { Name = "m1" }, Ct);
        var other = await client.LoggedModels.CreateAsync(experimentId, new CreateLoggedModelOptions { Name = "m2" }, Ct);
        await client.LoggedModels.LogMetricAsync(model.Info.ModelId, run.Info.RunId, "acc", 0.5, step: 0, timestamp: DateTimeOffset.FromUnixTimeMilliseconds(1000), cancellationToken: Ct);
        await client.LoggedModels.LogMetricAsync(model.Info.ModelId, run.Info.RunId, "acc", 0.9, step: 1, timestamp: DateTimeOffset.FromUnixTimeMilliseconds(2000), cancellationToken: Ct);
        await client.LoggedModels.LogMetricAsync(other.Info.ModelId, run.Info.RunId, "acc", 0.7, step: 0, timestamp: DateTimeOffset.FromUnixTimeMilliseconds(1000), cancellationToken: Ct);

        async Task<List<string>> Names(string filter, IReadOnlyList<LoggedModelOrderBy>? orderBy = null)
        {
            var page = await client.LoggedModels.SearchPageAsync(new SearchLoggedModelsOptions { ExperimentIds = [experimentId], Filter = filter, OrderBy = orderBy }, Ct);
            return [.. page.Items.Select(m => m.Info.Name)];
        }

        Assert.Equal(["m1"], await Names("metrics.acc < 0.6"));
        Assert.Equal(["m1"], await Names("metrics.acc > 0.8"));
        Assert.Empty(await Names("metrics.acc > 0.95"));
        Assert.Empty(await Names("metrics.loss > 0"));
        Assert.Equal(["m2", "m1"], await Names("metrics.acc > 0.6"));

        // Ordering by the metric uses the latest value per key: m1 (0.9) before m2 (0.7) descending.
        Assert.Equal(["m1", "m2"], await Names("", [new LoggedModelOrderBy("metrics.acc", Ascending: false)]));
    }

    [Fact]
    public async Task Log_register_and_download_a_model_by_alias_round_trip()
    {
        using var folder = new TempFolder();
        using var client = folder.Client();
        var experimentId = await client.Experiments.CreateAsync("models", artifactLocation: Path.Combine(folder.Path, "store"), cancellationToken: Ct);
        var run = await client.Runs.CreateAsync(experimentId, cancellationToken: Ct);
        await client.Runs.LogParamAsync(run.Info.RunId, "lr", "0.01", Ct);
        await client.Runs.LogBatchAsync(run.Info.RunId, [new Metric("acc", 0.5, 1000, step: 1), new Metric("acc", 0.75, 2000, step: 2), new Metric("loss", 0.25, 3000, step: 2)], cancellationToken: Ct);
        var modelFile = Path.Combine(folder.Path, "trained.onnx");
        await File.WriteAllBytesAsync(modelFile, [1, 2, 3, 4], Ct);

        var logged = await client.Models.LogModelAsync(
            run.Info.RunId,
            new LogModelOptions { Flavor = new OnnxFlavor(), ModelFile = modelFile, RegisteredModelName = "local-iris", ModelType = "classifier", Step = 2 },
            Ct);

        // MLflow 3 layout: a logged model, linked as the run's output, files under <experiment>/models/<id>/artifacts.
        Assert.NotNull(logged.ModelId);
        Assert.Equal("models:/" + logged.ModelId, logged.ModelUri);
        Assert.Equal(LoggedModelStatus.Ready, logged.LoggedModel!.Info.Status);
        Assert.Equal("0.01", logged.LoggedModel.Data.Params["lr"]);
        Assert.True(File.Exists(Path.Combine(folder.Path, "store", "models", logged.ModelId!, "artifacts", "MLmodel")));
        Assert.Equal((logged.ModelId, 2L), (Assert.Single((await client.Runs.GetAsync(run.Info.RunId, Ct)).Outputs.ModelOutputs) is var o ? (o.ModelId, o.Step) : default));
        var version = logged.RegisteredVersion!;
        Assert.Equal(("1", "models:/" + logged.ModelId, run.Info.RunId), (version.Version, version.Source, version.RunId));
        var stored = await client.LoggedModels.GetAsync(logged.ModelId!, Ct);
        Assert.Equal("[{\"name\": \"local-iris\", \"version\": 1}]", stored.Info.Tags["mlflow.modelVersions"]); // as Python's client writes it on sqlite:///
        Assert.Equal("LOCAL", stored.Info.Tags["mlflow.source.type"]);
        Assert.False(string.IsNullOrEmpty(stored.Info.Tags["mlflow.user"]));
        Assert.False(string.IsNullOrEmpty(stored.Info.Tags["mlflow.source.name"]));
        // The run's metrics at the model's step (2) are the logged model's metrics, as Model.log links them.
        Assert.Equal([("acc", 0.75, 2L, 2000L), ("loss", 0.25, 2L, 3000L)], stored.Data.Metrics.Select(m => (m.Key, m.Value, m.Step, m.Timestamp)).OrderBy(m => m.Key, StringComparer.Ordinal));
        Assert.Equal(2, (await client.Runs.GetMetricHistoryAsync(run.Info.RunId, "acc", cancellationToken: Ct).ToListAsync(Ct)).Count); // the run's history is unchanged
        Assert.Equal(logged.ArtifactUri, await client.ModelRegistry.GetVersionDownloadUriAsync("local-iris", "1", Ct));
        using (var db = SqliteGolden.Open(folder.DatabasePath))
        {
            Assert.Equal(logged.ArtifactUri, SqliteGolden.Scalar(db, "SELECT storage_location FROM model_versions WHERE name = 'local-iris' AND version = 1"));
        }

        await client.ModelRegistry.SetAliasAsync("local-iris", "champion", version.Version, Ct);
        var target = Path.Combine(folder.Path, "downloaded");
        var downloaded = await client.Models.DownloadModelAsync("models:/local-iris@champion", target, Ct);

        Assert.Equal(("local-iris", "1", logged.ModelId), (downloaded.Source.Name, downloaded.Source.Version, downloaded.Source.ModelId));
        Assert.Equal(logged.ModelId, downloaded.Model.ModelId);
        Assert.Equal(await File.ReadAllBytesAsync(modelFile, Ct), await File.ReadAllBytesAsync(Path.Combine(downloaded.LocalPath, "model.onnx"), Ct));
        var byId = await client.Models.DownloadModelAsync("models:/" + logged.ModelId, Path.Combine(folder.Path, "by-id"), Ct);
        Assert.Equal(logged.ModelId, byId.Model.ModelId);
        var byRun = await client.ModelRegistry.ResolveModelUriAsync($"runs:/{run.Info.RunId}/model", Ct);
        Assert.Equal(logged.ModelId, byRun.ModelId); // runs:/<run>/<name> finds the run's logged model
    }

    [Fact]
    public async Task A_222_database_has_no_logged_models_and_logging_falls_back_to_run_artifacts()
    {
        using var folder = new TempFolder();
        File.Copy(Path.Combine(SqliteGolden.Directory, "populated-2.22.db"), folder.DatabasePath);
        using var client = folder.Client();
        var experimentId = await client.Experiments.CreateAsync("legacy", artifactLocation: Path.Combine(folder.Path, "store"), cancellationToken: Ct);
        var run = await client.Runs.CreateAsync(experimentId, cancellationToken: Ct);

        var refused = await Assert.ThrowsAsync<MlflowException>(() => client.LoggedModels.CreateAsync(experimentId, cancellationToken: Ct));
        Assert.Equal(MlflowErrorCodes.EndpointNotFound, refused.ErrorCode);

        var modelFile = Path.Combine(folder.Path, "trained.onnx");
        await File.WriteAllBytesAsync(modelFile, [9, 9], Ct);
        var logged = await client.Models.LogModelAsync(run.Info.RunId, new LogModelOptions { Flavor = new OnnxFlavor(), ModelFile = modelFile, RegisteredModelName = "legacy-model" }, Ct);

        Assert.Null(logged.ModelId);
        Assert.Equal($"runs:/{run.Info.RunId}/model", logged.ModelUri);
        Assert.Contains(ModelsClient.LogModelHistoryTag, (await client.Runs.GetAsync(run.Info.RunId, Ct)).Data.Tags.Keys);
        Assert.Equal(logged.ArtifactUri, logged.RegisteredVersion!.Source);
        var downloaded = await client.Models.DownloadModelAsync("models:/legacy-model/1", Path.Combine(folder.Path, "out"), Ct);
        Assert.True(File.Exists(Path.Combine(downloaded.LocalPath, "model.onnx")));
    }

    [Fact]
    public async Task Readme_example_runs_on_a_local_store()
    {
        using var folder = new TempFolder();
        var modelFile = Path.Combine(folder.Path, "model.onnx");
        await File.WriteAllBytesAsync(modelFile, [7, 7, 7], Ct);

        // README.md, "Model registry and logged models on the local store" (paths made absolute).
        using var client = new MlflowClient(folder.Uri);
        var experiment = await client.Experiments.GetOrCreateAsync("local-models", Ct);
        var run = await client.Runs.CreateAsync(experiment.ExperimentId, cancellationToken: Ct);
        var logged = await client.Models.LogModelAsync(run.Info.RunId, new LogModelOptions
        {
            Flavor = new OnnxFlavor(),
            ModelFile = modelFile,
            RegisteredModelName = "iris",
        }, Ct);
        await client.ModelRegistry.SetAliasAsync("iris", "champion", logged.RegisteredVersion!.Version, Ct);
        var model = await client.Models.DownloadModelAsync("models:/iris@champion", Path.Combine(folder.Path, "downloaded-model"), Ct);

        Assert.Equal(("iris", "1", logged.ModelId), (model.Source.Name, model.Source.Version, model.Source.ModelId));
        Assert.Equal([7, 7, 7], await File.ReadAllBytesAsync(Path.Combine(model.LocalPath, "model.onnx"), Ct));
    }
}
