using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using MLOpsDemo.Mlflow.Internal;

namespace MLOpsDemo.Mlflow.Fluent;

/// <summary>
/// The background pipeline of one run: a bounded channel of <see cref="LogPoint"/>s and one loop that coalesces them
/// into log-batch requests and hands each to a sender task, with up to <see cref="RunLoggingOptions.MaxConcurrentBatches"/>
/// in flight for the whole client (<see cref="LogBatchSlots"/>: its runs take the slots in turn). Metric-only batches go in parallel; batches with params or tags go one after the other, in order.
/// Transient failures keep the batch and retry it with backoff (its slot stays taken, so an unreachable server fills
/// the buffer and logging waits); permanent ones drop it and record the loss once.
/// </summary>
internal sealed class RunLogger
{
    private const int MaxCachedKeys = 10_000;
    private const int RecentKeySlots = 16;

    /// <summary>Loggers whose loop is running, for the queue-depth instrument.</summary>
    private static readonly ConcurrentDictionary<RunLogger, byte> s_live = new();

    private readonly MlflowClient _client;
    private readonly string _runId;
    private readonly RunLoggingOptions _options;
    private readonly TimeProvider _time;
    private readonly Channel<LogPoint> _channel;
    private readonly ChannelWriter<LogPoint> _writer;
    private readonly Action<MlflowLoggingFailedEventArgs> _onFailure;
    private readonly ConcurrentDictionary<string, int> _metricKeyCosts = new(StringComparer.Ordinal);
    private readonly KeyCost?[] _recentKeys = new KeyCost?[RecentKeySlots];
    private readonly object _lossLock = new();
    private readonly Task _loop;
    private readonly object _roomLock = new();
    private int _blockedWriters;
    private int _cachedKeyCount;
    private int _lostMetrics;
    private int _lostParams;
    private int _lostTags;
    private Exception? _lastLossCause;
    private readonly int _maxInFlight;
    private readonly ConcurrentBag<LogBatchBuilder> _spareBuilders = new();
    private readonly List<Task> _inFlight = new(); // the loop's own: batches dispatched and maybe not yet finished
    private Task _orderedTail = Task.CompletedTask; // the loop's own: the last batch with params or tags
    private volatile bool _completed;
    private int _building; // points in the batch being filled (written by the loop only)
    private int _sending; // points in dispatched batches not yet stored or given up

    public RunLogger(MlflowClient client, string runId, Action<MlflowLoggingFailedEventArgs> onFailure)
    {
        _client = client;
        _runId = runId;
        _options = client.Options.Logging;
        _time = client.Options.TimeProvider;
        _onFailure = onFailure;
        _channel = Channel.CreateBounded<LogPoint>(new BoundedChannelOptions(_options.BufferCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
            AllowSynchronousContinuations = false,
        });
        _writer = _channel.Writer;
        _maxInFlight = _options.MaxConcurrentBatches;
        s_live.TryAdd(this, 0);
        GC.KeepAlive(Diagnostics.MlflowInstruments.QueueDepth); // creates the instruments, so listeners see the depth from the first run on
        _loop = Task.Run(RunLoopAsync);
    }

    /// <summary>How many items are buffered and not yet taken by the sender.</summary>
    public int Pending => _channel.Reader.Count;

    /// <summary>Points buffered, in the batch being filled or in batches being sent (read by the queue-depth instrument when it is collected).</summary>
    public long Backlog => _channel.Reader.Count + Volatile.Read(ref _building) + Volatile.Read(ref _sending);

    /// <summary>The <see cref="Backlog"/> of every running logger of the process.</summary>
    public static long TotalBacklog()
    {
        long total = 0;
        foreach (var logger in s_live.Keys)
        {
            total += logger.Backlog;
        }

        return total;
    }

    /// <summary>
    /// Validates a metric key once (then remembers it) and returns its JSON cost. A tiny identity-keyed cache in
    /// front of the dictionary makes the common case (the same literal keys in a loop) a few nanoseconds.
    /// </summary>
    public int MetricKeyCost(string key)
    {
        if (key is not null)
        {
            var slot = RuntimeHelpers.GetHashCode(key) & (RecentKeySlots - 1);
            if (_recentKeys[slot] is { } recent && ReferenceEquals(recent.Key, key))
            {
                return recent.Cost;
            }

            if (_metricKeyCosts.TryGetValue(key, out var known))
            {
                _recentKeys[slot] = new KeyCost(key, known);
                return known;
            }
        }

        MlflowValidation.ValidateKey(key, "metric", nameof(key));
        var cost = LogBatchBuilder.JsonCost(key!) + LogBatchBuilder.MetricOverhead;
        if (Volatile.Read(ref _cachedKeyCount) < MaxCachedKeys && _metricKeyCosts.TryAdd(key!, cost))
        {
            Interlocked.Increment(ref _cachedKeyCount);
        }

        return cost;
    }

    /// <summary>Queues a point: at once when there is room, else as <see cref="RunLoggingOptions.FullMode"/> says.</summary>
    public void Enqueue(in LogPoint point)
    {
        if (!_writer.TryWrite(point))
        {
            EnqueueSlow(point);
        }
    }

    private void EnqueueSlow(LogPoint point)
    {
        if (_completed)
        {
            throw new InvalidOperationException($"The run {_runId} has ended; nothing more can be logged to it.");
        }

        if (_options.FullMode == BufferFullMode.Throw)
        {
            throw new InvalidOperationException(
                $"The logging buffer of run {_runId} is full ({_options.BufferCapacity} points) because the server is not keeping up or is unreachable. Log less often, raise MlflowClientOptions.Logging.BufferCapacity, or use BufferFullMode.Wait.");
        }

        // Backpressure: the logging call blocks (a plain monitor wait, no sync-over-async) until the sender has
        // taken points out of the buffer; the sender never needs the blocked thread. Waking once per batch taken,
        // not once per point, keeps a producer that outpaces the server cheap.
        lock (_roomLock)
        {
            while (!_writer.TryWrite(point))
            {
                if (_completed)
                {
                    throw new InvalidOperationException($"The run {_runId} has ended; nothing more can be logged to it.");
                }

                _blockedWriters++;
                try
                {
                    Monitor.Wait(_roomLock, 100);
                }
                finally
                {
                    _blockedWriters--;
                }
            }
        }
    }

    /// <summary>Wakes logging calls that wait for room (called by the sender after it took points, and on completion).</summary>
    private void SignalRoom()
    {
        if (Volatile.Read(ref _blockedWriters) > 0)
        {
            lock (_roomLock)
            {
                Monitor.PulseAll(_roomLock);
            }
        }
    }

    /// <summary>Completes when everything queued before the call has been sent (or given up).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        var request = new FlushRequest();
        bool queued;
        try
        {
            queued = _writer.TryWrite(new LogPoint(PointKind.Flush, null, request, 0, 0, 0, 0));
            if (!queued && !_completed)
            {
                await _writer.WriteAsync(new LogPoint(PointKind.Flush, null, request, 0, 0, 0, 0), cancellationToken).ConfigureAwait(false);
                queued = true;
            }
        }
        catch (ChannelClosedException)
        {
            queued = false;
        }

        await (queued ? request.Task : _loop).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops accepting points and waits until everything buffered was sent (or given up).</summary>
    public Task CompleteAsync()
    {
        _completed = true;
        _writer.TryComplete();
        SignalRoom();
        return _loop;
    }

    /// <summary>Returns (and forgets) an exception describing the points lost since the last call, if any.</summary>
    public MlflowException? TakeLossError()
    {
        lock (_lossLock)
        {
            var total = _lostMetrics + _lostParams + _lostTags;
            if (total == 0)
            {
                return null;
            }

            // The report keeps the cause's HTTP status and MLflow error code, so callers can branch on ErrorCode.
            var cause = _lastLossCause as MlflowException;
            var error = new MlflowException(
                $"{total} point(s) logged to run {_runId} were not stored ({_lostMetrics} metric(s), {_lostParams} param(s), {_lostTags} tag(s)): {_lastLossCause?.Message}",
                cause?.StatusCode ?? default,
                cause?.ErrorCode,
                _lastLossCause);
            _lostMetrics = _lostParams = _lostTags = 0;
            _lastLossCause = null;
            return error;
        }
    }

    private async Task RunLoopAsync()
    {
        try
        {
            await RunLoopCoreAsync().ConfigureAwait(false);
        }
        finally
        {
            s_live.TryRemove(this, out _);
        }
    }

    private async Task RunLoopCoreAsync()
    {
        var reader = _channel.Reader;
        var batch = RentBuilder();
        var interval = _options.FlushInterval;
        long batchStarted = 0;
        try
        {
            while (true)
            {
                while (reader.TryRead(out var point))
                {
                    if (point.Kind == PointKind.Flush)
                    {
                        batch = await DispatchAsync(batch).ConfigureAwait(false);
                        CompleteAfterInFlight((FlushRequest)point.Payload!);
                        continue;
                    }

                    if (batch.Count == 0)
                    {
                        batchStarted = _time.GetTimestamp();
                    }

                    if (!batch.TryAdd(point))
                    {
                        batch = await DispatchAsync(batch).ConfigureAwait(false);
                        batchStarted = _time.GetTimestamp();
                        batch.TryAdd(point);
                    }

                    Volatile.Write(ref _building, batch.Count);

                    if (batch.IsFull)
                    {
                        batch = await DispatchAsync(batch).ConfigureAwait(false);
                    }
                }

                SignalRoom();
                if (batch.Count == 0)
                {
                    if (!await reader.WaitToReadAsync().ConfigureAwait(false))
                    {
                        return;
                    }

                    continue;
                }

                var remaining = interval - _time.GetElapsedTime(batchStarted);
                if (remaining <= TimeSpan.Zero)
                {
                    batch = await DispatchAsync(batch).ConfigureAwait(false);
                    continue;
                }

                bool more;
                using (var timeout = new CancellationTokenSource(remaining, _time))
                {
                    try
                    {
                        more = await reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (timeout.IsCancellationRequested)
                    {
                        batch = await DispatchAsync(batch).ConfigureAwait(false);
                        continue;
                    }
                }

                if (!more)
                {
                    await DispatchAsync(batch).ConfigureAwait(false);
                    return;
                }
            }
        }
        finally
        {
            // Everything dispatched is stored or given up before the loop's task completes (end of run, disposal).
            await Task.WhenAll(_inFlight).ConfigureAwait(false);
        }
    }

    private LogBatchBuilder RentBuilder() => _spareBuilders.TryTake(out var builder) ? builder : new LogBatchBuilder(_client.Store.MetricsPerBatch);

    /// <summary>
    /// Hands a filled batch to a sender task once one of the <see cref="RunLoggingOptions.MaxConcurrentBatches"/>
    /// slots of the run and then one of the client's (shared in turn with its other runs) is free (the loop waits here while every slot is busy, so the buffer fills and backpressure applies),
    /// and returns an empty builder for the next points. A batch with params or tags is sent only after the previous
    /// such batch was stored or given up; metric-only batches do not wait for anything but a slot.
    /// </summary>
    private async ValueTask<LogBatchBuilder> DispatchAsync(LogBatchBuilder batch)
    {
        if (batch.Count == 0)
        {
            return batch;
        }

        SignalRoom();
        _inFlight.RemoveAll(static t => t.IsCompleted);
        while (_inFlight.Count >= _maxInFlight)
        {
            await Task.WhenAny(_inFlight).ConfigureAwait(false);
            _inFlight.RemoveAll(static t => t.IsCompleted);
        }

        // Then one of the client's slots, shared in turn with its other runs; released when the batch is stored or given up.
        await _client.LogBatchSlots.EnterAsync().ConfigureAwait(false);

        var count = batch.Count;
        Interlocked.Add(ref _sending, count);
        Volatile.Write(ref _building, 0);
        var ordered = batch.Params.Count + batch.Tags.Count > 0;
        var previous = ordered ? _orderedTail : Task.CompletedTask;
        var task = Task.Run(() => SendAndReleaseAsync(batch, count, previous));
        if (ordered)
        {
            _orderedTail = task;
        }

        _inFlight.Add(task);
        return RentBuilder();
    }

    private async Task SendAndReleaseAsync(LogBatchBuilder batch, int count, Task previous)
    {
        try
        {
            await previous.ConfigureAwait(false); // never faults: senders catch everything
            await SendAsync(batch).ConfigureAwait(false);
        }
        finally
        {
            _client.LogBatchSlots.Release();
            batch.Clear();
            _spareBuilders.Add(batch);
            Interlocked.Add(ref _sending, -count);
        }
    }

    /// <summary>Completes a flush request once every batch dispatched so far is stored or given up.</summary>
    private void CompleteAfterInFlight(FlushRequest request)
    {
        _inFlight.RemoveAll(static t => t.IsCompleted);
        if (_inFlight.Count == 0)
        {
            request.Complete();
            return;
        }

        _ = Task.WhenAll(_inFlight).ContinueWith(static (_, state) => ((FlushRequest)state!).Complete(), request, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task SendAsync(LogBatchBuilder batch)
    {
        var count = batch.Count;
        Diagnostics.MlflowInstruments.RecordQueued(count);
        var backoff = _options.RetryBackoff;
        long? firstFailure = null;
        while (true)
        {
            try
            {
                _client.ThrowIfDisposed();
                await _client.Store.LogBatchAsync(_runId, batch.Metrics, batch.Params, batch.Tags, CancellationToken.None).ConfigureAwait(false);
                Diagnostics.MlflowInstruments.RecordSent(count);
                return;
            }
            catch (Exception ex) when (IsTransient(ex) && !GaveUp(ref firstFailure))
            {
                await Task.Delay(backoff, _time).ConfigureAwait(false);
                var doubled = backoff + backoff;
                backoff = doubled > _options.MaxRetryBackoff ? _options.MaxRetryBackoff : doubled;
            }
            catch (Exception ex)
            {
                Diagnostics.MlflowInstruments.RecordFailed(count);
                RecordLoss(batch, ex);
                return;
            }
        }
    }

    private bool GaveUp(ref long? firstFailure)
    {
        firstFailure ??= _time.GetTimestamp();
        return _options.RetryTimeout != Timeout.InfiniteTimeSpan && _time.GetElapsedTime(firstFailure.Value) >= _options.RetryTimeout;
    }

    private void RecordLoss(LogBatchBuilder batch, Exception ex)
    {
        lock (_lossLock)
        {
            _lostMetrics += batch.Metrics.Count;
            _lostParams += batch.Params.Count;
            _lostTags += batch.Tags.Count;
            _lastLossCause = ex;
        }

        try
        {
            _onFailure(new MlflowLoggingFailedEventArgs(_runId, batch.Metrics.Count, batch.Params.Count, batch.Tags.Count, ex));
        }
#pragma warning disable CA1031 // An event handler's failure must not stop the pipeline.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>Failures after which the server certainly or probably did not store the batch and a later try may work.</summary>
    internal static bool IsTransient(Exception ex) => ex switch
    {
        MlflowException { StatusCode: HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests } => true,
        MlflowException m => (int)m.StatusCode >= 500 && m.InnerException is not System.Text.Json.JsonException,
        HttpRequestException or IOException or TimeoutException or Polly.Timeout.TimeoutRejectedException or TaskCanceledException => true,
        _ => false,
    };
}

/// <summary>A validated metric key and its JSON cost (immutable, so a racy read of a cache slot is safe).</summary>
internal sealed record KeyCost(string Key, int Cost);
