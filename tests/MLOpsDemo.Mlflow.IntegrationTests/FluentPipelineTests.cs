using MLOpsDemo.Mlflow.IntegrationTests.Infrastructure;
using MLOpsDemo.Mlflow.TestSupport;

namespace MLOpsDemo.Mlflow.IntegrationTests;

/// <summary>
/// The fluent run scope and its background logging pipeline against a real MLflow server: end states, concurrent
/// loggers, flush visibility, permanent failures, resumed runs, and a server that stops and comes back mid-run.
/// </summary>
public class FluentPipelineTests(MlflowServerFixture server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [DockerFact]
    public async Task RunAsync_ends_FINISHED_on_success_and_FAILED_when_the_body_throws()
    {
        using var client = server.CreateClient();
        var experimentName = MlflowServerFixture.UniqueName("it-runasync");
        string? okId = null;
        var value = await client.RunAsync(async run =>
        {
            okId = run.RunId;
            run.LogMetric("accuracy", 0.93);
            await run.FlushAsync(Ct);
            return 42;
        }, new StartRunOptions { ExperimentName = experimentName }, Ct);
        Assert.Equal(42, value);

        string? failedId = null;
        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => client.RunAsync(run =>
        {
            failedId = run.RunId;
            run.LogMetric("accuracy", 0.1);
            throw new InvalidOperationException("training diverged");
        }, new StartRunOptions { ExperimentName = experimentName }, Ct));
        Assert.Equal("training diverged", thrown.Message);

        var ok = await client.Runs.GetAsync(okId!, Ct);
        Assert.Equal(RunStatus.Finished, ok.Info.Status);
        Assert.Equal(0.93, ok.Data.Metrics.Single(m => m.Key == "accuracy").Value);
        var failed = await client.Runs.GetAsync(failedId!, Ct);
        Assert.Equal(RunStatus.Failed, failed.Info.Status);
        Assert.Equal(0.1, failed.Data.Metrics.Single(m => m.Key == "accuracy").Value);
        Assert.Equal(ok.Info.ExperimentId, failed.Info.ExperimentId);
    }

    [DockerFact]
    public async Task Concurrent_loggers_store_every_point_exactly_once()
    {
        using var client = server.CreateClient(o => o.Logging.FlushInterval = TimeSpan.FromMilliseconds(50));
        const int Writers = 8;
        const int PointsPerWriter = 600;
        string runId;
        await using (var run = await client.StartRunAsync(new StartRunOptions { ExperimentName = MlflowServerFixture.UniqueName("it-concurrent") }, Ct))
        {
            runId = run.RunId;
            await Parallel.ForAsync(0, Writers, new ParallelOptions { MaxDegreeOfParallelism = Writers, CancellationToken = Ct }, (writer, _) =>
            {
                for (var i = 0; i < PointsPerWriter; i++)
                {
                    run.LogMetric($"writer{writer}", i, step: i);
                    run.LogMetric("shared", writer, step: (writer * PointsPerWriter) + i);
                }

                run.LogParam($"p{writer}", writer);
                run.SetTag($"t{writer}", $"v{writer}");
                return ValueTask.CompletedTask;
            });
        }

        var stored = await client.Runs.GetAsync(runId, Ct);
        Assert.Equal(RunStatus.Finished, stored.Info.Status);
        for (var writer = 0; writer < Writers; writer++)
        {
            var history = await client.Runs.GetMetricHistoryAsync(runId, $"writer{writer}", cancellationToken: Ct).ToListAsync(Ct);
            Assert.Equal(Enumerable.Range(0, PointsPerWriter).Select(i => (long)i), history.Select(m => m.Step).Order());
            Assert.Equal($"{writer}", stored.Data.Params[$"p{writer}"]);
            Assert.Equal($"v{writer}", stored.Data.Tags[$"t{writer}"]);
        }

        var shared = await client.Runs.GetMetricHistoryAsync(runId, "shared", cancellationToken: Ct).ToListAsync(Ct);
        Assert.Equal(Enumerable.Range(0, Writers * PointsPerWriter).Select(i => (long)i), shared.Select(m => m.Step).Order());
        Assert.All(shared, m => Assert.Equal(m.Step / PointsPerWriter, (long)m.Value));
    }

    [DockerFact]
    public async Task FlushAsync_makes_everything_logged_so_far_visible_while_the_run_is_running()
    {
        using var client = server.CreateClient(o => o.Logging.FlushInterval = TimeSpan.FromHours(1));
        await using var run = await client.StartRunAsync(new StartRunOptions { ExperimentName = MlflowServerFixture.UniqueName("it-flush"), Tags = new Dictionary<string, string> { ["team"] = "it" } }, Ct);
        run.LogParams(new { learning_rate = 0.01, epochs = 3 });
        run.LogMetrics([KeyValuePair.Create("loss", 0.5), KeyValuePair.Create("acc", 0.7)], step: 1);
        run.LogMetric("inf", double.PositiveInfinity);
        run.LogMetric("neg_inf", double.NegativeInfinity);
        run.SetTag("stage", "dev");
        await run.FlushAsync(Ct);
        Assert.Equal(0, run.PendingCount);

        var mid = await client.Runs.GetAsync(run.RunId, Ct);
        Assert.Equal(RunStatus.Running, mid.Info.Status);
        Assert.Equal("0.01", mid.Data.Params["learning_rate"]);
        Assert.Equal("3", mid.Data.Params["epochs"]);
        Assert.Equal(0.5, mid.Data.Metrics.Single(m => m.Key == "loss").Value);
        // MLflow's SQL store keeps ±Infinity as ±double.MaxValue.
        Assert.Equal(double.MaxValue, mid.Data.Metrics.Single(m => m.Key == "inf").Value);
        Assert.Equal(double.MinValue, mid.Data.Metrics.Single(m => m.Key == "neg_inf").Value);
        Assert.Equal("dev", mid.Data.Tags["stage"]);
        Assert.Equal("it", mid.Data.Tags["team"]);

        await run.LogInputAsync(new Dataset { Name = "iris", Digest = "d1g35t", SourceType = "local", Source = """{"uri": "file:///iris.csv"}""" }, "training", Ct);
        await run.LogJsonAsync(new System.Text.Json.Nodes.JsonObject { ["w0"] = 0.5 }, "model/weights.json", Ct);
        var withInput = await client.Runs.GetAsync(run.RunId, Ct);
        var input = Assert.Single(withInput.Inputs.DatasetInputs);
        Assert.Equal("iris", input.Dataset.Name);
        Assert.Equal("training", input.Tags["mlflow.data.context"]);
        Assert.Contains("\"w0\"", await client.Artifacts.ReadTextAsync(run.RunId, "model/weights.json", Ct));

        await run.EndAsync(RunStatus.Killed, Ct);
        Assert.Equal(RunStatus.Killed, (await client.Runs.GetAsync(run.RunId, Ct)).Info.Status);
        Assert.Throws<InvalidOperationException>(() => run.LogMetric("late", 1));
    }

    [DockerFact]
    public async Task A_batch_the_server_refuses_is_reported_once_and_the_run_still_ends()
    {
        using var client = server.CreateClient();
        var run = await client.StartRunAsync(new StartRunOptions { ExperimentName = MlflowServerFixture.UniqueName("it-refused") }, Ct);
        var failures = new List<MlflowLoggingFailedEventArgs>();
        run.LoggingFailed += (_, e) => { lock (failures) { failures.Add(e); } };
        run.LogParam("lr", "0.1");
        await run.FlushAsync(Ct);

        run.LogParam("lr", "0.2"); // MLflow refuses to change a logged param: HTTP 400
        var reported = await Assert.ThrowsAsync<MlflowException>(() => run.FlushAsync(Ct));
        Assert.Contains("were not stored", reported.Message);
        Assert.Equal((System.Net.HttpStatusCode.BadRequest, MlflowErrorCodes.InvalidParameterValue), (reported.StatusCode, reported.ErrorCode));
        lock (failures)
        {
            Assert.Equal(1, Assert.Single(failures).Params);
        }

        run.LogMetric("after", 1.0);
        await run.DisposeAsync(); // the loss was reported already: ending does not throw it again
        var stored = await client.Runs.GetAsync(run.RunId, Ct);
        Assert.Equal("0.1", stored.Data.Params["lr"]);
        Assert.Equal(1.0, stored.Data.Metrics.Single(m => m.Key == "after").Value);
        Assert.Equal(RunStatus.Finished, stored.Info.Status);
    }

    [DockerFact]
    public async Task A_run_resumed_by_id_gets_more_points_and_is_not_ended_by_the_scope()
    {
        using var client = server.CreateClient();
        var experimentId = await client.Experiments.CreateAsync(MlflowServerFixture.UniqueName("it-resume"), cancellationToken: Ct);
        var created = await client.Runs.CreateAsync(experimentId, cancellationToken: Ct);
        await client.Runs.LogMetricAsync(created.Info.RunId, "loss", 1.0, 0, cancellationToken: Ct);

        await using (var resumed = await client.StartRunAsync(new StartRunOptions { RunId = created.Info.RunId }, Ct))
        {
            Assert.False(resumed.OwnsRun);
            Assert.Equal(experimentId, resumed.ExperimentId);
            resumed.LogMetric("loss", 0.5, step: 1);
        }

        var stored = await client.Runs.GetAsync(created.Info.RunId, Ct);
        Assert.Equal(RunStatus.Running, stored.Info.Status);
        Assert.Equal([0L, 1], (await client.Runs.GetMetricHistoryAsync(created.Info.RunId, "loss", cancellationToken: Ct).ToListAsync(Ct)).Select(m => m.Step).Order());
    }

    [DockerFact]
    public async Task A_server_stopped_and_restarted_mid_run_loses_and_duplicates_no_point()
    {
        // A private server of the same major version as the shared one, because this test stops it.
        var major = await server.GetMajorVersionAsync(Ct);
        await using var privateServer = await RealMlflow.StartPrivateServerAsync(major, cancellationToken: Ct);
        using var client = new MlflowClient(new MlflowClientOptions
        {
            TrackingUri = privateServer.Uri,
            MaxRetries = 1,
            BackoffFactor = TimeSpan.FromMilliseconds(100),
            Timeout = TimeSpan.FromSeconds(30),
            Logging = { FlushInterval = TimeSpan.FromMilliseconds(100), RetryBackoff = TimeSpan.FromMilliseconds(200), MaxRetryBackoff = TimeSpan.FromSeconds(1), RetryTimeout = TimeSpan.FromMinutes(5) },
        });
        const int Phase = 1000;
        string runId;
        await using (var run = await client.StartRunAsync(new StartRunOptions { ExperimentName = "restart" }, Ct))
        {
            runId = run.RunId;
            for (var step = 0; step < Phase; step++)
            {
                run.LogMetric("loss", 1.0 / (step + 1), step);
            }

            await run.FlushAsync(Ct);
            await privateServer.StopAsync(Ct);

            // Logged while the server is down: buffered, the sender keeps retrying.
            for (var step = Phase; step < 2 * Phase; step++)
            {
                run.LogMetric("loss", 1.0 / (step + 1), step);
            }

            run.LogParam("phase", "down");
            await privateServer.StartAsync(Ct);
            for (var step = 2 * Phase; step < 3 * Phase; step++)
            {
                run.LogMetric("loss", 1.0 / (step + 1), step);
            }
        }

        var stored = await client.Runs.GetAsync(runId, Ct);
        Assert.Equal(RunStatus.Finished, stored.Info.Status);
        Assert.Equal("down", stored.Data.Params["phase"]);
        var history = await client.Runs.GetMetricHistoryAsync(runId, "loss", cancellationToken: Ct).ToListAsync(Ct);
        Assert.Equal(Enumerable.Range(0, 3 * Phase).Select(i => (long)i), history.Select(m => m.Step).Order());
    }
}
