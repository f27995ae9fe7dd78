namespace MLOpsDemo.Mlflow;

/// <summary>What logging does when the in-memory buffer of an active run is full.</summary>
public enum BufferFullMode
{
    /// <summary>The logging call waits until there is room (backpressure). The default.</summary>
    Wait = 0,

    /// <summary>The logging call throws an <see cref="InvalidOperationException"/> at once.</summary>
    Throw = 1,
}

/// <summary>Settings of the background pipeline that batches the metrics, params and tags of active runs.</summary>
public sealed class RunLoggingOptions
{
    /// <summary>
    /// How many points (metrics, params, tags) one run buffers before logging applies <see cref="FullMode"/>, besides
    /// the batch being filled and the <see cref="MaxConcurrentBatches"/> batches being sent (up to 1000 points each to a
    /// server, up to 20,000 to the local store, where a batch is one SQLite transaction).
    /// Default 100,000.
    /// </summary>
    public int BufferCapacity { get; set; } = 100_000;

    /// <summary>The longest time a point waits in the buffer before it is sent. Default 1 s.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>What a logging call does when the buffer is full. Default <see cref="BufferFullMode.Wait"/>.</summary>
    public BufferFullMode FullMode { get; set; } = BufferFullMode.Wait;

    /// <summary>
    /// How many log-batch requests may be in flight at once, for all the runs of one client together: concurrent runs
    /// (a sweep) take the slots in turn, first come, first served, so none starves and the server sees no more requests
    /// than for one run. Default 8, chosen by measurement (the sweep of <c>compare.sh</c>: the best rate on a 4-worker
    /// server, as good as 4 on a 1-worker one); read when the client's first run starts logging. Batches of metrics only go out in
    /// parallel (a multi-worker server stores them concurrently; MLflow orders a metric's history by step and
    /// timestamp, not by arrival). Batches with params or tags go out one after the other, each only after the
    /// previous one was stored or given up, so a tag set twice ends with its last value. 1 sends one batch at a time.
    /// </summary>
    public int MaxConcurrentBatches { get; set; } = DefaultMaxConcurrentBatches;

    /// <summary>How long pending points may take to flush when the process exits. Default 10 s.</summary>
    public TimeSpan ShutdownFlushTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The first wait before a batch that failed transiently (HTTP 408/429/5xx or a transport error, after the HTTP
    /// retries) is sent again; it doubles on each further failure up to <see cref="MaxRetryBackoff"/>. Default 1 s.
    /// The points stay buffered meanwhile.
    /// </summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between two sends of a batch that keeps failing transiently. Default 30 s.</summary>
    public TimeSpan MaxRetryBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a batch may keep failing transiently before it is given up and reported as not stored (like a
    /// permanent failure). Default 10 minutes; <see cref="Timeout.InfiniteTimeSpan"/> retries for ever.
    /// </summary>
    public TimeSpan RetryTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The default of <see cref="MaxConcurrentBatches"/>.</summary>
    internal const int DefaultMaxConcurrentBatches = 8;

    /// <summary>The largest accepted <see cref="MaxConcurrentBatches"/>.</summary>
    internal const int MaxMaxConcurrentBatches = 64;

    internal void Validate()
    {
        if (MaxConcurrentBatches is < 1 or > MaxMaxConcurrentBatches)
        {
            throw new ArgumentException($"MlflowClientOptions.Logging.MaxConcurrentBatches must be between 1 and {MaxMaxConcurrentBatches}; it is {MaxConcurrentBatches}. Use 1 to send one batch at a time.", nameof(MaxConcurrentBatches));
        }

        if (BufferCapacity < 1)
        {
            throw new ArgumentException($"MlflowClientOptions.Logging.BufferCapacity must be at least 1; it is {BufferCapacity}.", nameof(BufferCapacity));
        }

        if (FlushInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException($"MlflowClientOptions.Logging.FlushInterval must be positive; it is {FlushInterval}.", nameof(FlushInterval));
        }

        if (ShutdownFlushTimeout < TimeSpan.Zero)
        {
            throw new ArgumentException("MlflowClientOptions.Logging.ShutdownFlushTimeout must not be negative.", nameof(ShutdownFlushTimeout));
        }

        if (RetryBackoff < TimeSpan.Zero || MaxRetryBackoff < RetryBackoff)
        {
            throw new ArgumentException($"MlflowClientOptions.Logging.RetryBackoff must not be negative and MaxRetryBackoff must be at least RetryBackoff; they are {RetryBackoff} and {MaxRetryBackoff}.", nameof(RetryBackoff));
        }

        if (RetryTimeout < TimeSpan.Zero && RetryTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException($"MlflowClientOptions.Logging.RetryTimeout must not be negative (or Timeout.InfiniteTimeSpan); it is {RetryTimeout}.", nameof(RetryTimeout));
        }
    }
}
