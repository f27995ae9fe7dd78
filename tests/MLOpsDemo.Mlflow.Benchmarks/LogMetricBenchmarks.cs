using BenchmarkDotNet.Attributes;

namespace MLOpsDemo.Mlflow.Benchmarks;

/// <summary>
/// The cost of one <c>run.LogMetric(key, value, step)</c> call on the caller's thread: validation (cached per key),
/// the timestamp, and the write of a struct into the run's bounded channel. The sender is paused during the
/// measurement so that it neither competes for the CPU nor counts in the allocations; the buffer was grown to its
/// working size beforehand, as in a long training loop.
/// </summary>
[MemoryDiagnoser]
[MinColumn, MedianColumn]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 15, invocationCount: 1)]
public class LogMetricBenchmarks
{
    private const int N = 100_000;
    private readonly NoOpMlflowHandler _handler = new();
    private MlflowClient _client = null!;
    private MlflowRun _run = null!;

    [GlobalSetup]
    public void GlobalSetup()
    {
        _client = NoOpMlflow.InMemory(_handler, bufferCapacity: N + 2_000);
        _run = _client.StartRunAsync().GetAwaiter().GetResult();
    }

    [IterationSetup]
    public void IterationSetup()
    {
        _handler.Resume();
        _run.FlushAsync().GetAwaiter().GetResult();
        _handler.Pause();
    }

    [Benchmark(OperationsPerInvoke = N)]
    public void LogMetric()
    {
        var run = _run;
        for (var i = 0; i < N; i++)
        {
            run.LogMetric("train/loss", i * 0.001, step: i);
        }
    }

    [IterationCleanup]
    public void IterationCleanup() => _handler.Resume();

    [GlobalCleanup]
    public void GlobalCleanup()
    {
        _handler.Resume();
        _run.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _client.Dispose();
    }
}
