using BenchmarkDotNet.Attributes;

namespace MLOpsDemo.Mlflow.Benchmarks;

/// <summary>
/// The embedded store (<c>sqlite:///mlflow.db</c>): one log-batch of 1000 metrics through the store (one transaction,
/// history rows plus latest_metrics), and end-to-end throughput of a plain loop of 100,000 <c>run.LogMetric</c> calls
/// followed by <c>FlushAsync</c> into a fresh <c>mlflow.db</c> in a temp folder (points/s = 1e9 / ns per point).
/// </summary>
[MemoryDiagnoser]
[MinColumn, MedianColumn]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 8, invocationCount: 1)]
public class SqliteBenchmarks
{
    private const int N = 100_000;
    private string _directory = null!;
    private MlflowClient _client = null!;
    private MlflowRun _run = null!;
    private string _storeRunId = null!;
    private List<Metric> _metrics = null!;
    private long _step;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "mlflow-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _client = new MlflowClient(new MlflowClientOptions { TrackingUri = "sqlite:///" + Path.Combine(_directory, "mlflow.db") });
        _run = _client.StartRunAsync().GetAwaiter().GetResult();
        _storeRunId = _client.Runs.CreateAsync("0").GetAwaiter().GetResult().Info.RunId;
        _metrics = new List<Metric>(1000);
    }

    /// <summary>Fresh steps for each invocation, so that every row is new (duplicates would be ignored cheaply).</summary>
    [IterationSetup(Target = nameof(StoreLogBatch1000Metrics))]
    public void NextBatch()
    {
        _metrics.Clear();
        for (var i = 0; i < 1000; i++, _step++)
        {
            _metrics.Add(new Metric($"metric_{i % 10}", _step * 0.1234567, 1767225600000 + _step, _step));
        }
    }

    [Benchmark(OperationsPerInvoke = 1000)]
    public Task StoreLogBatch1000Metrics() => _client.Store.LogBatchAsync(_storeRunId, _metrics, [], [], CancellationToken.None);

    [Benchmark(OperationsPerInvoke = N)]
    public Task EndToEndLogMetric()
    {
        var run = _run;
        var offset = _step;
        _step += N;
        for (var i = 0; i < N; i++)
        {
            run.LogMetric("train/loss", i * 0.001, step: offset + i);
        }

        return run.FlushAsync();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _run.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _client.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
