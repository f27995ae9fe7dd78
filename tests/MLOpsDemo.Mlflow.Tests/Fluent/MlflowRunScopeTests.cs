using System.Text.RegularExpressions;

namespace MLOpsDemo.Mlflow.Tests.Fluent;

public class MlflowRunScopeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Disposing_flushes_and_ends_the_run_finished()
    {
        using var server = new FakeMlflowServer();
        using var client = server.CreateClient();
        string runId;
        await using (var run = await client.StartRunAsync(new StartRunOptions { ExperimentName = "fluent-demo", RunName = "r1", Description = "notes" }, Ct))
        {
            runId = run.RunId;
            Assert.Same(run, client.ActiveRun);
            Assert.Same(run, MlflowRun.Current);
            Assert.True(run.OwnsRun);
            run.LogMetric("loss", 0.5, step: 1);
            run.LogParam("lr", 0.01);
            run.SetTag("stage", "dev");
        }

        Assert.Null(client.ActiveRun);
        Assert.Equal([(runId, "FINISHED")], server.Updates);
        Assert.Equal([("loss", 0.5, 1L)], server.MetricsOf(runId).Select(m => (m.Key, m.Value, m.Step)));
        Assert.Equal([KeyValuePair.Create("lr", "0.01")], server.PairsOf(runId, "params"));
        Assert.Equal([KeyValuePair.Create("stage", "dev")], server.PairsOf(runId, "tags"));
        var tags = server.TagsOf(runId);
        Assert.Equal("notes", tags["mlflow.note.content"]);
        Assert.Equal("r1", tags["mlflow.runName"]);
        Assert.NotEqual("0", (string)server.Runs[runId]["info"]!["experiment_id"]!);
    }

    [Fact]
    public async Task SetTags_sends_each_key_once_in_first_set_order_with_its_last_value_and_the_store_keeps_it()
    {
        using var server = new FakeMlflowServer();
        using var client = server.CreateClient();
        using var folder = new MLOpsDemo.Mlflow.Tests.Sqlite.TempFolder();
        using var local = folder.Client();
        string runId, localRunId;

        await using (var run = await client.StartRunAsync(cancellationToken: Ct))
        await using (var localRun = await local.StartRunAsync(new StartRunOptions { ExperimentName = "tags" }, Ct))
        {
            (runId, localRunId) = (run.RunId, localRun.RunId);
            foreach (var target in new[] { run, localRun })
            {
                target.SetTag("stage", "dev");
                target.SetTags([new("team", "vision"), new("stage", "staging"), new("owner", "me"), new("stage", "prod")]);
                Assert.Throws<ArgumentNullException>(() => target.SetTags(null!));
                Assert.Throws<ArgumentException>(() => target.SetTags([new("ok", "1"), new("", "no key")]));
            }
        }

        // On the wire: one entry per key, in the order the keys were first set, with the last value (the refused calls
        // queued nothing).
        Assert.Equal([("stage", "prod"), ("team", "vision"), ("owner", "me")], server.PairsOf(runId, "tags").Select(p => (p.Key, p.Value)));
        // In a store: one value per key, the last one.
        var tags = (await local.Runs.GetAsync(localRunId, Ct)).Data.Tags;
        Assert.Equal(("prod", "vision", "me"), (tags["stage"], tags["team"], tags["owner"]));
        Assert.False(tags.ContainsKey("ok"));
    }

    [Fact]
    public async Task Disposing_twice_and_after_EndAsync_is_harmless_and_logging_afterwards_throws()
    {
        using var server = new FakeMlflowServer();
        using var client = server.CreateClient();
        var run = await client.StartRunAsync(cancellationToken: Ct);
        await run.EndAsync(RunStatus.Failed, Ct);
        await run.DisposeAsync();
        await run.DisposeAsync();
        await run.EndAsync(RunStatus.Finished, Ct);

        Assert.Equal([(run.RunId, "FAILED")], server.Updates);
        Assert.Equal(RunStatus.Failed, run.Info.Status);
        Assert.True(run.IsEnded);
        Assert.Throws<InvalidOperationException>(() => run.LogMetric("x", 1));
        Assert.Throws<InvalidOperationException>(() => run.SetTag("x", "y"));
    }

    [Fact]
    public async Task RunAsync_ends_finished_and_returns_the_result()
    {
        using var server = new FakeMlflowServer();
        using var client = server.CreateClient();
        string? seen = null;
        var result = await client.RunAsync(run =>
        {
            seen = run.RunId;
            Assert.Same(run, client.ActiveRun);
            run.LogMetric("acc", 0.9);
            return Task.FromResult(42);
        }, cancellationToken: Ct);

        Assert.Equal(42, result);
        Assert.Equal([(seen!, "FINISHED")], server.Updates);
        Assert.Single(server.MetricsOf(seen!));
    }

    [Fact]
    public async Task RunAsync_ends_failed_on_an_exception_and_rethrows_it()
    {
        using var server = new FakeMlflowServer();
        using var client = server.CreateClient();
        string? seen = null;
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => client.RunAsync(run =>
        {
            seen = run.RunId;
            run.LogMetric("loss", 1);
            throw new InvalidOperationException("diverged");
        }, cancellationToken: Ct));

        Assert.Equal("diverged", ex.Message);
        Assert.Equal([(seen!, "FAILED")], server.Updates);
        Assert.Single(server.MetricsOf(seen!));
        Assert.Null(client.ActiveRun);
    }

    [Fact]
    public async Task RunAsync_ends_killed_on_cancellation_and_rethrows()
    {
        using var server = new FakeMlflowServer();
        using var client = server.CreateClient();
        using var cts = new CancellationTokenSource();
        string? seen = null;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.RunAsync(async run =>
        {
            seen = run.RunId;
            await cts.CancelAsync();
            await Task.Delay(Timeout.Infinite, cts.Token);
        }, cancellationToken: Ct));

        Assert.Equal([(seen!, "KILLED")], server.Updates);
    }

    [Fact]
    public async Task A_run_started_inside_another_is_nested_and_flows_into_child_tasks()
    {
        using var server = new FakeMlflowServer();
        using var client = server.CreateClient();
        await using var outer = await client.StartRunAsync(new StartRunOptions { ExperimentName = "nest" }, Ct);
        string innerId;
        await using (var inner = await client.StartRunAsync(cancellationToken: Ct))
        {
            innerId = inner.RunId;
            Assert.Equal(outer.RunId, inner.ParentRunId);
            Assert.Equal(outer.ExperimentId, inner.ExperimentId);
            Assert.Same(inner, client.ActiveRun);
            var fromChild = await Task.Run(() => MlflowRun.Current, Ct);
            Assert.Same(inner, fromChild);
        }

        Assert.Same(outer, client.ActiveRun);
        Assert.Equal(outer.RunId, server.TagsOf(innerId)["mlflow.parentRunId"]);
        Assert.False(server.TagsOf(outer.RunId).ContainsKey("mlflow.parentRunId"));

        await using var independent = await client.StartRunAsync(new StartRunOptions { Nested = false }, Ct);
        Assert.Null(independent.ParentRunId);
        Assert.False(server.TagsOf(independent.RunId).ContainsKey("mlflow.parentRunId"));
        Assert.Equal("0", independent.ExperimentId);
    }

    [Fact]
    public async Task Runs_started_in_parallel_tasks_do_not_see_each_other()
    {
        using var server = new FakeMlflowServer();
        using var client = server.CreateClient();
        var started = 0;
        var bothStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        async Task<(string RunId, string? Parent, bool SawOwn)> Work()
        {
            await using var run = await client.StartRunAsync(cancellationToken: Ct);
            if (Interlocked.Increment(ref started) == 2)
            {
                bothStarted.SetResult();
            }

            await bothStarted.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);
            return (run.RunId, run.ParentRunId, ReferenceEquals(client.ActiveRun, run));
        }

        var results = await Task.WhenAll(Task.Run(Work, Ct), Task.Run(Work, Ct));

        Assert.NotEqual(results[0].RunId, results[1].RunId);
        Assert.All(results, r => Assert.Null(r.Parent));
        Assert.All(results, r => Assert.True(r.SawOwn));
        Assert.Null(client.ActiveRun);
    }

    [Fact]
    public async Task MLFLOW_RUN_ID_resumes_that_run_and_does_not_end_it()
    {
        using var server = new FakeMlflowServer();
        server.AddRun("handedover01");
        using var client = server.CreateClient(environment: new Dictionary<string, string> { ["MLFLOW_RUN_ID"] = "handedover01" });
        await using (var run = await client.StartRunAsync(new StartRunOptions { Tags = new Dictionary<string, string> { ["child"] = "yes" } }, Ct))
        {
            Assert.Equal("handedover01", run.RunId);
            Assert.False(run.OwnsRun);
            run.LogMetric("m", 3);
        }

        Assert.Empty(server.Updates);
        Assert.DoesNotContain(server.Server.LogEntries, e => e.RequestMessage.Path.EndsWith("runs/create", StringComparison.Ordinal));
        Assert.Single(server.MetricsOf("handedover01"));
        Assert.Equal([KeyValuePair.Create("child", "yes")], server.PairsOf("handedover01", "tags"));

        // Used once, as MLflow: the next run is a new one.
        await using var next = await client.StartRunAsync(cancellationToken: Ct);
        Assert.NotEqual("handedover01", next.RunId);
        Assert.True(next.OwnsRun);
    }

    [Fact]
    public async Task Environment_experiment_name_is_created_when_missing()
    {
        using var server = new FakeMlflowServer();
        using var client = server.CreateClient(environment: new Dictionary<string, string> { ["MLFLOW_EXPERIMENT_NAME"] = "from-env" });
        await using var run = await client.StartRunAsync(cancellationToken: Ct);
        Assert.Equal("2", run.ExperimentId);
        Assert.Contains(server.Server.LogEntries, e => e.RequestMessage.Path.EndsWith("experiments/create", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Conflicting_experiment_variables_are_refused()
    {
        using var server = new FakeMlflowServer();
        using var client = server.CreateClient(environment: new Dictionary<string, string> { ["MLFLOW_EXPERIMENT_NAME"] = "a", ["MLFLOW_EXPERIMENT_ID"] = "0" });
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => client.StartRunAsync(cancellationToken: Ct));
        Assert.Contains("MLFLOW_EXPERIMENT_ID", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_generated_run_name_looks_like_MLflows()
    {
        using var server = new FakeMlflowServer();
        using var client = server.CreateClient();
        await using var run = await client.StartRunAsync(cancellationToken: Ct);
        Assert.Matches(new Regex("^[a-z]+-[a-z]+-[0-9]{1,3}$"), run.Info.RunName);
        Assert.Equal(run.Info.RunName, server.TagsOf(run.RunId)["mlflow.runName"]);
    }

    [Fact]
    public async Task Logging_calls_validate_at_once()
    {
        using var server = new FakeMlflowServer();
        using var client = server.CreateClient();
        await using var run = await client.StartRunAsync(cancellationToken: Ct);

        Assert.Throws<ArgumentException>(() => run.LogMetric("bad//key", 1));
        Assert.Throws<ArgumentNullException>(() => run.LogMetric(null!, 1));
        Assert.Throws<ArgumentException>(() => run.LogParam("p", new string('x', 6001)));
        Assert.Throws<ArgumentException>(() => run.SetTag("t?", "v"));
        Assert.Throws<ArgumentException>(() => run.LogMetrics(new Dictionary<string, double> { ["ok"] = 1, ["not ok!"] = 2 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => run.LogMetric("m", 1, timestamp: DateTimeOffset.UnixEpoch.AddDays(-1)));
        await Assert.ThrowsAsync<ArgumentException>(() => client.StartRunAsync(new StartRunOptions { Tags = new Dictionary<string, string> { ["a/"] = "b" } }, Ct));
        await run.FlushAsync(Ct);
        Assert.Empty(server.Batches);
    }

    [Fact]
    public async Task LogParams_reads_dictionaries_and_public_properties()
    {
        using var server = new FakeMlflowServer();
        using var client = server.CreateClient();
        string runId;
        await using (var run = await client.StartRunAsync(cancellationToken: Ct))
        {
            runId = run.RunId;
            run.LogParams(new { learning_rate = 0.1, epochs = 20, shuffle = true, optimizer = "sgd" });
            run.LogParams(new Dictionary<string, int> { ["batch_size"] = 32 });
            run.LogParams(new Dictionary<string, string> { ["seed"] = "7" });
        }

        var parameters = server.PairsOf(runId, "params").ToDictionary();
        Assert.Equal("0.1", parameters["learning_rate"]);
        Assert.Equal("20", parameters["epochs"]);
        Assert.Equal("True", parameters["shuffle"]);
        Assert.Equal("sgd", parameters["optimizer"]);
        Assert.Equal("32", parameters["batch_size"]);
        Assert.Equal("7", parameters["seed"]);
    }

    [Fact]
    public async Task FlushActiveRunsAsync_flushes_every_active_run_of_the_client()
    {
        using var server = new FakeMlflowServer();
        using var client = server.CreateClient(o => o.Logging.FlushInterval = TimeSpan.FromHours(1));
        await using var a = await client.StartRunAsync(new StartRunOptions { Nested = false }, Ct);
        await using var b = await client.StartRunAsync(new StartRunOptions { Nested = false }, Ct);
        a.LogMetric("m", 1);
        b.LogMetric("m", 2);

        await client.FlushActiveRunsAsync(Ct);

        Assert.Single(server.MetricsOf(a.RunId));
        Assert.Single(server.MetricsOf(b.RunId));
    }
}
