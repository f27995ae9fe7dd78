using System.Collections.Concurrent;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using MLOpsDemo.Mlflow.Projects;

namespace MLOpsDemo.Mlflow.Kubernetes;

/// <summary>
/// A project running as a Kubernetes Job (MLflow's <c>KubernetesSubmittedRun</c>). The Job is watched: SCHEDULED until
/// <c>status.startTime</c> is set, then RUNNING; a <c>Complete</c>/<c>Failed</c> condition with status <c>True</c>
/// ends it. Between watch windows the Job's pods are checked: the project container's log is streamed to the caller,
/// and a pod that cannot be scheduled or cannot pull its image fails the run with the pod's reason.
/// </summary>
#pragma warning disable CA1001 // _stop lives as long as the watch; it is cancelled, never needs disposing (no timer).
internal sealed class KubernetesJobExecution : ProjectExecution
#pragma warning restore CA1001
{
    /// <summary>Waiting reasons that never heal by themselves: fail at once.</summary>
    private static readonly HashSet<string> FatalReasons = new(StringComparer.Ordinal)
    {
        "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError", "CreateContainerError",
    };

    /// <summary>Waiting reasons that may heal (a registry hiccup, a scaling cluster): fail after the pending timeout.</summary>
    private static readonly HashSet<string> PendingReasons = new(StringComparer.Ordinal)
    {
        "ErrImagePull", "ImagePullBackOff", "Unschedulable",
    };

    private readonly IKubernetes _client;
    private readonly ProjectLaunch _launch;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _pollInterval;
    private readonly TimeSpan _pendingTimeout;
    private readonly string _container;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, Task> _logs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _pendingSince = new(StringComparer.Ordinal);
    private readonly Task<ProjectExit> _completion;
    private int _status = (int)RunStatus.Scheduled;
    private int? _exitCode;

    public KubernetesJobExecution(IKubernetes client, ProjectLaunch launch, string jobName, string jobNamespace, string container, TimeProvider timeProvider, TimeSpan pollInterval, TimeSpan pendingTimeout)
    {
        _client = client;
        _launch = launch;
        JobName = jobName;
        Namespace = jobNamespace;
        _container = container;
        _timeProvider = timeProvider;
        _pollInterval = pollInterval;
        _pendingTimeout = pendingTimeout;
        _completion = MonitorAsync();
        _ = _completion.ContinueWith(_ => _client.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public string JobName { get; }

    public string Namespace { get; }

    public override RunStatus Status => (RunStatus)Volatile.Read(ref _status);

    public override Task<ProjectExit> WaitForExitAsync(CancellationToken cancellationToken = default) => _completion.WaitAsync(cancellationToken);

    /// <summary>Deletes the Job with foreground propagation (its pods go first) and stops watching.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken = default)
    {
        KubernetesLog.Cancelling(_launch.Logger, JobName, Namespace);
        try
        {
            await DeleteJobAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectDisposedException) when (_completion.IsCompleted)
        {
            // The Job ended while the cancel was on its way.
        }

        await _stop.CancelAsync().ConfigureAwait(false);
    }

    private async Task DeleteJobAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _client.BatchV1.DeleteNamespacedJobAsync(JobName, Namespace, new V1DeleteOptions { PropagationPolicy = "Foreground" }, propagationPolicy: "Foreground", cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            // Already gone (ttlSecondsAfterFinished, or deleted by someone else).
        }
    }

    private async Task<ProjectExit> MonitorAsync()
    {
        await Task.Yield();
        var token = _stop.Token;
        try
        {
            string? resourceVersion = null;
            KubernetesLog.Waiting(_launch.Logger, JobName);
            while (true)
            {
                var started = _timeProvider.GetTimestamp();
                var events = 0;
                var watch = _client.BatchV1.WatchListNamespacedJobAsync(
                    Namespace,
                    fieldSelector: "metadata.name=" + JobName,
                    resourceVersion: resourceVersion,
                    timeoutSeconds: Math.Max(1, (int)Math.Ceiling(_pollInterval.TotalSeconds)),
                    cancellationToken: token);
                await foreach (var (type, job) in watch.ConfigureAwait(false))
                {
                    events++;
                    if (type == WatchEventType.Error)
                    {
                        // Usually "410 Gone": the resource version is too old; watch again from now.
                        resourceVersion = null;
                        break;
                    }

                    resourceVersion = job.Metadata?.ResourceVersion ?? resourceVersion;
                    if (type == WatchEventType.Deleted)
                    {
                        return new ProjectExit(false, Reason: $"The Job {Namespace}/{JobName} was deleted before it ended.");
                    }

                    if (Observe(job) is { } ended)
                    {
                        return await FinishAsync(ended, token).ConfigureAwait(false);
                    }
                }

                if (await CheckPodsAsync(token).ConfigureAwait(false) is { } stuck)
                {
                    KubernetesLog.PodStuck(_launch.Logger, JobName, stuck);
                    await DeleteJobAsync(CancellationToken.None).ConfigureAwait(false);
                    return new ProjectExit(false, Reason: stuck);
                }

                // A watch window that ended early without news (a proxy closing streams) must not spin.
                if (events == 0 && _timeProvider.GetElapsedTime(started) < _pollInterval)
                {
                    await Task.Delay(_pollInterval, _timeProvider, token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return new ProjectExit(false, Reason: "Cancelled: the Job was deleted.");
        }
    }

    /// <summary>MLflow's <c>_update_status</c>: the terminal outcome, or <see langword="null"/> while the Job runs.</summary>
    private ProjectExit? Observe(V1Job job)
    {
        var status = job.Status;
        if (status?.StartTime is not null && Interlocked.CompareExchange(ref _status, (int)RunStatus.Running, (int)RunStatus.Scheduled) == (int)RunStatus.Scheduled)
        {
            KubernetesLog.Started(_launch.Logger, JobName);
        }

        foreach (var condition in status?.Conditions ?? [])
        {
            if (!string.Equals(condition.Status, "True", StringComparison.Ordinal))
            {
                continue;
            }

            if (string.Equals(condition.Type, "Complete", StringComparison.Ordinal))
            {
                KubernetesLog.Condition(_launch.Logger, JobName, condition.Type, condition.Message ?? "");
                return new ProjectExit(true);
            }

            if (string.Equals(condition.Type, "Failed", StringComparison.Ordinal))
            {
                KubernetesLog.Condition(_launch.Logger, JobName, condition.Type, condition.Message ?? "");
                var reason = string.Join(": ", new[] { condition.Reason, condition.Message }.Where(s => !string.IsNullOrEmpty(s)));
                return new ProjectExit(false, Reason: reason.Length > 0 ? reason : "The Job failed.");
            }
        }

        return null;
    }

    /// <summary>Reads the exit code and lets the log streams drain before the run is ended.</summary>
    private async Task<ProjectExit> FinishAsync(ProjectExit ended, CancellationToken token)
    {
        try
        {
            await CheckPodsAsync(token).ConfigureAwait(false);
            await Task.WhenAll(_logs.Values).WaitAsync(TimeSpan.FromSeconds(10), _timeProvider, token).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        catch (HttpOperationException ex)
        {
            KubernetesLog.PodCheckFailed(_launch.Logger, JobName, ex.Message);
        }

        return ended with { ExitCode = _exitCode ?? ended.ExitCode };
    }

    /// <summary>Starts log streams of started pods, records exit codes; returns why a pod is stuck, if it is.</summary>
    private async Task<string?> CheckPodsAsync(CancellationToken token)
    {
        var pods = await _client.CoreV1.ListNamespacedPodAsync(Namespace, labelSelector: "job-name=" + JobName, cancellationToken: token).ConfigureAwait(false);
        var now = _timeProvider.GetUtcNow();
        foreach (var pod in pods.Items ?? [])
        {
            var podName = pod.Metadata?.Name;
            if (podName is null)
            {
                continue;
            }

            var main = pod.Status?.ContainerStatuses?.FirstOrDefault(c => string.Equals(c.Name, _container, StringComparison.Ordinal));
            if (main?.State?.Terminated is { } terminated)
            {
                _exitCode = terminated.ExitCode;
            }

            if (main?.State?.Running is not null || main?.State?.Terminated is not null)
            {
                _ = _logs.GetOrAdd(podName, name => StreamLogAsync(name, token));
            }

            var (reason, message) = WaitingReason(pod);
            if (reason is null)
            {
                _pendingSince.Remove(podName);
                continue;
            }

            var text = $"Pod {podName}: {reason}" + (string.IsNullOrEmpty(message) ? "" : ": " + message);
            if (FatalReasons.Contains(reason))
            {
                return text;
            }

            if (PendingReasons.Contains(reason))
            {
                if (!_pendingSince.TryGetValue(podName, out var since))
                {
                    _pendingSince[podName] = since = now;
                    KubernetesLog.PodPending(_launch.Logger, text, _pendingTimeout);
                }

                if (now - since >= _pendingTimeout)
                {
                    return $"{text} (still after {_pendingTimeout.TotalSeconds:0} s)";
                }
            }
        }

        return null;
    }

    private static (string? Reason, string? Message) WaitingReason(V1Pod pod)
    {
        foreach (var container in (pod.Status?.InitContainerStatuses ?? []).Concat(pod.Status?.ContainerStatuses ?? []))
        {
            if (container.State?.Waiting is { Reason: { Length: > 0 } reason } waiting && (FatalReasons.Contains(reason) || PendingReasons.Contains(reason)))
            {
                return (reason, waiting.Message);
            }
        }

        var scheduled = pod.Status?.Conditions?.FirstOrDefault(c => string.Equals(c.Type, "PodScheduled", StringComparison.Ordinal));
        return scheduled is { Status: "False", Reason: "Unschedulable" } ? ("Unschedulable", scheduled.Message) : (null, null);
    }

    private async Task StreamLogAsync(string podName, CancellationToken token)
    {
        try
        {
            using var stream = await _client.CoreV1.ReadNamespacedPodLogAsync(podName, Namespace, container: _container, follow: true, cancellationToken: token).ConfigureAwait(false);
            using var reader = new StreamReader(stream);
            while (await reader.ReadLineAsync(token).ConfigureAwait(false) is { } line)
            {
                _launch.WriteOutput(new ProjectOutputLine(line, false));
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is HttpOperationException or IOException or HttpRequestException)
        {
            KubernetesLog.LogStreamFailed(_launch.Logger, podName, ex.Message);
        }
    }
}

/// <summary>Log messages of the Kubernetes backend.</summary>
internal static partial class KubernetesLog
{
    [LoggerMessage(EventId = 7101, Level = LogLevel.Information, Message = "=== Creating Job {Namespace}/{JobName} (image {Image}) ===")]
    public static partial void Creating(ILogger logger, string @namespace, string jobName, string image);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Information, Message = "Waiting for Job {JobName} to start")]
    public static partial void Waiting(ILogger logger, string jobName);

    [LoggerMessage(EventId = 7103, Level = LogLevel.Information, Message = "Job {JobName} started.")]
    public static partial void Started(ILogger logger, string jobName);

    [LoggerMessage(EventId = 7104, Level = LogLevel.Information, Message = "Job {JobName}: {Condition}. {Message}")]
    public static partial void Condition(ILogger logger, string jobName, string condition, string message);

    [LoggerMessage(EventId = 7105, Level = LogLevel.Warning, Message = "{Reason}; the run fails if this lasts {Timeout}.")]
    public static partial void PodPending(ILogger logger, string reason, TimeSpan timeout);

    [LoggerMessage(EventId = 7106, Level = LogLevel.Error, Message = "Job {JobName} cannot run ({Reason}); deleting it.")]
    public static partial void PodStuck(ILogger logger, string jobName, string reason);

    [LoggerMessage(EventId = 7107, Level = LogLevel.Information, Message = "=== Cancelling: deleting Job {Namespace}/{JobName} (foreground propagation) ===")]
    public static partial void Cancelling(ILogger logger, string jobName, string @namespace);

    [LoggerMessage(EventId = 7108, Level = LogLevel.Warning, Message = "The log stream of pod {Pod} failed: {Error}")]
    public static partial void LogStreamFailed(ILogger logger, string pod, string error);

    [LoggerMessage(EventId = 7109, Level = LogLevel.Warning, Message = "Could not read the pods of Job {JobName}: {Error}")]
    public static partial void PodCheckFailed(ILogger logger, string jobName, string error);

    [LoggerMessage(EventId = 7110, Level = LogLevel.Information, Message = "No usable kubeconfig ({Error}); using the in-cluster configuration.")]
    public static partial void InCluster(ILogger logger, string error);

    [LoggerMessage(EventId = 7111, Level = LogLevel.Information, Message = "=== Building and pushing the project image {Repository} ===")]
    public static partial void Building(ILogger logger, string repository);
}
