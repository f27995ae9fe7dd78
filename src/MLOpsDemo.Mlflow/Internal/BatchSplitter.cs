using System.Text.Json;

namespace MLOpsDemo.Mlflow.Internal;

/// <summary>One log-batch request's worth of items.</summary>
internal sealed record LogBatchChunk(IReadOnlyList<Metric> Metrics, IReadOnlyList<KeyValuePair<string, string>> Params, IReadOnlyList<KeyValuePair<string, string>> Tags);

/// <summary>
/// Splits metrics, params and tags into log-batch requests within the server's limits, as MLflow's Python client
/// does (params and tags in chunks of 100 paired together, topped up with metrics up to 1000 items, then metric-only
/// chunks of 1000), and additionally keeps each request under 1 MB.
/// </summary>
internal static class BatchSplitter
{
    // An upper bound of a metric's JSON size besides its strings: value, timestamp, step, names and punctuation.
    private const int MetricOverhead = 160;
    private const int PairOverhead = 32;
    private const int RequestOverhead = 512;

    public static List<LogBatchChunk> Split(IReadOnlyList<Metric> metrics, IReadOnlyList<KeyValuePair<string, string>> parameters, IReadOnlyList<KeyValuePair<string, string>> tags)
    {
        var chunks = new List<LogBatchChunk>();
        var metricIndex = 0;
        var paramIndex = 0;
        var tagIndex = 0;
        while (paramIndex < parameters.Count || tagIndex < tags.Count)
        {
            var size = RequestOverhead;
            var p = TakePairs(parameters, ref paramIndex, MlflowValidation.MaxBatchParams, ref size);
            var t = TakePairs(tags, ref tagIndex, MlflowValidation.MaxBatchTags, ref size);
            var room = MlflowValidation.MaxBatchItems - p.Count - t.Count;
            var m = TakeMetrics(metrics, ref metricIndex, room, ref size);
            chunks.Add(new LogBatchChunk(m, p, t));
        }

        while (metricIndex < metrics.Count)
        {
            var size = RequestOverhead;
            var m = TakeMetrics(metrics, ref metricIndex, MlflowValidation.MaxBatchMetrics, ref size);
            chunks.Add(new LogBatchChunk(m, [], []));
        }

        return chunks;
    }

    private static List<KeyValuePair<string, string>> TakePairs(IReadOnlyList<KeyValuePair<string, string>> source, ref int index, int max, ref int size)
    {
        var result = new List<KeyValuePair<string, string>>(Math.Min(max, source.Count - index));
        while (index < source.Count && result.Count < max)
        {
            var item = source[index];
            var itemSize = EncodedLength(item.Key) + EncodedLength(item.Value) + PairOverhead;
            if (size > RequestOverhead && size + itemSize > MlflowValidation.MaxBatchBytes)
            {
                break;
            }

            size += itemSize;
            result.Add(item);
            index++;
        }

        return result;
    }

    private static List<Metric> TakeMetrics(IReadOnlyList<Metric> source, ref int index, int max, ref int size)
    {
        var result = new List<Metric>(Math.Max(0, Math.Min(max, source.Count - index)));
        while (index < source.Count && result.Count < max)
        {
            var metric = source[index];
            var itemSize = EncodedLength(metric.Key) + EncodedLength(metric.ModelId) + EncodedLength(metric.DatasetName) + EncodedLength(metric.DatasetDigest) + MetricOverhead;
            if (size > RequestOverhead && size + itemSize > MlflowValidation.MaxBatchBytes)
            {
                break;
            }

            size += itemSize;
            result.Add(source[index]);
            index++;
        }

        return result;
    }

    /// <summary>The exact size of a string in the request body, escapes included (the serializer's default encoder escapes non-ASCII as \uXXXX).</summary>
    internal static int EncodedLength(string? value) =>
        string.IsNullOrEmpty(value) ? 0 : JsonEncodedText.Encode(value).EncodedUtf8Bytes.Length;
}
