using MLOpsDemo.Mlflow.IntegrationTests.Infrastructure;

namespace MLOpsDemo.Mlflow.IntegrationTests;

/// <summary>
/// End-to-end tracking against a real MLflow server (2.x or 3.x): experiment → run → metrics/params/tags/batch →
/// search → history → end. Names are unique so the tests can run repeatedly against a shared server.
/// </summary>
public class TrackingScenarioTests(MlflowServerFixture server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [DockerFact]
    public async Task Server_answers_health_and_version()
    {
        using var client = server.CreateClient();
        Assert.True(await client.IsServerHealthyAsync(Ct));
        Assert.Matches(@"^[23]\.\d+", await client.GetServerVersionAsync(Ct));
    }

    [DockerFact]
    public async Task Experiment_run_logging_search_history_and_end()
    {
        using var client = server.CreateClient();
        var name = MlflowServerFixture.UniqueName("it-tracking");

        // Experiment: create with tags, read back by id and name, tag, rename-safe search.
        Assert.Null(await client.Experiments.GetByNameAsync(name, Ct));
        var experimentId = await client.Experiments.CreateAsync(name, tags: new Dictionary<string, string> { ["team"] = "it", ["scratch"] = "x" }, cancellationToken: Ct);
        var experiment = await client.Experiments.GetAsync(experimentId, Ct);
        Assert.Equal(name, experiment.Name);
        Assert.Equal("it", experiment.Tags["team"]);
        Assert.Equal(experimentId, (await client.Experiments.GetByNameAsync(name, Ct))!.ExperimentId);
        var duplicate = await Assert.ThrowsAsync<MlflowException>(() => client.Experiments.CreateAsync(name, cancellationToken: Ct));
        Assert.Equal(MlflowErrorCodes.ResourceAlreadyExists, duplicate.ErrorCode);
        Assert.Equal(experimentId, (await client.Experiments.GetOrCreateAsync(name, Ct)).ExperimentId);

        await client.Experiments.SetTagAsync(experimentId, "stage", "dev", Ct);
        if (await server.GetMajorVersionAsync(Ct) >= 3)
        {
            await client.Experiments.DeleteTagAsync(experimentId, "scratch", Ct);
            Assert.False((await client.Experiments.GetAsync(experimentId, Ct)).Tags.ContainsKey("scratch"));
        }
        else
        {
            // MLflow 2.x has no delete-experiment-tag endpoint; the client reports it as ENDPOINT_NOT_FOUND.
            var absent = await Assert.ThrowsAsync<MlflowException>(() => client.Experiments.DeleteTagAsync(experimentId, "scratch", Ct));
            Assert.Equal(MlflowErrorCodes.EndpointNotFound, absent.ErrorCode);
            Assert.Equal("x", (await client.Experiments.GetAsync(experimentId, Ct)).Tags["scratch"]);
        }

        Assert.Equal("dev", (await client.Experiments.GetAsync(experimentId, Ct)).Tags["stage"]);

        // Run: create, log one by one, in a batch, and inputs.
        var start = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var run = await client.Runs.CreateAsync(experimentId, new CreateRunOptions { RunName = "it-run", StartTime = start, Tags = new Dictionary<string, string> { ["mlflow.user"] = "it-user", ["scratch"] = "x" } }, Ct);
        var runId = run.Info.RunId;
        Assert.Equal("it-run", run.Info.RunName);
        Assert.Equal(RunStatus.Running, run.Info.Status);

        for (var step = 0; step < 5; step++)
        {
            await client.Runs.LogMetricAsync(runId, "loss", 1.0 / (step + 1), step, start.AddSeconds(step), Ct);
        }

        await client.Runs.LogMetricAsync(runId, "nan_metric", double.NaN, 0, start, Ct);
        await client.Runs.LogParamAsync(runId, "lr", "0.01", Ct);
        await client.Runs.LogParamAsync(runId, "lr", "0.01", Ct); // same value again is fine
        var changed = await Assert.ThrowsAsync<MlflowException>(() => client.Runs.LogParamAsync(runId, "lr", "0.02", Ct));
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, changed.ErrorCode);
        await Assert.ThrowsAsync<ArgumentException>(() => client.Runs.LogParamAsync(runId, "long", new string('a', 6001), Ct));
        await client.Runs.SetTagAsync(runId, "team", "it", Ct);
        await client.Runs.DeleteTagAsync(runId, "scratch", Ct);

        var batchMetrics = Enumerable.Range(0, 1500).Select(i => new Metric("acc", i / 1500.0, start.ToUnixTimeMilliseconds(), i)).ToList();
        var batchParams = Enumerable.Range(0, 150).Select(i => KeyValuePair.Create($"p{i}", $"v{i}")).ToList();
        await client.Runs.LogBatchAsync(runId, batchMetrics, batchParams, [KeyValuePair.Create("batch", "yes")], Ct);
        await client.Runs.LogInputsAsync(
            runId,
            [new DatasetInput { Tags = new Dictionary<string, string> { ["mlflow.data.context"] = "training" }, Dataset = new Dataset { Name = "it-data", Digest = "abc123", SourceType = "local", Source = """{"uri": "file:///data.csv"}""" } }],
            cancellationToken: Ct);

        // Read back.
        var got = await client.Runs.GetAsync(runId, Ct);
        Assert.Equal(0.2, got.Data.Metrics.Single(m => m.Key == "loss").Value, 10);
        Assert.True(double.IsNaN(got.Data.Metrics.Single(m => m.Key == "nan_metric").Value));
        Assert.Equal(1499 / 1500.0, got.Data.Metrics.Single(m => m.Key == "acc").Value, 10);
        Assert.Equal("0.01", got.Data.Params["lr"]);
        Assert.Equal(151, got.Data.Params.Count);
        Assert.Equal("it", got.Data.Tags["team"]);
        Assert.Equal("yes", got.Data.Tags["batch"]);
        Assert.False(got.Data.Tags.ContainsKey("scratch"));
        Assert.Equal("it-data", Assert.Single(got.Inputs.DatasetInputs).Dataset.Name);

        // History: small pages on 3.x, one page on 2.x; the same points either way.
        var history = await client.Runs.GetMetricHistoryAsync(runId, "loss", pageSize: 2, cancellationToken: Ct).ToListAsync(Ct);
        Assert.Equal([0L, 1, 2, 3, 4], history.Select(h => h.Step).Order());
        Assert.Equal(1500, (await client.Runs.GetMetricHistoryAsync(runId, "acc", cancellationToken: Ct).ToListAsync(Ct)).Count);
        var bulk = await client.Runs.GetMetricHistoryBulkIntervalAsync([runId], "loss", cancellationToken: Ct);
        Assert.Equal(5, bulk.Count);
        Assert.All(bulk, p => Assert.Equal(runId, p.RunId));

        // Search with paging (page size 1 over two runs).
        var second = await client.Runs.CreateAsync(experimentId, new CreateRunOptions { RunName = "it-run-2" }, Ct);
        await client.Runs.LogBatchAsync(second.Info.RunId, [new Metric("acc", 0.5, start.ToUnixTimeMilliseconds())], [KeyValuePair.Create("lr", "0.01")], cancellationToken: Ct);
        var found = await client.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = [experimentId], Filter = "params.lr = '0.01'", OrderBy = ["metrics.acc DESC"], PageSize = 1 }, Ct).ToListAsync(Ct);
        Assert.Equal([runId, second.Info.RunId], found.Select(r => r.Info.RunId));
        var experiments = await client.Experiments.SearchAsync(new SearchExperimentsOptions { Filter = $"name = '{name}'", PageSize = 1 }, Ct).ToListAsync(Ct);
        Assert.Equal(experimentId, Assert.Single(experiments).ExperimentId);

        // End, delete, restore.
        var ended = await client.Runs.SetTerminatedAsync(runId, RunStatus.Finished, cancellationToken: Ct);
        Assert.Equal(RunStatus.Finished, ended.Status);
        Assert.NotNull(ended.EndTime);
        await client.Runs.DeleteAsync(second.Info.RunId, Ct);
        Assert.Equal(LifecycleStage.Deleted, (await client.Runs.GetAsync(second.Info.RunId, Ct)).Info.LifecycleStage);
        await client.Runs.RestoreAsync(second.Info.RunId, Ct);
        Assert.Equal(LifecycleStage.Active, (await client.Runs.GetAsync(second.Info.RunId, Ct)).Info.LifecycleStage);

        var missing = await Assert.ThrowsAsync<MlflowException>(() => client.Runs.GetAsync("0123456789abcdef0123456789abcdef", Ct));
        Assert.Equal(MlflowErrorCodes.ResourceDoesNotExist, missing.ErrorCode);

        await client.Experiments.DeleteAsync(experimentId, Ct);
        Assert.Equal(LifecycleStage.Deleted, (await client.Experiments.GetAsync(experimentId, Ct)).LifecycleStage);
        await client.Experiments.RestoreAsync(experimentId, Ct);
        await client.Experiments.RenameAsync(experimentId, name + "-renamed", Ct);
        Assert.Equal(name + "-renamed", (await client.Experiments.GetAsync(experimentId, Ct)).Name);
    }

    [DockerFact]
    public async Task A_wrong_path_prefix_gives_ENDPOINT_NOT_FOUND()
    {
        using var client = server.CreateClient(o => o.TrackingUri = server.TrackingUri!.TrimEnd('/') + "/no-such-prefix");
        var ex = await Assert.ThrowsAsync<MlflowException>(() => client.Experiments.GetAsync("0", Ct));
        Assert.Equal(MlflowErrorCodes.EndpointNotFound, ex.ErrorCode);
    }
}
