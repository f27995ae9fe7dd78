using System.Buffers;
using System.Net.Http.Headers;
using System.Text.Json;

namespace MLOpsDemo.Mlflow.Rest;

/// <summary>Writes a <c>runs/log-batch</c> body directly as UTF-8 JSON, in the exact shape MLflow expects.</summary>
internal static class LogBatchJson
{
    private static readonly MediaTypeHeaderValue s_json = new("application/json");

    public static ByteArrayContent Write(string runId, IReadOnlyList<Metric> metrics, IReadOnlyList<KeyValuePair<string, string>> parameters, IReadOnlyList<KeyValuePair<string, string>> tags)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + (metrics.Count * 96));
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("run_id"u8, runId);
            if (metrics.Count > 0)
            {
                writer.WriteStartArray("metrics"u8);
                for (var i = 0; i < metrics.Count; i++)
                {
                    var m = metrics[i];
                    writer.WriteStartObject();
                    writer.WriteString("key"u8, m.Key);
                    WriteValue(writer, m.Value);
                    writer.WriteNumber("timestamp"u8, m.Timestamp);
                    writer.WriteNumber("step"u8, m.Step);
                    if (m.ModelId is not null)
                    {
                        writer.WriteString("model_id"u8, m.ModelId);
                    }

                    if (m.DatasetName is not null)
                    {
                        writer.WriteString("dataset_name"u8, m.DatasetName);
                    }

                    if (m.DatasetDigest is not null)
                    {
                        writer.WriteString("dataset_digest"u8, m.DatasetDigest);
                    }

                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            WritePairs(writer, "params"u8, parameters);
            WritePairs(writer, "tags"u8, tags);
            writer.WriteEndObject();
        }

        var content = new ByteArrayContent(buffer.WrittenSpan.ToArray());
        content.Headers.ContentType = s_json;
        return content;
    }

    /// <summary>NaN and ±Infinity as the strings MLflow expects (a bare NaN token corrupts the batch on the server).</summary>
    private static void WriteValue(Utf8JsonWriter writer, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumber("value"u8, value);
        }
        else
        {
            writer.WriteString("value"u8, double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity");
        }
    }

    private static void WritePairs(Utf8JsonWriter writer, ReadOnlySpan<byte> name, IReadOnlyList<KeyValuePair<string, string>> pairs)
    {
        if (pairs.Count == 0)
        {
            return;
        }

        writer.WriteStartArray(name);
        for (var i = 0; i < pairs.Count; i++)
        {
            writer.WriteStartObject();
            writer.WriteString("key"u8, pairs[i].Key);
            writer.WriteString("value"u8, pairs[i].Value ?? "");
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }
}
