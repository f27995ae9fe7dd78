using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using MLOpsDemo.Mlflow.Fluent;

namespace MLOpsDemo.Mlflow.Rest;

/// <summary>
/// Writes a <c>runs/log-batch</c> body directly as UTF-8 JSON, in the exact shape MLflow expects, byte for byte what
/// <see cref="Utf8JsonWriter"/> with the default encoder writes: <c>{"run_id":…,"metrics":[{"key":…,"value":…,
/// "timestamp":…,"step":…}],"params":[…],"tags":[…]}</c>. The hot part (1000 metrics) is written by hand into a
/// pooled buffer: keys come escaped from a small cache, numbers are formatted in place, and the body goes to the
/// socket from the rented array (no copy, no large-object-heap allocation per batch).
/// </summary>
internal static class LogBatchJson
{
    private const int KeySlots = 64;
    private static readonly MediaTypeHeaderValue s_json = new("application/json");
    private static readonly EncodedKey?[] s_keys = new EncodedKey?[KeySlots];

    public static HttpContent Write(string runId, IReadOnlyList<Metric> metrics, IReadOnlyList<KeyValuePair<string, string>> parameters, IReadOnlyList<KeyValuePair<string, string>> tags)
    {
        var body = new Buffer(256 + (metrics.Count * 96));
        try
        {
            body.Append("{\"run_id\":"u8);
            body.AppendString(runId);
            if (metrics.Count > 0)
            {
                body.Append(",\"metrics\":["u8);
                if (metrics is MetricPoints points)
                {
                    var span = points.AsSpan();
                    for (var i = 0; i < span.Length; i++)
                    {
                        ref readonly var p = ref span[i];
                        WriteMetric(ref body, i, p.Key, p.Value, p.Timestamp, p.Step, null);
                    }
                }
                else
                {
                    for (var i = 0; i < metrics.Count; i++)
                    {
                        var m = metrics[i];
                        WriteMetric(ref body, i, m.Key, m.Value, m.Timestamp, m.Step, m.ModelId is null && m.DatasetName is null && m.DatasetDigest is null ? null : m);
                    }
                }

                body.Append((byte)']');
            }

            WritePairs(ref body, ",\"params\":["u8, parameters);
            WritePairs(ref body, ",\"tags\":["u8, tags);
            body.Append((byte)'}');
            return new PooledJsonContent(body.Detach());
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    private static void WriteMetric(ref Buffer body, int index, string key, double value, long timestamp, long step, Metric? extras)
    {
        body.Append(index == 0 ? "{\"key\":"u8 : ",{\"key\":"u8);
        body.Append(EncodeKey(key));
        body.Append(",\"value\":"u8);
        if (double.IsFinite(value))
        {
            // The same shortest round-trip text Utf8JsonWriter.WriteNumber(double) writes.
            body.Reserve(32);
            value.TryFormat(body.Free, out var written, default, CultureInfo.InvariantCulture);
            body.Advance(written);
        }
        else
        {
            // NaN and ±Infinity as the strings MLflow expects (a bare NaN token corrupts the batch on the server).
            body.Append(double.IsNaN(value) ? "\"NaN\""u8 : value > 0 ? "\"Infinity\""u8 : "\"-Infinity\""u8);
        }

        body.Append(",\"timestamp\":"u8);
        body.Reserve(48);
        Utf8Formatter.TryFormat(timestamp, body.Free, out var n);
        body.Advance(n);
        body.Append(",\"step\":"u8);
        Utf8Formatter.TryFormat(step, body.Free, out n);
        body.Advance(n);
        if (extras is not null)
        {
            WriteOptional(ref body, ",\"model_id\":"u8, extras.ModelId);
            WriteOptional(ref body, ",\"dataset_name\":"u8, extras.DatasetName);
            WriteOptional(ref body, ",\"dataset_digest\":"u8, extras.DatasetDigest);
        }

        body.Append((byte)'}');
    }

    private static void WriteOptional(ref Buffer body, ReadOnlySpan<byte> name, string? value)
    {
        if (value is not null)
        {
            body.Append(name);
            body.AppendString(value);
        }
    }

    private static void WritePairs(ref Buffer body, ReadOnlySpan<byte> start, IReadOnlyList<KeyValuePair<string, string>> pairs)
    {
        if (pairs.Count == 0)
        {
            return;
        }

        body.Append(start);
        for (var i = 0; i < pairs.Count; i++)
        {
            body.Append(i == 0 ? "{\"key\":"u8 : ",{\"key\":"u8);
            body.AppendString(pairs[i].Key);
            body.Append(",\"value\":"u8);
            body.AppendString(pairs[i].Value ?? "");
            body.Append((byte)'}');
        }

        body.Append((byte)']');
    }

    /// <summary>
    /// The quoted, escaped UTF-8 form of a metric key. Training loops log a handful of keys over and over, so a tiny
    /// cache (slot chosen by length and two characters, checked by reference and then by value) answers almost always.
    /// </summary>
    private static ReadOnlySpan<byte> EncodeKey(string key)
    {
        var slot = key.Length == 0 ? 0 : ((key.Length * 31) + key[^1] + (key[key.Length / 2] * 7)) & (KeySlots - 1);
        var cached = Volatile.Read(ref s_keys[slot]);
        if (cached is not null && (ReferenceEquals(cached.Key, key) || string.Equals(cached.Key, key, StringComparison.Ordinal)))
        {
            return cached.Json;
        }

        var encoded = new EncodedKey(key, Quote(JsonEncodedText.Encode(key).EncodedUtf8Bytes));
        Volatile.Write(ref s_keys[slot], encoded);
        return encoded.Json;
    }

    private static byte[] Quote(ReadOnlySpan<byte> escaped)
    {
        var quoted = new byte[escaped.Length + 2];
        quoted[0] = (byte)'"';
        escaped.CopyTo(quoted.AsSpan(1));
        quoted[^1] = (byte)'"';
        return quoted;
    }

    /// <summary>A key and its JSON text (immutable, so a racy read of a cache slot is safe).</summary>
    private sealed record EncodedKey(string Key, byte[] Json);

    /// <summary>A growable byte buffer over <see cref="ArrayPool{T}"/>.</summary>
    private struct Buffer : IDisposable
    {
        private byte[] _array;
        private int _length;

        public Buffer(int capacity)
        {
            _array = ArrayPool<byte>.Shared.Rent(capacity);
            _length = 0;
        }

        public readonly Span<byte> Free => _array.AsSpan(_length);

        public void Reserve(int bytes)
        {
            if (_array.Length - _length < bytes)
            {
                var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_array.Length * 2, _length + bytes));
                _array.AsSpan(0, _length).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_array);
                _array = larger;
            }
        }

        public void Advance(int bytes) => _length += bytes;

        public void Append(byte value)
        {
            Reserve(1);
            _array[_length++] = value;
        }

        public void Append(ReadOnlySpan<byte> bytes)
        {
            Reserve(bytes.Length);
            bytes.CopyTo(_array.AsSpan(_length));
            _length += bytes.Length;
        }

        /// <summary>A JSON string with the default encoder's escaping (the same as Utf8JsonWriter.WriteStringValue).</summary>
        public void AppendString(string value)
        {
            Append((byte)'"');
            Append(JsonEncodedText.Encode(value).EncodedUtf8Bytes);
            Append((byte)'"');
        }

        public (byte[] Array, int Length) Detach()
        {
            var result = (_array, _length);
            _array = [];
            _length = 0;
            return result;
        }

        public void Dispose()
        {
            if (_array.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_array);
                _array = [];
            }
        }
    }

    /// <summary>
    /// A request body over a rented array. It can be sent more than once (the resilience handler may retry the
    /// request); the array goes back to the pool when the request is disposed and no write is in progress (the
    /// handler may still be writing the body when an early response ends the request).
    /// </summary>
    private sealed class PooledJsonContent : HttpContent
    {
        private readonly byte[] _array;
        private readonly int _length;
        private int _users = 1; // the content itself until disposed, plus one per write in progress
        private int _disposed;

        public PooledJsonContent((byte[] Array, int Length) body)
        {
            (_array, _length) = body;
            Headers.ContentType = s_json;
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            Acquire();
            try
            {
                await stream.WriteAsync(_array.AsMemory(0, _length), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Release();
            }
        }

        protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            Acquire();
            try
            {
                stream.Write(_array, 0, _length);
            }
            finally
            {
                Release();
            }
        }

        protected override Task<Stream> CreateContentReadStreamAsync()
        {
            Acquire();
            try
            {
                return Task.FromResult<Stream>(new MemoryStream(_array.AsSpan(0, _length).ToArray(), writable: false));
            }
            finally
            {
                Release();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _length;
            return true;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Release();
            }

            base.Dispose(disposing);
        }

        private void Acquire()
        {
            while (true)
            {
                var users = Volatile.Read(ref _users);
                ObjectDisposedException.ThrowIf(users == 0, this);
                if (Interlocked.CompareExchange(ref _users, users + 1, users) == users)
                {
                    return;
                }
            }
        }

        private void Release()
        {
            if (Interlocked.Decrement(ref _users) == 0)
            {
                ArrayPool<byte>.Shared.Return(_array);
            }
        }
    }
}
