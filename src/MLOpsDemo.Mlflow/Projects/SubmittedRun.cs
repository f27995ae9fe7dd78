using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace MLOpsDemo.Mlflow.Projects;

/// <summary>
/// A project run whose command is executing (MLflow's <c>SubmittedRun</c>). Returned by
/// <see cref="ProjectsClient.SubmitAsync"/>; wait for it with <see cref="WaitAsync"/> or stop it with
/// <see cref="CancelAsync"/>. The run's final status is set from the exit code when the command ends.
/// </summary>
public sealed class SubmittedRun
{
    private readonly object _gate = new();
    private readonly Process _process;
    private readonly RunsClient _runs;
    private readonly ProjectRunOptions _options;
    private readonly ILogger _logger;
    private readonly string? _temporaryDirectory;
    private readonly Task<ProjectRunResult> _completion;
    private readonly TaskCompletionSource _submitted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private static readonly object ConsoleGate = new();
    private bool _exited;
    private bool _killRequested;
    private int _status = (int)RunStatus.Running;

    internal SubmittedRun(Process process, string runId, string experimentId, string command, RunsClient runs, ProjectRunOptions options, ILogger logger, string? temporaryDirectory)
    {
        _process = process;
        RunId = runId;
        ExperimentId = experimentId;
        Command = command;
        _runs = runs;
        _options = options;
        _logger = logger;
        _temporaryDirectory = temporaryDirectory;
        var stdout = PumpAsync(process.StandardOutput, isError: false);
        var stderr = PumpAsync(process.StandardError, isError: true);
        _completion = CompleteAsync(stdout, stderr);
    }

    /// <summary>The run id.</summary>
    public string RunId { get; }

    /// <summary>The experiment id.</summary>
    public string ExperimentId { get; }

    /// <summary>The command line being run.</summary>
    public string Command { get; }

    /// <summary><see cref="RunStatus.Running"/> until the command ends, then <see cref="RunStatus.Finished"/>, <see cref="RunStatus.Failed"/> or <see cref="RunStatus.Killed"/>.</summary>
    public RunStatus Status => (RunStatus)Volatile.Read(ref _status);

    /// <summary>Waits until the command has ended and the run's status is recorded.</summary>
    /// <param name="cancellationToken">Stops waiting (the command keeps running; use <see cref="CancelAsync"/> to stop it).</param>
    /// <returns>The outcome.</returns>
    public Task<ProjectRunResult> WaitAsync(CancellationToken cancellationToken = default) => _completion.WaitAsync(cancellationToken);

    /// <summary>Kills the command's whole process tree and ends the run as <see cref="RunStatus.Killed"/>. Does nothing once the command has ended.</summary>
    /// <param name="cancellationToken">Stops waiting for the run to be recorded as killed.</param>
    /// <returns>The outcome.</returns>
    public Task<ProjectRunResult> CancelAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (!_exited && !_killRequested)
            {
                _killRequested = true;
                ProjectLog.Killing(_logger, RunId);
                CommandLine.KillTree(_process);
            }
        }

        return WaitAsync(cancellationToken);
    }

    /// <summary>Called once the submission has recorded everything it records; the final status is set afterwards.</summary>
    internal void MarkSubmitted() => _submitted.TrySetResult();

    private async Task<ProjectRunResult> CompleteAsync(Task stdout, Task stderr)
    {
        try
        {
            await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            bool killed;
            lock (_gate)
            {
                _exited = true;
                killed = _killRequested;
            }

            try
            {
                // A descendant that outlives the command may hold the pipes open; do not wait for it forever.
                await Task.WhenAll(stdout, stderr).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }

            // The submission's own requests (the backend tag) come first, as in MLflow.
            await _submitted.Task.ConfigureAwait(false);
            int? exitCode = killed ? null : _process.ExitCode;
            var status = killed ? RunStatus.Killed : exitCode == 0 ? RunStatus.Finished : RunStatus.Failed;
            Volatile.Write(ref _status, (int)status);
            var statusName = status.ToWire();
            ProjectLog.Ended(_logger, RunId, statusName, exitCode);
            await _runs.SetTerminatedAsync(RunId, status, cancellationToken: CancellationToken.None).ConfigureAwait(false);
            return new ProjectRunResult { RunId = RunId, ExperimentId = ExperimentId, Status = status, ExitCode = exitCode, Command = Command };
        }
        finally
        {
            _process.Dispose();
            if (_temporaryDirectory is not null)
            {
                ProjectFetcher.DeleteDirectory(_temporaryDirectory);
            }
        }
    }

    private async Task PumpAsync(StreamReader reader, bool isError)
    {
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            if (_options.WriteOutputToConsole)
            {
                lock (ConsoleGate)
                {
                    (isError ? Console.Error : Console.Out).WriteLine(line);
                }
            }

            if (isError)
            {
                ProjectLog.StandardError(_logger, line);
            }
            else
            {
                ProjectLog.StandardOutput(_logger, line);
            }

            if (_options.OutputReceived is { } callback)
            {
#pragma warning disable CA1031 // A failing user callback must not stop the output pump (the child would block on a full pipe).
                try
                {
                    callback(new ProjectOutputLine(line, isError));
                }
                catch (Exception ex)
                {
                    ProjectLog.CallbackFailed(_logger, ex);
                }
#pragma warning restore CA1031
            }
        }
    }
}

/// <summary>Log messages of the projects runner.</summary>
internal static partial class ProjectLog
{
    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "=== Running command '{Command}' in run with ID '{RunId}' ===")]
    public static partial void Running(ILogger logger, string command, string runId);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Information, Message = "{Line}")]
    public static partial void StandardOutput(ILogger logger, string line);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "{Line}")]
    public static partial void StandardError(ILogger logger, string line);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Information, Message = "=== Run (ID '{RunId}') ended: {Status} (exit code {ExitCode}) ===")]
    public static partial void Ended(ILogger logger, string runId, string status, int? exitCode);

    [LoggerMessage(EventId = 7005, Level = LogLevel.Warning, Message = "Project '{Project}' asks for a {Environment} environment ({File}); this client runs it in the current environment (env manager 'local'). Set ProjectRunOptions.FailOnUnsupportedEnvironment to fail instead.")]
    public static partial void UnsupportedEnvironment(ILogger logger, string project, string environment, string file);

    [LoggerMessage(EventId = 7006, Level = LogLevel.Information, Message = "=== Cancelling run with ID '{RunId}': killing the process tree ===")]
    public static partial void Killing(ILogger logger, string runId);

    [LoggerMessage(EventId = 7007, Level = LogLevel.Warning, Message = "The OutputReceived callback threw; the output keeps flowing.")]
    public static partial void CallbackFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 7008, Level = LogLevel.Information, Message = "=== Fetched project from {Uri} into {Directory} ===")]
    public static partial void Fetched(ILogger logger, string uri, string directory);
}
