using MLOpsDemo.Mlflow.IntegrationTests.Infrastructure;
using MLOpsDemo.Mlflow.Projects;

namespace MLOpsDemo.Mlflow.IntegrationTests;

/// <summary>
/// End to end against a real MLflow server (2.x or 3.x): the fluent run scope with its background pipeline and run
/// artifacts, sync from a local mlflow.db to the server, and an MLflow project run by the local backend.
/// </summary>
public class FluentSyncProjectsScenarioTests(MlflowServerFixture server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [DockerFact]
    public async Task Fluent_run_logs_through_the_pipeline_nests_and_stores_artifacts()
    {
        using var client = server.CreateClient();
        var experimentName = MlflowServerFixture.UniqueName("it-fluent");
        string parentId;
        string childId;
        await using (var parent = await client.StartRunAsync(new StartRunOptions { ExperimentName = experimentName, RunName = "parent", Description = "integration" }, Ct))
        {
            parentId = parent.RunId;
            parent.LogParams(new Dictionary<string, string> { ["lr"] = "0.01", ["epochs"] = "3" });
            for (var step = 0; step < 2500; step++)
            {
                parent.LogMetric("loss", 1.0 / (step + 1), step);
            }

            parent.LogMetric("nan_metric", double.NaN);
            await parent.LogTextAsync("hello from .NET", "notes/hello.txt", Ct);
            await using (var child = await client.StartRunAsync(new StartRunOptions { RunName = "child" }, Ct))
            {
                childId = child.RunId;
                child.LogMetric("accuracy", 0.9);
            }
        }

        var run = await client.Runs.GetAsync(parentId, Ct);
        Assert.Equal(RunStatus.Finished, run.Info.Status);
        Assert.Equal("integration", run.Data.Tags["mlflow.note.content"]);
        Assert.Equal("LOCAL", run.Data.Tags["mlflow.source.type"]);
        Assert.Equal("0.01", run.Data.Params["lr"]);
        Assert.True(double.IsNaN(run.Data.Metrics.Single(m => m.Key == "nan_metric").Value));
        var history = new List<Metric>();
        await foreach (var point in client.Runs.GetMetricHistoryAsync(parentId, "loss", cancellationToken: Ct))
        {
            history.Add(point);
        }

        Assert.Equal(Enumerable.Range(0, 2500).Select(i => (long)i), history.Select(m => m.Step).Order());
        Assert.Equal("hello from .NET", await client.Artifacts.ReadTextAsync(parentId, "notes/hello.txt", Ct));
        var childRun = await client.Runs.GetAsync(childId, Ct);
        Assert.Equal(parentId, childRun.Data.Tags["mlflow.parentRunId"]);
        Assert.Equal(RunStatus.Finished, childRun.Info.Status);
    }

    [DockerFact]
    public async Task Sync_uploads_a_local_database_to_the_server_once()
    {
        using var client = server.CreateClient();
        var folder = Directory.CreateTempSubdirectory("it-sync-");
        try
        {
            using var local = new MlflowClient(new MlflowClientOptions { TrackingUri = "sqlite:///" + Path.Combine(folder.FullName, "mlflow.db") });
            var experimentName = MlflowServerFixture.UniqueName("it-sync");
            var experimentId = await local.Experiments.CreateAsync(experimentName, artifactLocation: Path.Combine(folder.FullName, "artifacts"), cancellationToken: Ct);
            string localRunId;
            await using (var run = await local.StartRunAsync(new StartRunOptions { ExperimentId = experimentId, RunName = "offline" }, Ct))
            {
                localRunId = run.RunId;
                run.LogParam("alpha", 0.5);
                for (var step = 0; step < 10; step++)
                {
                    run.LogMetric("loss", 1.0 / (step + 1), step);
                }

                await run.LogTextAsync("offline artifact", "report.txt", Ct);
            }

            var first = await local.SyncAsync(client, cancellationToken: Ct);
            var second = await local.SyncAsync(client, cancellationToken: Ct);

            var remoteRunId = first.RunIdMap[localRunId];
            var remote = await client.Runs.GetAsync(remoteRunId, Ct);
            Assert.Equal("0.5", remote.Data.Params["alpha"]);
            Assert.Equal(RunStatus.Finished, remote.Info.Status);
            Assert.Equal("offline artifact", await client.Artifacts.ReadTextAsync(remoteRunId, "report.txt", Ct));
            Assert.Equal(0, second.RunsCopied);
            var remoteExperiment = await client.Experiments.GetByNameAsync(experimentName, Ct);
            var runs = new List<Run>();
            await foreach (var r in client.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = [remoteExperiment!.ExperimentId] }, Ct))
            {
                runs.Add(r);
            }

            Assert.Single(runs);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [DockerFact]
    public async Task Project_runs_with_the_local_backend_and_records_mlflow_run_tags()
    {
        Assert.SkipUnless(File.Exists("/bin/bash"), "The local backend needs /bin/bash.");
        using var client = server.CreateClient();
        var folder = Directory.CreateTempSubdirectory("it-project-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "MLproject"), """
                name: it-project
                entry_points:
                  main:
                    parameters:
                      alpha: {type: float, default: 0.1}
                    command: "echo run=$MLFLOW_RUN_ID alpha={alpha}"
                """, Ct);
            var lines = new List<string>();

            var result = await client.Projects.RunAsync(folder.FullName, new ProjectRunOptions
            {
                ExperimentName = MlflowServerFixture.UniqueName("it-projects"),
                Parameters = new Dictionary<string, string> { ["alpha"] = "0.3" },
                WriteOutputToConsole = false,
                OutputReceived = line => { lock (lines) { lines.Add(line.Text); } },
            }, Ct);

            Assert.Equal(RunStatus.Finished, result.Status);
            Assert.Contains($"run={result.RunId} alpha=0.3", lines);
            var run = await client.Runs.GetAsync(result.RunId, Ct);
            Assert.Equal("PROJECT", run.Data.Tags["mlflow.source.type"]);
            Assert.Equal("main", run.Data.Tags["mlflow.project.entryPoint"]);
            Assert.Equal("0.3", run.Data.Params["alpha"]);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
