using System.Buffers;
using System.Text.Json;
using MLOpsDemo.Mlflow.Fluent;
using MLOpsDemo.Mlflow.Rest;

namespace MLOpsDemo.Mlflow.Tests.Perf;

/// <summary>The hand-written log-batch body equals, byte for byte, what Utf8JsonWriter with the default encoder writes.</summary>
public sealed class LogBatchJsonTests
{
    private const string RunId = "0123456789abcdef0123456789abcdef";

    public static TheoryData<double> Values => [0.0, -0.0, 1.0, -1.5, 0.1, 1.0 / 3, 1e-300, 1.7976931348623157e308, double.Epsilon, 123456789012345680.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity];

    [Theory]
    [MemberData(nameof(Values))]
    public async Task Metric_values_are_written_like_the_serializer(double value)
    {
        var metrics = new List<Metric> { new("train/loss", value, 1767225600123, -3), new("acc", value, 0, long.MaxValue) };
        Assert.Equal(Reference(metrics, [], []), await Body(metrics, [], []));
        Assert.Equal(Reference(metrics, [], []), await Body(Points(metrics), [], []));
    }

    [Fact]
    public async Task Keys_params_tags_and_optional_fields_are_escaped_like_the_serializer()
    {
        var metrics = new List<Metric>
        {
            new("é/ü b.c-d_e:f", 1, 2, 3),
            new("x", 4, 5, 6) { ModelId = "m-1", DatasetName = "train \"set\"", DatasetDigest = "<d&g>" },
        };
        KeyValuePair<string, string>[] parameters = [new("lr", "0.1"), new("text", "line\nbreak \"quoted\" \\ <tag> & 'x' + `y` \u0001 日本 😀")];
        KeyValuePair<string, string>[] tags = [new("mlflow.note.content", "# Title\r\n\t* item"), new("empty", "")];
        Assert.Equal(Reference(metrics, parameters, tags), await Body(metrics, parameters, tags));
        Assert.Equal(Reference([], parameters, []), await Body([], parameters, []));
        Assert.Equal(Reference([], [], tags), await Body([], [], tags));
    }

    [Fact]
    public async Task A_full_batch_of_many_keys_matches_and_the_body_can_be_read_twice()
    {
        var metrics = Enumerable.Range(0, 1000).Select(i => new Metric($"metric_{i % 97}/{new string('k', i % 13)}", i * 0.1234567, 1767225600000 + i, i)).ToList();
        using var content = LogBatchJson.Write(RunId, Points(metrics), [], []);
        var first = await content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
        var second = new MemoryStream();
        await content.CopyToAsync(second, TestContext.Current.CancellationToken);
        Assert.Equal(Reference(metrics, [], []), first);
        Assert.Equal(first, second.ToArray());
        Assert.Equal(first.Length, content.Headers.ContentLength);
        Assert.Equal("application/json", content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_disposed_body_cannot_be_sent()
    {
        var content = LogBatchJson.Write(RunId, [new Metric("a", 1, 2, 3)], [], []);
        content.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => content.CopyToAsync(Stream.Null, TestContext.Current.CancellationToken));
    }

    private static MetricPoints Points(IEnumerable<Metric> metrics)
    {
        var points = new MetricPoints(1000);
        foreach (var m in metrics)
        {
            points.Add(new MetricPoint(m.Key, m.Value, m.Timestamp, m.Step));
        }

        return points;
    }

    private static async Task<byte[]> Body(IReadOnlyList<Metric> metrics, IReadOnlyList<KeyValuePair<string, string>> parameters, IReadOnlyList<KeyValuePair<string, string>> tags)
    {
        using var content = LogBatchJson.Write(RunId, metrics, parameters, tags);
        return await content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>The former implementation: Utf8JsonWriter with default options.</summary>
    private static byte[] Reference(IReadOnlyList<Metric> metrics, IReadOnlyList<KeyValuePair<string, string>> parameters, IReadOnlyList<KeyValuePair<string, string>> tags)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("run_id", RunId);
            if (metrics.Count > 0)
            {
                writer.WriteStartArray("metrics");
                foreach (var m in metrics)
                {
                    writer.WriteStartObject();
                    writer.WriteString("key", m.Key);
                    if (double.IsFinite(m.Value))
                    {
                        writer.WriteNumber("value", m.Value);
                    }
                    else
                    {
                        writer.WriteString("value", double.IsNaN(m.Value) ? "NaN" : m.Value > 0 ? "Infinity" : "-Infinity");
                    }

                    writer.WriteNumber("timestamp", m.Timestamp);
                    writer.WriteNumber("step", m.Step);
                    if (m.ModelId is not null)
                    {
                        writer.WriteString("model_id", m.ModelId);
                    }

                    if (m.DatasetName is not null)
                    {
                        writer.WriteString("dataset_name", m.DatasetName);
                    }

                    if (m.DatasetDigest is not null)
                    {
                        writer.WriteString("dataset_digest", m.DatasetDigest);
                    }

                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            foreach (var (name, pairs) in new[] { ("params", parameters), ("tags", tags) })
            {
                if (pairs.Count == 0)
                {
                    continue;
                }

                writer.WriteStartArray(name);
                foreach (var pair in pairs)
                {
                    writer.WriteStartObject();
                    writer.WriteString("key", pair.Key);
                    writer.WriteString("value", pair.Value);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
