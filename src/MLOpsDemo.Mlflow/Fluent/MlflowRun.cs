using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using MLOpsDemo.Mlflow.Fluent;
using MLOpsDemo.Mlflow.Internal;

namespace MLOpsDemo.Mlflow;

/// <summary>
/// An active run started by <see cref="MlflowClient.StartRunAsync(StartRunOptions?, CancellationToken)"/>: the C#
/// equivalent of Python's <c>with mlflow.start_run() as run:</c>. Logging calls validate their arguments at once,
/// queue the data and return; a background loop sends it in log-batch requests. Disposing flushes and ends the run
/// <see cref="RunStatus.Finished"/>. Thread-safe: any number of tasks may log to one run concurrently.
/// </summary>
public sealed partial class MlflowRun : IAsyncDisposable
{
    private static readonly AsyncLocal<RunSlot?> s_current = new();

    private readonly RunLogger _logger;
    private readonly TimeProvider _time;
    private readonly bool _truncate;
    private readonly object _endLock = new();
    private Task<MlflowException?>? _endTask;
    private RunSlot? _slot;
    private volatile bool _ending;

    internal MlflowRun(MlflowClient client, RunInfo info, bool ownsRun, string? parentRunId)
    {
        Client = client;
        Info = info;
        OwnsRun = ownsRun;
        ParentRunId = parentRunId;
        _time = client.Options.TimeProvider;
        _truncate = client.Options.TruncateLongValues;
        _logger = new RunLogger(client, info.RunId, args => LoggingFailed?.Invoke(this, args));
    }

    /// <summary>
    /// Raised on the pipeline's thread when a batch could not be stored (a permanent error such as HTTP 400, or a
    /// transient one that outlasted <see cref="RunLoggingOptions.RetryTimeout"/>). The next
    /// <see cref="FlushAsync"/>, <see cref="EndAsync"/> or <see cref="DisposeAsync"/> also throws.
    /// </summary>
    public event EventHandler<MlflowLoggingFailedEventArgs>? LoggingFailed;

    /// <summary>
    /// The innermost run that is active in the current async flow (of any client), or <see langword="null"/>. It flows
    /// into code after <c>await</c> and into child tasks; independent tasks do not see each other's runs.
    /// </summary>
    public static MlflowRun? Current => Find(null);

    /// <summary>The client the run logs through.</summary>
    public MlflowClient Client { get; }

    /// <summary>The run id.</summary>
    public string RunId => Info.RunId;

    /// <summary>The experiment id.</summary>
    public string ExperimentId => Info.ExperimentId;

    /// <summary>The run's metadata: as created (or resumed), then as ended.</summary>
    public RunInfo Info { get; private set; }

    /// <summary>The parent run id when the run is nested, else <see langword="null"/>.</summary>
    public string? ParentRunId { get; }

    /// <summary>
    /// Whether this object created the run and so ends it. <see langword="false"/> for a run resumed through
    /// <see cref="StartRunOptions.RunId"/> or <c>MLFLOW_RUN_ID</c>: ending only flushes it.
    /// </summary>
    public bool OwnsRun { get; }

    /// <summary>Whether <see cref="EndAsync"/> or <see cref="DisposeAsync"/> was called.</summary>
    public bool IsEnded => _ending;

    /// <summary>How many points are waiting in the buffer (not yet taken by the sender).</summary>
    public int PendingCount => _logger.Pending;

    /// <summary>Queues one metric point.</summary>
    /// <param name="key">The metric key (letters, digits, <c>_ - . : /</c> and spaces; at most 250 characters).</param>
    /// <param name="value">The value; NaN and ±Infinity are allowed.</param>
    /// <param name="step">The step (default 0, as MLflow).</param>
    /// <param name="timestamp">The time; <see langword="null"/> means now.</param>
    /// <exception cref="ArgumentException">The key is invalid.</exception>
    /// <exception cref="InvalidOperationException">The run has ended, or the buffer is full and <see cref="BufferFullMode.Throw"/> is set.</exception>
    public void LogMetric(string key, double value, long step = 0, DateTimeOffset? timestamp = null)
    {
        var cost = _logger.MetricKeyCost(key);
        _logger.Enqueue(new LogPoint(PointKind.Metric, key, null, value, Timestamp(timestamp), step, cost));
    }

    /// <summary>Queues several metric points with the same step and time (all validated first).</summary>
    /// <param name="metrics">Keys and values.</param>
    /// <param name="step">The step (default 0).</param>
    /// <param name="timestamp">The time; <see langword="null"/> means now.</param>
    public void LogMetrics(IEnumerable<KeyValuePair<string, double>> metrics, long step = 0, DateTimeOffset? timestamp = null)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var ts = Timestamp(timestamp);
        var points = new List<LogPoint>();
        foreach (var pair in metrics)
        {
            points.Add(new LogPoint(PointKind.Metric, pair.Key, null, pair.Value, ts, step, _logger.MetricKeyCost(pair.Key)));
        }

        foreach (var point in points)
        {
            _logger.Enqueue(point);
        }
    }

    /// <summary>
    /// Queues a param. The value is formatted as Python's <c>str()</c> would (<c>True</c>, <c>0.1</c>, <c>None</c>), so
    /// params read the same from both clients. Logging a key again with the same value is harmless.
    /// </summary>
    /// <param name="key">The param key.</param>
    /// <param name="value">The value (at most 6000 characters once formatted).</param>
    public void LogParam(string key, object? value)
    {
        var list = RunsClient.PrepareParams([new(key, MlflowValidation.FormatValue(value))], nameof(key), _truncate);
        EnqueuePairs(PointKind.Param, list);
    }

    /// <summary>Queues params from key/value pairs (each key once).</summary>
    /// <param name="parameters">The params.</param>
    public void LogParams(IEnumerable<KeyValuePair<string, string>> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        EnqueuePairs(PointKind.Param, RunsClient.PrepareParams(parameters, nameof(parameters), _truncate));
    }

    /// <summary>
    /// Queues params from a dictionary (any <see cref="IDictionary"/> or sequence of key/value pairs) or from the public
    /// readable properties of an object, e.g. <c>run.LogParams(new { learningRate = 0.1, epochs = 20 })</c> or a
    /// hyper-parameter record. Values are formatted as by <see cref="LogParam"/>. Trimming-safe: the properties of
    /// <typeparamref name="T"/> (the static type) are kept.
    /// </summary>
    /// <typeparam name="T">The type whose public properties are read.</typeparam>
    /// <param name="values">The dictionary or object.</param>
    public void LogParams<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] T>(T values)
    {
        ArgumentNullException.ThrowIfNull(values);
        IEnumerable<KeyValuePair<string, string>> pairs = values switch
        {
            IEnumerable<KeyValuePair<string, string>> strings => strings,
            IEnumerable<KeyValuePair<string, object?>> objects => objects.Select(p => KeyValuePair.Create(p.Key, MlflowValidation.FormatValue(p.Value))),
            IDictionary dictionary => FromDictionary(dictionary),
            _ => FromProperties(typeof(T), values),
        };
        EnqueuePairs(PointKind.Param, RunsClient.PrepareParams(pairs, nameof(values), _truncate));
    }

    /// <summary>Queues a tag (set or overwrite).</summary>
    /// <param name="key">The tag key.</param>
    /// <param name="value">The value (at most 8000 characters).</param>
    public void SetTag(string key, string value) =>
        EnqueuePairs(PointKind.Tag, RunsClient.PrepareTags([new(key, value)], nameof(key), _truncate));

    /// <summary>Queues several tags.</summary>
    /// <param name="tags">The tags.</param>
    public void SetTags(IEnumerable<KeyValuePair<string, string>> tags)
    {
        ArgumentNullException.ThrowIfNull(tags);
        EnqueuePairs(PointKind.Tag, RunsClient.PrepareTags(tags, nameof(tags), _truncate));
    }

    /// <summary>Records a dataset used by the run (sent at once, not buffered).</summary>
    /// <param name="dataset">The dataset.</param>
    /// <param name="context">The input's role, stored as the input tag <c>mlflow.data.context</c> (e.g. <c>training</c>), or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the input is stored.</returns>
    public Task LogInputAsync(Dataset dataset, string? context = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var tags = context is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["mlflow.data.context"] = context };
        return LogInputAsync(new DatasetInput { Dataset = dataset, Tags = tags }, cancellationToken);
    }

    /// <summary>Records a dataset input with its input tags (sent at once, not buffered).</summary>
    /// <param name="input">The dataset input.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the input is stored.</returns>
    public Task LogInputAsync(DatasetInput input, CancellationToken cancellationToken = default)
    {
        ThrowIfEnded();
        return Client.Runs.LogInputsAsync(RunId, [input], null, cancellationToken);
    }

    /// <summary>
    /// Waits until everything queued so far is sent. While the server is unreachable this waits (the points stay
    /// buffered); cancel the token to stop waiting.
    /// </summary>
    /// <param name="cancellationToken">Cancels the wait (not the sending).</param>
    /// <returns>A task that completes when the buffer was sent.</returns>
    /// <exception cref="MlflowException">Points could not be stored since the last report; the message says how many and why.</exception>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await _logger.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (_logger.TakeLossError() is { } error)
        {
            throw error;
        }
    }

    /// <summary>
    /// Flushes the buffer and ends the run with <paramref name="status"/> (a run resumed from <c>MLFLOW_RUN_ID</c> is
    /// only flushed). Calling it again, or disposing afterwards, does nothing more.
    /// </summary>
    /// <param name="status"><see cref="RunStatus.Finished"/>, <see cref="RunStatus.Failed"/> or <see cref="RunStatus.Killed"/>.</param>
    /// <param name="cancellationToken">Cancels the wait; the run is still flushed and ended in the background.</param>
    /// <returns>A task that completes when the run has ended.</returns>
    /// <exception cref="MlflowException">Points could not be stored (the run is ended all the same), or ending failed.</exception>
    public Task EndAsync(RunStatus status = RunStatus.Finished, CancellationToken cancellationToken = default)
    {
        if (status is not (RunStatus.Finished or RunStatus.Failed or RunStatus.Killed))
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "A run ends as Finished, Failed or Killed.");
        }

        var (task, started) = BeginEnd(status);
        return AwaitEndAsync(task, report: started, cancellationToken);
    }

    /// <summary>Flushes and ends the run <see cref="RunStatus.Finished"/>, unless it was ended already. Harmless to call twice.</summary>
    /// <returns>A task that completes when the run has ended.</returns>
    /// <exception cref="MlflowException">Points could not be stored since the last report (the run is ended all the same).</exception>
    public ValueTask DisposeAsync()
    {
        var (task, started) = BeginEnd(RunStatus.Finished);
        return new ValueTask(started ? AwaitEndAsync(task, report: true, CancellationToken.None) : IgnoreFailuresAsync(task));
    }

    /// <summary>Returns a description of the run.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => $"MlflowRun {{ RunId = {RunId}, ExperimentId = {ExperimentId}, Ended = {IsEnded} }}";

    internal void Attach(RunSlot slot) => _slot = slot;

    /// <summary>Starts the logging pipeline's flush for process exit or <see cref="MlflowClient.FlushActiveRunsAsync"/>.</summary>
    internal Task FlushPendingAsync(CancellationToken cancellationToken) => _logger.FlushAsync(cancellationToken);

    /// <summary>Makes a new scope the innermost of the current async flow (called synchronously in the caller's flow).</summary>
    internal static RunSlot Push()
    {
        var slot = new RunSlot(s_current.Value);
        s_current.Value = slot;
        return slot;
    }

    /// <summary>The innermost run of the flow that is not ended, of <paramref name="client"/> (or of any client when null).</summary>
    internal static MlflowRun? Find(MlflowClient? client)
    {
        for (var slot = s_current.Value; slot is not null; slot = slot.Parent)
        {
            if (slot.Run is { IsEnded: false } run && (client is null || ReferenceEquals(run.Client, client)))
            {
                return run;
            }
        }

        return null;
    }

    private (Task<MlflowException?> Task, bool Started) BeginEnd(RunStatus status)
    {
        bool started;
        Task<MlflowException?> task;
        lock (_endLock)
        {
            started = _endTask is null;
            if (started)
            {
                _ending = true;
                _endTask = EndCoreAsync(status);
            }

            task = _endTask!;
        }

        // Leave the scope in the caller's flow (this method runs synchronously there).
        if (_slot is not null && ReferenceEquals(s_current.Value, _slot))
        {
            s_current.Value = _slot.Parent;
        }

        return (task, started);
    }

    private async Task<MlflowException?> EndCoreAsync(RunStatus status)
    {
        try
        {
            await _logger.CompleteAsync().ConfigureAwait(false);
        }
        finally
        {
            MlflowClient.Unregister(this);
        }

        if (OwnsRun)
        {
            Info = await Client.Runs.SetTerminatedAsync(RunId, status, cancellationToken: CancellationToken.None).ConfigureAwait(false);
        }

        return _logger.TakeLossError();
    }

    private static async Task AwaitEndAsync(Task<MlflowException?> task, bool report, CancellationToken cancellationToken)
    {
        var error = await task.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (report && error is not null)
        {
            throw error;
        }
    }

    private static async Task IgnoreFailuresAsync(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Reported already by the EndAsync call that started the end.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private long Timestamp(DateTimeOffset? timestamp)
    {
        if (timestamp is { } t)
        {
            var ms = t.ToUnixTimeMilliseconds();
            MlflowValidation.ValidateTimestamp(ms, nameof(timestamp));
            return ms;
        }

        return ReferenceEquals(_time, TimeProvider.System)
            ? (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMillisecond
            : _time.GetUtcNow().ToUnixTimeMilliseconds();
    }

    private void EnqueuePairs(PointKind kind, List<KeyValuePair<string, string>> pairs)
    {
        ThrowIfEnded();
        foreach (var pair in pairs)
        {
            var cost = LogBatchBuilder.JsonCost(pair.Key) + LogBatchBuilder.JsonCost(pair.Value) + LogBatchBuilder.PairOverhead;
            _logger.Enqueue(new LogPoint(kind, pair.Key, pair.Value, 0, 0, 0, cost));
        }
    }

    private void ThrowIfEnded()
    {
        if (_ending)
        {
            throw new InvalidOperationException($"The run {RunId} has ended; nothing more can be logged to it.");
        }
    }

    private static IEnumerable<KeyValuePair<string, string>> FromDictionary(IDictionary dictionary)
    {
        foreach (DictionaryEntry entry in dictionary)
        {
            yield return new(Convert.ToString(entry.Key, System.Globalization.CultureInfo.InvariantCulture) ?? "", MlflowValidation.FormatValue(entry.Value));
        }
    }

    private static List<KeyValuePair<string, string>> FromProperties([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] Type type, object values)
    {
        var result = new List<KeyValuePair<string, string>>();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.CanRead && property.GetIndexParameters().Length == 0 && property.GetMethod is { IsPublic: true })
            {
                result.Add(new(property.Name, MlflowValidation.FormatValue(property.GetValue(values))));
            }
        }

        if (result.Count == 0)
        {
            throw new ArgumentException($"{type.Name} has no public readable properties to log as params. Pass a dictionary or an object with properties.", nameof(values));
        }

        return result;
    }
}

/// <summary>One run scope of an async flow: its run (once created) and the enclosing scope.</summary>
internal sealed class RunSlot
{
    public RunSlot(RunSlot? parent) => Parent = parent;

    public RunSlot? Parent { get; }

    public MlflowRun? Run { get; set; }
}
