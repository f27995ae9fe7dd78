using System.Diagnostics;
using BenchmarkDotNet.Running;
using MLOpsDemo.Mlflow;
using MLOpsDemo.Mlflow.Benchmarks;

// dotnet run -c Release --project tests/MLOpsDemo.Mlflow.Benchmarks -- --filter '*'
// dotnet run -c Release --project tests/MLOpsDemo.Mlflow.Benchmarks -- --throughput [points]   (quick wall/CPU check)
if (args.Length > 0 && args[0] == "--throughput")
{
    var points = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000;
    var (app, url) = await NoOpMlflow.StartKestrelAsync();
    foreach (var (name, client) in new[] { ("in-process handler", NoOpMlflow.InMemory(new NoOpMlflowHandler())), ("Kestrel loopback", new MlflowClient(NoOpMlflow.Options(url, 100_000))) })
    {
        using (client)
        {
            for (var round = 0; round < 3; round++)
            {
                await using var run = await client.StartRunAsync();
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                for (var i = 0; i < points; i++)
                {
                    run.LogMetric("train/loss", i * 0.001, step: i);
                }

                var produced = sw.Elapsed;
                await run.FlushAsync();
                sw.Stop();
                var cpuUsed = Process.GetCurrentProcess().TotalProcessorTime - cpu;
                Console.WriteLine($"{name}, round {round}: {points:N0} points in {sw.Elapsed.TotalMilliseconds:N0} ms = {points / sw.Elapsed.TotalSeconds:N0} points/s (logging loop {produced.TotalMilliseconds:N0} ms; process CPU {cpuUsed.TotalMilliseconds:N0} ms = {cpuUsed.TotalMilliseconds * 1e6 / points:N0} ns CPU/point)");
            }
        }
    }

    await app.StopAsync();
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(NoOpMlflowHandler).Assembly).Run(args);
