using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;

namespace MLOpsDemo.Mlflow.Benchmarks;

/// <summary>
/// End-to-end throughput: a plain loop of 100,000 <c>run.LogMetric</c> calls followed by <c>FlushAsync</c>, until the
/// last point was accepted by a no-op endpoint. Time per operation is per point (points/s = 1e9 / ns).
/// <c>Kestrel</c> goes through real loopback HTTP; <c>InProcess</c> through a no-op <see cref="HttpMessageHandler"/>.
/// </summary>
[MemoryDiagnoser]
[MinColumn, MedianColumn]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 8, invocationCount: 1)]
public class EndToEndBenchmarks
{
    private const int N = 100_000;
    private WebApplication? _app;
    private MlflowClient _kestrelClient = null!;
    private MlflowClient _inProcessClient = null!;
    private MlflowRun _kestrelRun = null!;
    private MlflowRun _inProcessRun = null!;

    [GlobalSetup]
    public void Setup()
    {
        var (app, url) = NoOpMlflow.StartKestrelAsync().GetAwaiter().GetResult();
        _app = app;
        _kestrelClient = new MlflowClient(NoOpMlflow.Options(url, 100_000));
        _inProcessClient = NoOpMlflow.InMemory(new NoOpMlflowHandler());
        _kestrelRun = _kestrelClient.StartRunAsync().GetAwaiter().GetResult();
        _inProcessRun = _inProcessClient.StartRunAsync().GetAwaiter().GetResult();
    }

    [Benchmark(OperationsPerInvoke = N)]
    public Task Kestrel() => LogAndFlush(_kestrelRun);

    [Benchmark(OperationsPerInvoke = N)]
    public Task InProcess() => LogAndFlush(_inProcessRun);

    private static Task LogAndFlush(MlflowRun run)
    {
        for (var i = 0; i < N; i++)
        {
            run.LogMetric("train/loss", i * 0.001, step: i);
        }

        return run.FlushAsync();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _kestrelRun.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _inProcessRun.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _kestrelClient.Dispose();
        _inProcessClient.Dispose();
        _app?.StopAsync().GetAwaiter().GetResult();
    }
}
