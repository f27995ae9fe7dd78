namespace MLOpsDemo.Mlflow.Fluent;

/// <summary>
/// The log-batch requests in flight for all the runs of one client: <see cref="RunLoggingOptions.MaxConcurrentBatches"/>
/// slots, handed out first come, first served (<see cref="SemaphoreSlim"/> queues asynchronous waiters in order). Each
/// run's sender waits here for one slot at a time, so concurrent runs (a sweep) take turns instead of one run's batches
/// crowding out the others, and the server sees as many requests at once as for a single run.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable", Justification = "A SemaphoreSlim whose AvailableWaitHandle is never read holds no unmanaged resource, and senders may release their slot after the client is disposed.")]
internal sealed class LogBatchSlots
{
    private readonly SemaphoreSlim _slots;
    private int _waiting;

    public LogBatchSlots(int slots) => _slots = new SemaphoreSlim(slots, slots);

    /// <summary>Senders waiting for a slot (for tests and diagnostics).</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Waits for a free slot; pair every completed wait with one <see cref="Release"/>.</summary>
    public async ValueTask EnterAsync()
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            await _slots.WaitAsync().ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    /// <summary>Returns a slot taken by <see cref="EnterAsync"/>.</summary>
    public void Release() => _slots.Release();
}
