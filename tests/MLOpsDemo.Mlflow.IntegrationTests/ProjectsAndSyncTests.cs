using MLOpsDemo.Mlflow.IntegrationTests.Infrastructure;
using MLOpsDemo.Mlflow.Projects;

namespace MLOpsDemo.Mlflow.IntegrationTests;

/// <summary>
/// MLflow projects that fail or are cancelled, and a sync of a richer local store (nested runs, long histories,
/// special values, inputs, artifacts) run twice against a real server: the second run copies nothing.
/// </summary>
public sealed class ProjectsAndSyncTests(MlflowServerFixture server) : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("it-proj-sync-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _work.Delete(recursive: true);

    [DockerFact]
    public async Task A_project_whose_command_fails_ends_its_run_FAILED_and_a_cancelled_one_KILLED()
    {
        Assert.SkipUnless(File.Exists("/bin/bash"), "The local backend needs /bin/bash.");
        using var client = server.CreateClient();
        await File.WriteAllTextAsync(Path.Combine(_work.FullName, "MLproject"), """
            name: it-failing
            entry_points:
              main:
                command: "echo starting && exit 3"
              wait:
                command: "echo waiting && sleep 60"
            """, Ct);
        var experimentName = MlflowServerFixture.UniqueName("it-projects-fail");

        var failed = await client.Projects.RunAsync(_work.FullName, new ProjectRunOptions { ExperimentName = experimentName, WriteOutputToConsole = false }, Ct);
        Assert.Equal((RunStatus.Failed, 3), (failed.Status, failed.ExitCode));
        Assert.False(failed.Succeeded);
        Assert.Equal(RunStatus.Failed, (await client.Runs.GetAsync(failed.RunId, Ct)).Info.Status);

        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var submitted = await client.Projects.SubmitAsync(_work.FullName, new ProjectRunOptions
        {
            ExperimentName = experimentName,
            EntryPoint = "wait",
            WriteOutputToConsole = false,
            OutputReceived = line => { if (line.Text.Contains("waiting", StringComparison.Ordinal)) { started.TrySetResult(); } },
        }, Ct);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60), Ct);
        var cancelled = await submitted.CancelAsync(Ct);
        Assert.Equal(RunStatus.Killed, cancelled.Status);
        var killed = await client.Runs.GetAsync(cancelled.RunId, Ct);
        Assert.Equal((RunStatus.Killed, "wait"), (killed.Info.Status, killed.Data.Tags["mlflow.project.entryPoint"]));
    }

    [DockerFact]
    public async Task Sync_copies_nested_runs_histories_special_values_inputs_and_artifacts_once()
    {
        using var remote = server.CreateClient();
        using var local = new MlflowClient(new MlflowClientOptions { TrackingUri = "sqlite:///" + Path.Combine(_work.FullName, "mlflow.db") });
        var names = new[] { MlflowServerFixture.UniqueName("it-sync-a"), MlflowServerFixture.UniqueName("it-sync-b") };
        var localRuns = new List<string>();
        foreach (var name in names)
        {
            var experimentId = await local.Experiments.CreateAsync(name, Path.Combine(_work.FullName, "artifacts", name), new Dictionary<string, string> { ["origin"] = "laptop" }, Ct);
            await using var parent = await local.StartRunAsync(new StartRunOptions { ExperimentId = experimentId, RunName = "parent" }, Ct);
            localRuns.Add(parent.RunId);
            parent.LogParam("alpha", 0.5);
            for (var step = 0; step < 1500; step++)
            {
                parent.LogMetric("loss", 1.0 / (step + 1), step);
            }

            parent.LogMetric("special", double.NaN, 0);
            parent.LogMetric("special", double.PositiveInfinity, 1);
            parent.LogMetric("special", double.NegativeInfinity, 2);
            await parent.LogInputAsync(new Dataset { Name = "train", Digest = "abc", SourceType = "local", Source = """{"uri": "file:///train.csv"}""" }, "training", Ct);
            await parent.LogTextAsync("report " + name, "reports/summary.txt", Ct);
            await using var child = await local.StartRunAsync(new StartRunOptions { RunName = "child" }, Ct);
            localRuns.Add(child.RunId);
            child.LogMetric("acc", 0.9);
        }

        var first = await local.SyncAsync(remote, new SyncOptions { ExperimentNames = names }, cancellationToken: Ct);
        var second = await local.SyncAsync(remote, new SyncOptions { ExperimentNames = names }, cancellationToken: Ct);

        Assert.Equal((4, 0, 2), (first.RunsCopied, first.RunsSkipped, first.ExperimentsCreated));
        Assert.Equal((0, 4, 0), (second.RunsCopied, second.RunsSkipped, second.ExperimentsCreated));
        Assert.Equal(0, second.MetricPointsCopied);
        foreach (var (name, index) in names.Select((n, i) => (n, i)))
        {
            var experiment = await remote.Experiments.GetByNameAsync(name, Ct);
            Assert.Equal("laptop", experiment!.Tags["origin"]);
            var runs = await remote.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = [experiment.ExperimentId] }, Ct).ToListAsync(Ct);
            Assert.Equal(2, runs.Count);
            var parentId = first.RunIdMap[localRuns[index * 2]];
            var childId = first.RunIdMap[localRuns[(index * 2) + 1]];
            Assert.Equal(parentId, runs.Single(r => r.Info.RunId == childId).Data.Tags["mlflow.parentRunId"]);

            var history = await remote.Runs.GetMetricHistoryAsync(parentId, "loss", cancellationToken: Ct).ToListAsync(Ct);
            Assert.Equal(Enumerable.Range(0, 1500).Select(i => (long)i), history.Select(m => m.Step).Order());
            var special = (await remote.Runs.GetMetricHistoryAsync(parentId, "special", cancellationToken: Ct).ToListAsync(Ct)).OrderBy(m => m.Step).ToList();
            Assert.True(double.IsNaN(special[0].Value));
            // MLflow's SQL store keeps ±Infinity as ±double.MaxValue (a SQL column cannot hold Infinity); so does the copy.
            Assert.Equal([double.MaxValue, double.MinValue], special.Skip(1).Select(m => m.Value));
            var parent = runs.Single(r => r.Info.RunId == parentId);
            Assert.Equal("train", Assert.Single(parent.Inputs.DatasetInputs).Dataset.Name);
            Assert.Equal(RunStatus.Finished, parent.Info.Status);
            Assert.Equal("report " + name, await remote.Artifacts.ReadTextAsync(parentId, "reports/summary.txt", Ct));
        }
    }
}
