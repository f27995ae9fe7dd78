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
/// and a pod that cannot be scheduled or cannot pull its image fails the run with the pod's reason. A watch that fails
/// (connection dropped, 5xx, stream cut mid-event) is resumed after a backoff by re-listing the Job and watching from the
/// list's resource version (a 410 Gone re-lists at once); after <c>maxWatchFailures</c> failures in a row the Job is
/// deleted and the run fails saying so.
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
    private readonly int _maxWatchFailures;
    private readonly TimeSpan _watchRetryDelay;
    private readonly string _maxWatchFailuresSource;
    private readonly string _container;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, Task> _logs = new(StringComparer.Ordinal);
    /// <summary>The longest wait between two watch attempts (unless the first delay is longer).</summary>
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, DateTimeOffset> _pendingSince = new(StringComparer.Ordinal);
    private readonly Task<ProjectExit> _completion;
    private int _status = (int)RunStatus.Scheduled;
    private int? _exitCode;

    public KubernetesJobExecution(IKubernetes client, ProjectLaunch launch, string jobName, string jobNamespace, string container, TimeProvider timeProvider, TimeSpan pollInterval, TimeSpan pendingTimeout, int maxWatchFailures, TimeSpan watchRetryDelay, string maxWatchFailuresSource)
    {
        _maxWatchFailuresSource = maxWatchFailuresSource;
        _maxWatchFailures = maxWatchFailures;
        _watchRetryDelay = watchRetryDelay;
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
            var relist = false;
            var failures = 0;
            Exception? lastError = null;
            KubernetesLog.Waiting(_launch.Logger, JobName);
            while (true)
            {
                if (failures > 0 && lastError is not null)
                {
                    if (failures >= _maxWatchFailures)
                    {
                        return await GiveUpAsync(failures, lastError).ConfigureAwait(false);
                    }

                    // A 410 Gone is routine (the resource version was compacted): re-list at once. Anything else waits.
                    if (!IsGone(lastError))
                    {
                        var delay = Backoff(failures);
                        KubernetesLog.WatchRetrying(_launch.Logger, JobName, failures, _maxWatchFailures, Describe(lastError), delay);
                        await Task.Delay(delay, _timeProvider, token).ConfigureAwait(false);
                    }
                }

                try
                {
                    if (relist)
                    {
                        // Re-list: the Job may have changed (or ended) while nobody watched; watch on from the list's version.
                        var list = await _client.BatchV1.ListNamespacedJobAsync(Namespace, fieldSelector: "metadata.name=" + JobName, cancellationToken: token).ConfigureAwait(false);
                        if (list.Items?.FirstOrDefault() is not { } current)
                        {
                            return new ProjectExit(false, Reason: $"The Job {Namespace}/{JobName} was deleted before it ended.");
                        }

                        if (Observe(current) is { } endedMeanwhile)
                        {
                            return await FinishAsync(endedMeanwhile, token).ConfigureAwait(false);
                        }

                        resourceVersion = list.Metadata?.ResourceVersion ?? current.Metadata?.ResourceVersion;
                        relist = false;
                    }

                    var started = _timeProvider.GetTimestamp();
                    var events = 0;
                    Exception? streamError = null;
                    var watch = _client.BatchV1.WatchListNamespacedJobAsync(
                        Namespace,
                        fieldSelector: "metadata.name=" + JobName,
                        resourceVersion: resourceVersion,
                        timeoutSeconds: Math.Max(1, (int)Math.Ceiling(_pollInterval.TotalSeconds)),
                        onError: e => streamError ??= e,
                        cancellationToken: token);
                    await foreach (var (type, job) in watch.ConfigureAwait(false))
                    {
                        events++;
                        failures = 0;
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

                    // The client reports ERROR events (e.g. 410 Gone) and unreadable lines (a stream cut mid-event) here.
                    if (streamError is not null)
                    {
                        throw new WatchStreamException(streamError);
                    }

                    if (await CheckPodsAsync(token).ConfigureAwait(false) is { } stuck)
                    {
                        KubernetesLog.PodStuck(_launch.Logger, JobName, stuck);
                        await DeleteJobAsync(CancellationToken.None).ConfigureAwait(false);
                        return new ProjectExit(false, Reason: stuck);
                    }

                    failures = 0;

                    // A watch window that ended early without news (a proxy closing streams) must not spin.
                    if (events == 0 && _timeProvider.GetElapsedTime(started) < _pollInterval)
                    {
                        await Task.Delay(_pollInterval, _timeProvider, token).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (!token.IsCancellationRequested && IsRetryable(ex))
                {
                    failures++;
                    lastError = ex is WatchStreamException { InnerException: { } inner } ? inner : ex;
                    relist = true;
                    if (IsGone(lastError))
                    {
                        KubernetesLog.WatchGone(_launch.Logger, JobName);
                    }
                }
                catch (HttpOperationException ex) when (!token.IsCancellationRequested)
                {
                    // Not transient (401, 403, 404…): retrying cannot help.
                    return await GiveUpAsync(failures + 1, ex, refused: true).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return new ProjectExit(false, Reason: "Cancelled: the Job was deleted.");
        }
    }

    /// <summary>The delay before retry <paramref name="failures"/>: the first delay, doubled each time, at most 30 s (or the first delay if larger).</summary>
    private TimeSpan Backoff(int failures)
    {
        var cap = _watchRetryDelay > MaxBackoff ? _watchRetryDelay : MaxBackoff;
        var factor = Math.Pow(2, Math.Min(failures - 1, 16));
        var delay = TimeSpan.FromTicks((long)Math.Min(_watchRetryDelay.Ticks * factor, cap.Ticks));
        return delay;
    }

    /// <summary>Ends the run's watch for good: deletes the Job (so that nothing runs untracked) and says what happened.</summary>
    private async Task<ProjectExit> GiveUpAsync(int failures, Exception lastError, bool refused = false)
    {
        var what = !refused
            ? $"watching it failed {failures} time{(failures == 1 ? "" : "s")} in a row ({_maxWatchFailuresSource}); last error: {Describe(lastError)}"
            : $"the API server refused to watch it: {Describe(lastError)}";
        string cleanup;
        try
        {
            await DeleteJobAsync(CancellationToken.None).ConfigureAwait(false);
            cleanup = "The Job was deleted (foreground propagation), so it does not go on running untracked.";
        }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException or IOException or KubernetesException or TimeoutException or OperationCanceledException)
        {
            cleanup = $"Deleting the Job failed too ({Describe(ex)}): it may still be running. Delete it with: kubectl delete job {JobName} -n {Namespace}";
        }

        var reason = $"Lost track of Job {Namespace}/{JobName}: {what}. {cleanup}";
        KubernetesLog.WatchLost(_launch.Logger, reason);
        return new ProjectExit(false, Reason: reason);
    }

    /// <summary>Errors a new watch may get past: transport, stream and server-side (5xx, 429, 408, 410) ones.</summary>
    private static bool IsRetryable(Exception ex) => ex switch
    {
        WatchStreamException => true,
        HttpOperationException http => IsRetryableStatus((int)http.Response.StatusCode),
        KubernetesException k8s => k8s.Status?.Code is not { } code || IsRetryableStatus(code),
        HttpRequestException or IOException or TimeoutException or System.Text.Json.JsonException => true,
        OperationCanceledException => true, // the HTTP client's own timeout (the monitor's token is checked by the caller)
        _ => false,
    };

    private static bool IsRetryableStatus(int status) => status is >= 500 or 408 or 410 or 429;

    private static bool IsGone(Exception ex) => ex switch
    {
        HttpOperationException http => http.Response.StatusCode == System.Net.HttpStatusCode.Gone,
        KubernetesException k8s => k8s.Status?.Code == 410,
        _ => false,
    };

    private static string Describe(Exception ex) => ex switch
    {
        HttpOperationException http => $"HTTP {(int)http.Response.StatusCode} {(http.Response.Content ?? "").Trim().Split('\n')[0]}",
        KubernetesException { Status: { } status } => $"watch ERROR event {status.Code} {status.Reason}: {status.Message}",
        _ => $"{ex.GetType().Name}: {ex.Message}",
    };

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

/// <summary>An error the watch client reported through its error callback (an ERROR event, an unreadable line).</summary>
internal sealed class WatchStreamException(Exception inner) : Exception(inner.Message, inner);

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

    [LoggerMessage(EventId = 7112, Level = LogLevel.Warning, Message = "Watching Job {JobName} failed ({Failures} of {MaxFailures} in a row: {Error}); re-listing and watching again in {Delay}.")]
    public static partial void WatchRetrying(ILogger logger, string jobName, int failures, int maxFailures, string error, TimeSpan delay);

    [LoggerMessage(EventId = 7113, Level = LogLevel.Information, Message = "The watch of Job {JobName} expired (410 Gone); re-listing.")]
    public static partial void WatchGone(ILogger logger, string jobName);

    [LoggerMessage(EventId = 7114, Level = LogLevel.Error, Message = "{Reason}")]
    public static partial void WatchLost(ILogger logger, string reason);

    [LoggerMessage(EventId = 7111, Level = LogLevel.Information, Message = "=== Building and pushing the project image {Repository} ===")]
    public static partial void Building(ILogger logger, string repository);
}
