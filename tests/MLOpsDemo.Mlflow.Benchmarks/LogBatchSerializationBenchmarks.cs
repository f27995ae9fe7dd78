using System.Text.Json;
using BenchmarkDotNet.Attributes;
using MLOpsDemo.Mlflow.Rest;
using MLOpsDemo.Mlflow.Serialization;

namespace MLOpsDemo.Mlflow.Benchmarks;

/// <summary>One full log-batch request of 1000 metrics: JSON serialization alone, and the whole store call (DTOs, JSON, Refit, a no-op HTTP handler).</summary>
[MemoryDiagnoser]
[MinColumn, MedianColumn]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class LogBatchSerializationBenchmarks
{
    private readonly NoOpMlflowHandler _handler = new();
    private List<Metric> _metrics = null!;
    private LogBatchBody _body = null!;
    private MlflowClient _client = null!;

    [GlobalSetup]
    public void Setup()
    {
        _metrics = Enumerable.Range(0, 1000).Select(i => new Metric($"metric_{i % 10}", i * 0.1234567, 1767225600000 + i, i)).ToList();
        _body = new LogBatchBody
        {
            RunId = "bench0000000000000000000000000001",
            Metrics = _metrics.Select(m => new MetricDto { Key = m.Key, Value = m.Value, Timestamp = m.Timestamp, Step = m.Step }).ToList(),
        };
        _client = NoOpMlflow.InMemory(_handler);
    }

    [Benchmark(Baseline = true)]
    public byte[] Serialize1000Metrics() => JsonSerializer.SerializeToUtf8Bytes(_body, MlflowJsonContext.Default.LogBatchBody);

    [Benchmark]
    public Task StoreLogBatch1000Metrics() => _client.Store.LogBatchAsync("bench0000000000000000000000000001", _metrics, [], [], CancellationToken.None);

    [GlobalCleanup]
    public void Cleanup() => _client.Dispose();
}
