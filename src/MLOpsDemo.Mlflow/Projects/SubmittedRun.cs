using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace MLOpsDemo.Mlflow.Projects;

/// <summary>
/// A project run whose command is executing (MLflow's <c>SubmittedRun</c>), on any <see cref="ProjectBackend"/>.
/// Returned by <see cref="ProjectsClient.SubmitAsync"/>; wait for it with <see cref="WaitAsync"/> or stop it with
/// <see cref="CancelAsync"/>. The run's final status is set when the command ends: <see cref="RunStatus.Finished"/>
/// on success, <see cref="RunStatus.Failed"/> otherwise, <see cref="RunStatus.Killed"/> after a cancel.
/// </summary>
public sealed class SubmittedRun
{
    private readonly object _gate = new();
    private readonly ProjectExecution _execution;
    private readonly RunsClient _runs;
    private readonly ILogger _logger;
    private readonly string? _temporaryDirectory;
    private readonly Task<ProjectRunResult> _completion;
    private readonly TaskCompletionSource _submitted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _exited;
    private bool _killRequested;
    private int _status;

    internal SubmittedRun(ProjectExecution execution, string runId, string experimentId, string command, RunsClient runs, ILogger logger, string? temporaryDirectory)
    {
        _execution = execution;
        RunId = runId;
        ExperimentId = experimentId;
        Command = command;
        _runs = runs;
        _logger = logger;
        _temporaryDirectory = temporaryDirectory;
        _completion = CompleteAsync();
    }

    /// <summary>The run id.</summary>
    public string RunId { get; }

    /// <summary>The experiment id.</summary>
    public string ExperimentId { get; }

    /// <summary>The command line being run.</summary>
    public string Command { get; }

    /// <summary>
    /// <see cref="RunStatus.Scheduled"/> (a backend that queues, such as Kubernetes, before the command starts) or
    /// <see cref="RunStatus.Running"/> until the command ends, then <see cref="RunStatus.Finished"/>,
    /// <see cref="RunStatus.Failed"/> or <see cref="RunStatus.Killed"/>.
    /// </summary>
    public RunStatus Status => Volatile.Read(ref _status) is var ended and not 0 ? (RunStatus)ended : _execution.Status;

    /// <summary>Waits until the command has ended and the run's status is recorded.</summary>
    /// <param name="cancellationToken">Stops waiting (the command keeps running; use <see cref="CancelAsync"/> to stop it).</param>
    /// <returns>The outcome.</returns>
    public Task<ProjectRunResult> WaitAsync(CancellationToken cancellationToken = default) => _completion.WaitAsync(cancellationToken);

    /// <summary>
    /// Stops the command (the local backend kills its whole process tree; Kubernetes deletes the Job) and ends the run
    /// as <see cref="RunStatus.Killed"/>. Does nothing once the command has ended.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting for the run to be recorded as killed.</param>
    /// <returns>The outcome.</returns>
    public async Task<ProjectRunResult> CancelAsync(CancellationToken cancellationToken = default)
    {
        bool stop;
        lock (_gate)
        {
            stop = !_exited && !_killRequested;
            _killRequested = true;
        }

        if (stop)
        {
            ProjectLog.Killing(_logger, RunId);
            try
            {
                await _execution.StopAsync(cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                lock (_gate)
                {
                    _killRequested = false;
                }

                throw;
            }
        }

        return await WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Called once the submission has recorded everything it records; the final status is set afterwards.</summary>
    internal void MarkSubmitted() => _submitted.TrySetResult();

    private async Task<ProjectRunResult> CompleteAsync()
    {
        try
        {
            ProjectExit exit;
            try
            {
                exit = await _execution.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Whatever broke the wait, the run must still be ended.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                exit = new ProjectExit(false, Reason: ex.Message);
            }

            bool killed;
            lock (_gate)
            {
                _exited = true;
                killed = _killRequested;
            }

            // The submission's own requests (the backend tag) come first, as in MLflow.
            await _submitted.Task.ConfigureAwait(false);
            int? exitCode = killed ? null : exit.ExitCode;
            var status = killed ? RunStatus.Killed : exit.Succeeded ? RunStatus.Finished : RunStatus.Failed;
            Volatile.Write(ref _status, (int)status);
            var statusName = status.ToWire();
            ProjectLog.Ended(_logger, RunId, statusName, exitCode);
            if (!killed && exit.Reason is { } reason)
            {
                ProjectLog.FailureReason(_logger, RunId, reason);
            }

            await _runs.SetTerminatedAsync(RunId, status, cancellationToken: CancellationToken.None).ConfigureAwait(false);
            return new ProjectRunResult
            {
                RunId = RunId,
                ExperimentId = ExperimentId,
                Status = status,
                ExitCode = exitCode,
                Command = Command,
                FailureReason = killed ? null : exit.Reason,
            };
        }
        finally
        {
            if (_temporaryDirectory is not null)
            {
                ProjectFetcher.DeleteDirectory(_temporaryDirectory);
            }
        }
    }
}

/// <summary>The local backend's execution: the command as a child process whose output is pumped line by line.</summary>
internal sealed class ProcessExecution : ProjectExecution
{
    private readonly Process _process;
    private readonly Task _stdout;
    private readonly Task _stderr;

    public ProcessExecution(Process process, ProjectOutput output)
    {
        _process = process;
        _stdout = PumpAsync(process.StandardOutput, isError: false, output);
        _stderr = PumpAsync(process.StandardError, isError: true, output);
    }

    public override async Task<ProjectExit> WaitForExitAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                // A descendant that outlives the command may hold the pipes open; do not wait for it forever.
                await Task.WhenAll(_stdout, _stderr).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }

            var exitCode = _process.ExitCode;
            return new ProjectExit(exitCode == 0, exitCode);
        }
        finally
        {
            _process.Dispose();
        }
    }

    public override Task StopAsync(CancellationToken cancellationToken = default)
    {
        CommandLine.KillTree(_process);
        return Task.CompletedTask;
    }

    private static async Task PumpAsync(StreamReader reader, bool isError, ProjectOutput output)
    {
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            output.Write(new ProjectOutputLine(line, isError));
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

    [LoggerMessage(EventId = 7006, Level = LogLevel.Information, Message = "=== Cancelling run with ID '{RunId}' ===")]
    public static partial void Killing(ILogger logger, string runId);

    [LoggerMessage(EventId = 7007, Level = LogLevel.Warning, Message = "The OutputReceived callback threw; the output keeps flowing.")]
    public static partial void CallbackFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 7008, Level = LogLevel.Information, Message = "=== Fetched project from {Uri} into {Directory} ===")]
    public static partial void Fetched(ILogger logger, string uri, string directory);

    [LoggerMessage(EventId = 7009, Level = LogLevel.Warning, Message = "=== Run (ID '{RunId}') failed: {Reason} ===")]
    public static partial void FailureReason(ILogger logger, string runId, string reason);

    [LoggerMessage(EventId = 7010, Level = LogLevel.Error, Message = "=== The {Backend} backend could not start run with ID '{RunId}' ({Error}); the run is ended FAILED ===")]
    public static partial void StartFailed(ILogger logger, string backend, string runId, string error);
}
