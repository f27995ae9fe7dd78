using System.Text.Json;
using BenchmarkDotNet.Attributes;
using MLOpsDemo.Mlflow.Fluent;
using MLOpsDemo.Mlflow.Rest;
using MLOpsDemo.Mlflow.Serialization;

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
    private LogBatchBody _body = null!;
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

        _body = new LogBatchBody
        {
            RunId = RunId,
            Metrics = _metrics.Select(m => new MetricDto { Key = m.Key, Value = m.Value, Timestamp = m.Timestamp, Step = m.Step }).ToList(),
        };
        _client = NoOpMlflow.InMemory(_handler);

        // The hand-written body must equal the serializer's, byte for byte.
        using var content = LogBatchJson.Write(RunId, _points, [], []);
        var written = content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
        var expected = JsonSerializer.SerializeToUtf8Bytes(_body, MlflowJsonContext.Default.LogBatchBody);
        if (!written.AsSpan().SequenceEqual(expected))
        {
            throw new InvalidOperationException("LogBatchJson differs from the source-generated serializer.");
        }
    }

    [Benchmark(Baseline = true, Description = "DTOs + JsonSerializer (former path)")]
    public byte[] Dtos() => JsonSerializer.SerializeToUtf8Bytes(_body, MlflowJsonContext.Default.LogBatchBody);

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
