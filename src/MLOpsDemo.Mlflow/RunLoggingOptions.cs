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
    /// <summary>How many points (metrics, params, tags) one run buffers before logging applies <see cref="FullMode"/>. Default 100,000.</summary>
    public int BufferCapacity { get; set; } = 100_000;

    /// <summary>The longest time a point waits in the buffer before it is sent. Default 1 s.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>What a logging call does when the buffer is full. Default <see cref="BufferFullMode.Wait"/>.</summary>
    public BufferFullMode FullMode { get; set; } = BufferFullMode.Wait;

    /// <summary>How long pending points may take to flush when the process exits. Default 10 s.</summary>
    public TimeSpan ShutdownFlushTimeout { get; set; } = TimeSpan.FromSeconds(10);

    internal void Validate()
    {
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
    }
}
