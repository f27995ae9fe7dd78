using System.Collections.Concurrent;

namespace MLOpsDemo.Mlflow;

public partial class MlflowClient
{
    private static readonly ConcurrentDictionary<MlflowRun, byte> s_liveRuns = new();
    private static int s_processExitHooked;

    /// <summary>
    /// Flushes the buffered data of every active run of this client (used on application shutdown). Runs stay active.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when everything buffered was sent or failed.</returns>
    /// <exception cref="MlflowException">Points of some run could not be stored.</exception>
    public virtual Task FlushActiveRunsAsync(CancellationToken cancellationToken = default)
    {
        var flushes = new List<Task>();
        foreach (var run in s_liveRuns.Keys)
        {
            if (ReferenceEquals(run.Client, this) && !run.IsEnded)
            {
                flushes.Add(run.FlushAsync(cancellationToken));
            }
        }

        return Task.WhenAll(flushes);
    }

    internal static void Register(MlflowRun run)
    {
        s_liveRuns.TryAdd(run, 0);
        if (Interlocked.Exchange(ref s_processExitHooked, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit += static (_, _) => FlushOnExit();
        }
    }

    internal static void Unregister(MlflowRun run) => s_liveRuns.TryRemove(run, out _);

    /// <summary>Best effort on process exit: sends what every live run has buffered, within the longest <c>ShutdownFlushTimeout</c>.</summary>
    internal static void FlushOnExit()
    {
        var runs = s_liveRuns.Keys.ToList();
        if (runs.Count == 0)
        {
            return;
        }

        var timeout = runs.Max(r => r.Client.Options.Logging.ShutdownFlushTimeout);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            // A process-exit handler is synchronous: blocking here, bounded by the timeout, is the only option.
            Task.WhenAll(runs.Select(r => r.FlushPendingAsync(cts.Token))).Wait(timeout);
        }
#pragma warning disable CA1031 // Best effort while the process exits.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}
