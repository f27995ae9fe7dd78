using MLOpsDemo.Mlflow.Internal;

namespace MLOpsDemo.Mlflow.Fluent;

/// <summary>What a <see cref="LogPoint"/> carries.</summary>
internal enum PointKind : byte
{
    Metric = 0,
    Param = 1,
    Tag = 2,
    Flush = 3,
}

/// <summary>
/// One item of a run's buffer: a metric point, a param, a tag, or a flush marker. A struct, so that queuing a
/// metric allocates nothing (the channel stores items inline).
/// </summary>
internal readonly struct LogPoint
{
    public LogPoint(PointKind kind, string? key, object? payload, double value, long timestamp, long step, int cost)
    {
        Kind = kind;
        Key = key;
        Payload = payload;
        Value = value;
        Timestamp = timestamp;
        Step = step;
        Cost = cost;
    }

    /// <summary>The key (null for a flush marker).</summary>
    public string? Key { get; }

    /// <summary>The value of a param or tag (a string), or the <see cref="FlushRequest"/> of a flush marker.</summary>
    public object? Payload { get; }

    public double Value { get; }

    public long Timestamp { get; }

    public long Step { get; }

    /// <summary>An upper bound of the JSON bytes this item adds to a log-batch request.</summary>
    public int Cost { get; }

    public PointKind Kind { get; }
}

/// <summary>A flush marker's completion: set once everything queued before the marker was sent (or given up).</summary>
internal sealed class FlushRequest
{
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Task => _completion.Task;

    public void Complete() => _completion.TrySetResult();
}

/// <summary>
/// Accumulates points into one log-batch request within MLflow's limits: 1000 items, 1000 metrics, 100 params,
/// 100 tags and 1 MB of JSON. A param key appears once per batch (the server refuses a batch with the same param
/// twice); a tag key repeated in one batch keeps its last value. For the local store (no request to limit) a batch
/// holds more metrics and has no byte limit: each batch is one SQLite transaction, and fewer, larger ones write faster.
/// </summary>
internal sealed class LogBatchBuilder
{
    /// <summary>JSON bytes of the envelope: braces, <c>run_id</c>, the three array names.</summary>
    internal const int EnvelopeCost = 512;

    /// <summary>JSON bytes of one metric besides its key: value, timestamp, step, names and punctuation.</summary>
    internal const int MetricOverhead = 96;

    /// <summary>JSON bytes of one key/value pair besides the strings.</summary>
    internal const int PairOverhead = 32;

    private readonly Dictionary<string, int> _paramIndex = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _tagIndex = new(StringComparer.Ordinal);
    private readonly int _maxMetrics;
    private readonly int _maxItems;
    private readonly long _maxBytes;
    private long _bytes = EnvelopeCost;

    /// <summary>A builder within MLflow's REST limits.</summary>
    public LogBatchBuilder()
        : this(MlflowValidation.MaxBatchMetrics)
    {
    }

    /// <summary>
    /// A builder of up to <paramref name="maxMetrics"/> metrics: MLflow's REST limits when that is 1000 or less,
    /// else (the local store) that many metrics plus the params and tags, without a byte limit.
    /// </summary>
    public LogBatchBuilder(int maxMetrics)
    {
        var rest = maxMetrics <= MlflowValidation.MaxBatchMetrics;
        _maxMetrics = maxMetrics;
        _maxItems = rest ? MlflowValidation.MaxBatchItems : maxMetrics + MlflowValidation.MaxBatchParams + MlflowValidation.MaxBatchTags;
        _maxBytes = rest ? MlflowValidation.MaxBatchBytes : long.MaxValue;
        Metrics = new MetricPoints(maxMetrics);
    }

    /// <summary>The metric points, stored inline (a <see cref="Metric"/> object is only made if a store asks for one).</summary>
    public MetricPoints Metrics { get; }

    public List<KeyValuePair<string, string>> Params { get; } = new();

    public List<KeyValuePair<string, string>> Tags { get; } = new();

    public int Count => Metrics.Count + Params.Count + Tags.Count;

    public bool IsFull => Count >= _maxItems || Metrics.Count >= _maxMetrics;

    /// <summary>Adds a point; returns <see langword="false"/> when it does not fit and the batch must be sent first.</summary>
    public bool TryAdd(in LogPoint point)
    {
        if (Count >= _maxItems || (Count > 0 && _bytes + point.Cost > _maxBytes))
        {
            return false;
        }

        switch (point.Kind)
        {
            case PointKind.Metric:
                if (Metrics.Count >= _maxMetrics)
                {
                    return false;
                }

                Metrics.Add(new MetricPoint(point.Key!, point.Value, point.Timestamp, point.Step));
                break;
            case PointKind.Param:
                var value = (string)point.Payload!;
                if (_paramIndex.TryGetValue(point.Key!, out var p))
                {
                    // Same key and value: a no-op on the server, skip it. A different value goes to the next batch,
                    // where the server reports the conflict.
                    return Params[p].Value == value;
                }

                if (Params.Count >= MlflowValidation.MaxBatchParams)
                {
                    return false;
                }

                _paramIndex[point.Key!] = Params.Count;
                Params.Add(new(point.Key!, value));
                break;
            case PointKind.Tag:
                var text = (string)point.Payload!;
                if (_tagIndex.TryGetValue(point.Key!, out var t))
                {
                    Tags[t] = new(point.Key!, text);
                    _bytes += point.Cost;
                    return true;
                }

                if (Tags.Count >= MlflowValidation.MaxBatchTags)
                {
                    return false;
                }

                _tagIndex[point.Key!] = Tags.Count;
                Tags.Add(new(point.Key!, text));
                break;
            default:
                throw new InvalidOperationException($"A {point.Kind} item cannot be batched.");
        }

        _bytes += point.Cost;
        return true;
    }

    public void Clear()
    {
        Metrics.Clear();
        Params.Clear();
        Tags.Clear();
        _paramIndex.Clear();
        _tagIndex.Clear();
        _bytes = EnvelopeCost;
    }

    /// <summary>An upper bound of the JSON bytes of a string: 1 per plain ASCII character, 6 for anything the encoder may escape.</summary>
    public static int JsonCost(string value)
    {
        var cost = 0;
        foreach (var c in value)
        {
            cost += c is >= ' ' and < (char)0x7F and not ('"' or '\\' or '<' or '>' or '&' or '\'' or '+' or '`') ? 1 : 6;
        }

        return cost;
    }
}

/// <summary>One metric point of a batch, without the optional fields the fluent API never sets.</summary>
internal readonly record struct MetricPoint(string Key, double Value, long Timestamp, long Step);

/// <summary>
/// The metric points of a batch as an array of structs, reused from batch to batch. It is an
/// <see cref="IReadOnlyList{T}"/> of <see cref="Metric"/> for any store; the REST and SQLite stores read
/// <see cref="AsSpan"/> directly, so queuing and sending a point allocates nothing per point.
/// </summary>
internal sealed class MetricPoints : IReadOnlyList<Metric>
{
    private readonly MetricPoint[] _items;
    private int _count;

    public MetricPoints(int capacity) => _items = new MetricPoint[capacity];

    public int Count => _count;

    public Metric this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_count, nameof(index));
            var p = _items[index];
            return new Metric(p.Key, p.Value, p.Timestamp, p.Step);
        }
    }

    public ReadOnlySpan<MetricPoint> AsSpan() => _items.AsSpan(0, _count);

    public void Add(in MetricPoint point) => _items[_count++] = point;

    public void Clear()
    {
        Array.Clear(_items, 0, _count);
        _count = 0;
    }

    public IEnumerator<Metric> GetEnumerator()
    {
        for (var i = 0; i < _count; i++)
        {
            yield return this[i];
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
