using MLOpsDemo.Mlflow.Projects;
using MLOpsDemo.Mlflow.Tests.Sqlite;

namespace MLOpsDemo.Mlflow.Tests.Projects;

/// <summary>The <see cref="ProjectBackend"/> extension point: the runner's order of events and the run's end, on the SQLite store.</summary>
public class ProjectBackendTests
{
    private sealed class RecordingBackend : ProjectBackend
    {
        public List<string> Events { get; } = [];

        public ProjectLaunch? Launch { get; private set; }

        public Exception? StartFailure { get; init; }

        public Exception? ValidationFailure { get; init; }

        public ManualExecution Execution { get; } = new();

        public override string Name => "recording";

        public override Task ValidateAsync(MlProject project, ProjectRunOptions options, CancellationToken cancellationToken = default)
        {
            Events.Add("validate " + project.Name);
            return ValidationFailure is null ? Task.CompletedTask : Task.FromException(ValidationFailure);
        }

        public override async Task<ProjectExecution> StartAsync(ProjectLaunch launch, CancellationToken cancellationToken = default)
        {
            Events.Add("start " + launch.Command);
            Launch = launch;
            await launch.SetTagAsync("backend.tag", "set", cancellationToken);
            launch.WriteOutput(new ProjectOutputLine("hello from the backend", false));
            return StartFailure is null ? Execution : throw StartFailure;
        }
    }

    private sealed class ManualExecution : ProjectExecution
    {
        public TaskCompletionSource<ProjectExit> Exit { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public RunStatus Current { get; set; } = RunStatus.Scheduled;

        public int Stops { get; private set; }

        public override RunStatus Status => Current;

        public override Task<ProjectExit> WaitForExitAsync(CancellationToken cancellationToken = default) => Exit.Task.WaitAsync(cancellationToken);

        public override Task StopAsync(CancellationToken cancellationToken = default)
        {
            Stops++;
            Exit.TrySetResult(new ProjectExit(false));
            return Task.CompletedTask;
        }
    }

    private static string Project(TempFolder folder)
    {
        var dir = Path.Combine(folder.Path, "p");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "MLproject"), "name: remote\nentry_points:\n  main:\n    parameters: {x: {type: string, default: 'a b'}}\n    command: \"train --x {x}\"\n");
        return dir;
    }

    [Fact]
    public async Task Backend_runs_the_rendered_command_in_a_tracked_run_and_its_exit_ends_the_run()
    {
        var ct = TestContext.Current.CancellationToken;
        using var folder = new TempFolder();
        using var client = folder.Client();
        var backend = new RecordingBackend();
        var output = new List<string>();

        var submitted = await client.Projects.SubmitAsync(Project(folder), new ProjectRunOptions
        {
            Backend = backend,
            ExperimentName = "remote",
            WriteOutputToConsole = false,
            OutputReceived = line => output.Add(line.Text),
        }, ct);

        Assert.Equal(["validate remote", "start train --x 'a b'"], backend.Events);
        Assert.Equal(RunStatus.Scheduled, submitted.Status); // from the execution while it runs
        var launch = backend.Launch!;
        Assert.Equal(submitted.RunId, launch.RunId);
        Assert.Equal(["MLFLOW_RUN_ID", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID"], launch.RunEnvironment.Keys);
        Assert.Equal("sqlite:///" + folder.DatabasePath, launch.RunEnvironment["MLFLOW_TRACKING_URI"]);
        Assert.Equal(["hello from the backend"], output);
        var running = await client.Runs.GetAsync(submitted.RunId, ct);
        Assert.Equal(RunStatus.Running, running.Info.Status);
        Assert.Equal("recording", running.Data.Tags["mlflow.project.backend"]);
        Assert.Equal("set", running.Data.Tags["backend.tag"]);
        Assert.Equal("PROJECT", running.Data.Tags["mlflow.source.type"]);
        Assert.Equal("'a b'", running.Data.Params["x"]);

        backend.Execution.Exit.SetResult(new ProjectExit(false, 7, "pod evicted"));
        var result = await submitted.WaitAsync(ct);

        Assert.Equal(RunStatus.Failed, result.Status);
        Assert.Equal(7, result.ExitCode);
        Assert.Equal("pod evicted", result.FailureReason);
        Assert.Equal(RunStatus.Failed, (await client.Runs.GetAsync(submitted.RunId, ct)).Info.Status);
    }

    [Fact]
    public async Task Cancel_stops_the_execution_once_and_ends_the_run_killed()
    {
        var ct = TestContext.Current.CancellationToken;
        using var folder = new TempFolder();
        using var client = folder.Client();
        var backend = new RecordingBackend();
        var submitted = await client.Projects.SubmitAsync(Project(folder), new ProjectRunOptions { Backend = backend, WriteOutputToConsole = false }, ct);

        var result = await submitted.CancelAsync(ct);
        await submitted.CancelAsync(ct);

        Assert.Equal(RunStatus.Killed, result.Status);
        Assert.Null(result.FailureReason);
        Assert.Equal(1, backend.Execution.Stops);
        Assert.Equal(RunStatus.Killed, (await client.Runs.GetAsync(submitted.RunId, ct)).Info.Status);
    }

    [Fact]
    public async Task Validation_failure_creates_no_run_and_start_failure_ends_the_run_failed()
    {
        var ct = TestContext.Current.CancellationToken;
        using var folder = new TempFolder();
        using var client = folder.Client();

        await Assert.ThrowsAsync<MlflowProjectException>(() => client.Projects.RunAsync(Project(folder), new ProjectRunOptions { Backend = new RecordingBackend { ValidationFailure = new MlflowProjectException("no") }, ExperimentName = "v" }, ct));
        Assert.Null(await client.Experiments.GetByNameAsync("v", ct));

        var ex = await Assert.ThrowsAsync<MlflowProjectException>(() => client.Projects.RunAsync(Project(folder), new ProjectRunOptions { Backend = new RecordingBackend { StartFailure = new MlflowProjectException("refused") }, ExperimentName = "s" }, ct));
        Assert.Equal("refused", ex.Message);
        var experiment = await client.Experiments.GetByNameAsync("s", ct);
        var runs = new List<Run>();
        await foreach (var run in client.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = [experiment!.ExperimentId] }, ct))
        {
            runs.Add(run);
        }

        Assert.Equal(RunStatus.Failed, Assert.Single(runs).Info.Status);
    }
}
