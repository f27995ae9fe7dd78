using System.Text.Json;
using BenchmarkDotNet.Attributes;
using MLOpsDemo.Mlflow.Fluent;
using MLOpsDemo.Mlflow.Rest;

namespace MLOpsDemo.Mlflow.Benchmarks;

/// <summary>
/// One log-batch request of 1000 metrics (10 keys): the body as the fluent pipeline's sender writes it (from its
/// reused batch of structs), as <c>client.Runs.LogBatchAsync</c> writes it (from <see cref="Metric"/> objects), the
/// former DTO + source-generated <see cref="JsonSerializer"/> path (baseline), and the whole REST store call
/// (JSON, HTTP request, a no-op handler).
/// </summary>
[MemoryDiagnoser]
[MinColumn, MedianColumn]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class LogBatchSerializationBenchmarks
{
    private const string RunId = "bench0000000000000000000000000001";
    private readonly NoOpMlflowHandler _handler = new();
    private List<Metric> _metrics = null!;
    private MetricPoints _points = null!;
    private BaselineBody _body = null!;
    private MlflowClient _client = null!;

    [GlobalSetup]
    public void Setup()
    {
        _metrics = Enumerable.Range(0, 1000).Select(i => new Metric($"metric_{i % 10}", i * 0.1234567, 1767225600000 + i, i)).ToList();
        _points = new MetricPoints(1000);
        foreach (var m in _metrics)
        {
            _points.Add(new MetricPoint(m.Key, m.Value, m.Timestamp, m.Step));
        }

        _body = new BaselineBody(RunId, _metrics.Select(m => new BaselineMetric(m.Key, m.Value, m.Timestamp, m.Step)).ToList());
        _client = NoOpMlflow.InMemory(_handler);

        // The hand-written body must equal the serializer's, byte for byte.
        using var content = LogBatchJson.Write(RunId, _points, [], []);
        var written = content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
        var expected = JsonSerializer.SerializeToUtf8Bytes(_body, BaselineJson.Default.BaselineBody);
        if (!written.AsSpan().SequenceEqual(expected))
        {
            throw new InvalidOperationException("LogBatchJson differs from the source-generated serializer.");
        }
    }

    [Benchmark(Baseline = true, Description = "DTOs + JsonSerializer (former path)")]
    public byte[] Dtos() => JsonSerializer.SerializeToUtf8Bytes(_body, BaselineJson.Default.BaselineBody);

    [Benchmark(Description = "LogBatchJson, fluent batch")]
    public long FluentBatch()
    {
        using var content = LogBatchJson.Write(RunId, _points, [], []);
        return content.Headers.ContentLength ?? 0;
    }

    [Benchmark(Description = "LogBatchJson, List<Metric>")]
    public long MetricList()
    {
        using var content = LogBatchJson.Write(RunId, _metrics, [], []);
        return content.Headers.ContentLength ?? 0;
    }

    [Benchmark(Description = "REST store call, no-op handler")]
    public Task StoreLogBatch() => _client.Store.LogBatchAsync(RunId, _points, [], [], CancellationToken.None);

    [GlobalCleanup]
    public void Cleanup() => _client.Dispose();
}

/// <summary>The log-batch body as DTOs: the former serialization path, kept here as the benchmark's baseline.</summary>
internal sealed record BaselineBody(
    [property: System.Text.Json.Serialization.JsonPropertyName("run_id")] string RunId,
    [property: System.Text.Json.Serialization.JsonPropertyName("metrics")] IReadOnlyList<BaselineMetric> Metrics);

/// <summary>One metric of <see cref="BaselineBody"/>.</summary>
internal sealed record BaselineMetric(
    [property: System.Text.Json.Serialization.JsonPropertyName("key")] string Key,
    [property: System.Text.Json.Serialization.JsonPropertyName("value")] double Value,
    [property: System.Text.Json.Serialization.JsonPropertyName("timestamp")] long Timestamp,
    [property: System.Text.Json.Serialization.JsonPropertyName("step")] long Step);

/// <summary>Source-generated metadata of the baseline DTOs, with the library's number handling.</summary>
[System.Text.Json.Serialization.JsonSourceGenerationOptions(NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[System.Text.Json.Serialization.JsonSerializable(typeof(BaselineBody))]
internal sealed partial class BaselineJson : System.Text.Json.Serialization.JsonSerializerContext;
