namespace MLOpsDemo.Mlflow;

/// <summary>Describes points that the background pipeline of an <see cref="MlflowRun"/> could not store.</summary>
public sealed class MlflowLoggingFailedEventArgs : EventArgs
{
    internal MlflowLoggingFailedEventArgs(string runId, int metrics, int parameters, int tags, Exception exception)
    {
        RunId = runId;
        Metrics = metrics;
        Params = parameters;
        Tags = tags;
        Exception = exception;
    }

    /// <summary>The run the points belonged to.</summary>
    public string RunId { get; }

    /// <summary>How many metric points were not stored.</summary>
    public int Metrics { get; }

    /// <summary>How many params were not stored.</summary>
    public int Params { get; }

    /// <summary>How many tags were not stored.</summary>
    public int Tags { get; }

    /// <summary>All points that were not stored.</summary>
    public int Total => Metrics + Params + Tags;

    /// <summary>Why: usually an <see cref="MlflowException"/> with the server's status and message.</summary>
    public Exception Exception { get; }
}
