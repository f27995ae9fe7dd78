using Microsoft.Extensions.Logging;

namespace MLOpsDemo.Mlflow.Projects;

/// <summary>
/// Where a project's command runs (MLflow's <c>--backend</c>). <see cref="ProjectRunOptions.Backend"/> left
/// <see langword="null"/> runs it as a local process; other backends come in their own packages (e.g.
/// <c>KubernetesProjectBackend</c> in MLOpsDemo.Mlflow.Kubernetes). The projects runner does everything else the same
/// way for every backend: it loads the project, renders the command, creates the run with MLflow's project tags and
/// params, records <c>mlflow.project.backend</c> = <see cref="Name"/>, and ends the run from the
/// <see cref="ProjectExecution"/> the backend returns.
/// </summary>
public abstract class ProjectBackend
{
    /// <summary>The backend's name, recorded in the <c>mlflow.project.backend</c> tag (e.g. <c>kubernetes</c>).</summary>
    public abstract string Name { get; }

    /// <summary>
    /// Checks that the project can run on this backend, before any run is created. Throw
    /// <see cref="ArgumentException"/> for bad settings and <see cref="MlflowProjectException"/> for a project or
    /// environment the backend cannot run. The default accepts everything.
    /// </summary>
    /// <param name="project">The loaded project.</param>
    /// <param name="options">The run options.</param>
    /// <param name="cancellationToken">Cancels the check.</param>
    /// <returns>A task that completes when the project is accepted.</returns>
    public virtual Task ValidateAsync(MlProject project, ProjectRunOptions options, CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <summary>
    /// Starts the rendered command for the run described by <paramref name="launch"/> and returns without waiting for
    /// it. The run exists and carries its project tags and params; a failure here ends it <see cref="RunStatus.Failed"/>.
    /// </summary>
    /// <param name="launch">The run, the command and the ways to report back (tags, output lines).</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running command.</returns>
    public abstract Task<ProjectExecution> StartAsync(ProjectLaunch launch, CancellationToken cancellationToken = default);
}

/// <summary>
/// A command started by a <see cref="ProjectBackend"/>: a local process, a Kubernetes Job, … The
/// <see cref="SubmittedRun"/> wrapping it ends the MLflow run from <see cref="WaitForExitAsync"/>.
/// </summary>
public abstract class ProjectExecution
{
    /// <summary>
    /// The current status while the command has not ended: <see cref="RunStatus.Scheduled"/> (e.g. a Job whose pod has
    /// not started) or <see cref="RunStatus.Running"/>. The default is <see cref="RunStatus.Running"/>.
    /// </summary>
    public virtual RunStatus Status => RunStatus.Running;

    /// <summary>Waits until the command has ended (or <see cref="StopAsync"/> has stopped it) and returns how it ended.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>How the command ended.</returns>
    public abstract Task<ProjectExit> WaitForExitAsync(CancellationToken cancellationToken = default);

    /// <summary>Stops the command (kills the process tree, deletes the Job, …); <see cref="WaitForExitAsync"/> then returns.</summary>
    /// <param name="cancellationToken">Cancels the stop request.</param>
    /// <returns>A task that completes when the stop was requested.</returns>
    public abstract Task StopAsync(CancellationToken cancellationToken = default);
}

/// <summary>How a project's command ended.</summary>
/// <param name="Succeeded">Whether it succeeded (exit code 0, Job complete): the run ends <see cref="RunStatus.Finished"/>, otherwise <see cref="RunStatus.Failed"/>.</param>
/// <param name="ExitCode">The exit code, when one is known.</param>
/// <param name="Reason">Why it failed when that is known without an exit code (e.g. a pod's <c>ImagePullBackOff</c> message).</param>
public sealed record ProjectExit(bool Succeeded, int? ExitCode = null, string? Reason = null);

/// <summary>What a <see cref="ProjectBackend"/> gets to start a run's command.</summary>
public sealed class ProjectLaunch
{
    private readonly RunsClient _runs;
    private readonly ProjectOutput _output;

    internal ProjectLaunch(MlProject project, string entryPoint, string command, RunInfo run, string trackingUri, ProjectRunOptions options, ILogger logger, RunsClient runs, ProjectOutput output)
    {
        Project = project;
        EntryPoint = entryPoint;
        Command = command;
        RunId = run.RunId;
        ExperimentId = run.ExperimentId;
        TrackingUri = trackingUri;
        Options = options;
        Logger = logger;
        _runs = runs;
        _output = output;
        RunEnvironment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["MLFLOW_RUN_ID"] = RunId,
            ["MLFLOW_TRACKING_URI"] = trackingUri,
            ["MLFLOW_EXPERIMENT_ID"] = ExperimentId,
        };
    }

    /// <summary>The project.</summary>
    public MlProject Project { get; }

    /// <summary>The entry-point name as given (e.g. <c>main</c>).</summary>
    public string EntryPoint { get; }

    /// <summary>The rendered command line (parameters quoted for a POSIX shell, as <c>mlflow run</c> renders it).</summary>
    public string Command { get; }

    /// <summary>The run id.</summary>
    public string RunId { get; }

    /// <summary>The experiment id.</summary>
    public string ExperimentId { get; }

    /// <summary>The tracking URI the command should log to (absolute for local databases).</summary>
    public string TrackingUri { get; }

    /// <summary>
    /// <c>MLFLOW_RUN_ID</c>, <c>MLFLOW_TRACKING_URI</c> and <c>MLFLOW_EXPERIMENT_ID</c>, in that order (MLflow's
    /// <c>get_run_env_vars</c>). Credentials are not included: a remote backend should take them from its own secrets.
    /// </summary>
    public IReadOnlyDictionary<string, string> RunEnvironment { get; }

    /// <summary>The run options.</summary>
    public ProjectRunOptions Options { get; }

    /// <summary>The logger of the run (<see cref="ProjectRunOptions.Logger"/> or a null logger).</summary>
    public ILogger Logger { get; }

    /// <summary>Sets a tag on the run (e.g. <c>mlflow.docker.image.uri</c>).</summary>
    /// <param name="key">The tag key.</param>
    /// <param name="value">The tag value.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>A task that completes when the tag is recorded.</returns>
    public Task SetTagAsync(string key, string value, CancellationToken cancellationToken = default) => _runs.SetTagAsync(RunId, key, value, cancellationToken);

    /// <summary>
    /// Hands one output line of the command (a pod's log line, …) to the caller: the console when
    /// <see cref="ProjectRunOptions.WriteOutputToConsole"/>, the logger and <see cref="ProjectRunOptions.OutputReceived"/>.
    /// Thread-safe.
    /// </summary>
    /// <param name="line">The line.</param>
    public void WriteOutput(ProjectOutputLine line)
    {
        ArgumentNullException.ThrowIfNull(line);
        _output.Write(line);
    }
}

/// <summary>Delivers a command's output lines to the console, the logger and the caller's callback.</summary>
internal sealed class ProjectOutput(ProjectRunOptions options, ILogger logger)
{
    private static readonly object ConsoleGate = new();

    public void Write(ProjectOutputLine line)
    {
        if (options.WriteOutputToConsole)
        {
            lock (ConsoleGate)
            {
                (line.IsError ? Console.Error : Console.Out).WriteLine(line.Text);
            }
        }

        if (line.IsError)
        {
            ProjectLog.StandardError(logger, line.Text);
        }
        else
        {
            ProjectLog.StandardOutput(logger, line.Text);
        }

        if (options.OutputReceived is { } callback)
        {
#pragma warning disable CA1031 // A failing user callback must not stop the output (a child would block on a full pipe).
            try
            {
                callback(line);
            }
            catch (Exception ex)
            {
                ProjectLog.CallbackFailed(logger, ex);
            }
#pragma warning restore CA1031
        }
    }
}
