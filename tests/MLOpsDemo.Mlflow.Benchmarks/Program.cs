using System.Diagnostics;
using BenchmarkDotNet.Running;
using MLOpsDemo.Mlflow;
using MLOpsDemo.Mlflow.Benchmarks;

// dotnet run -c Release --project tests/MLOpsDemo.Mlflow.Benchmarks -- --filter '*'
// dotnet run -c Release --project tests/MLOpsDemo.Mlflow.Benchmarks -- --throughput [points]   (quick wall/CPU check)
// tests/MLOpsDemo.Mlflow.Benchmarks/compare.sh                                               (real servers, side by side with Python)
if (args.Length > 0 && args[0] == "--compare")
{
    await Compare.RunAsync(args);
    return;
}

if (args.Length > 0 && args[0] == "--throughput")
{
    var points = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_000_000;
    var only = args.Length > 2 ? args[2] : "all"; // rest | sqlite | all
    var (app, url) = await NoOpMlflow.StartKestrelAsync();
    foreach (var (name, client) in new[] { ("in-process handler", NoOpMlflow.InMemory(new NoOpMlflowHandler())), ("Kestrel loopback", new MlflowClient(NoOpMlflow.Options(url, 100_000))) })
    {
        using (client)
        {
            if (only == "sqlite")
            {
                continue;
            }

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

    if (only == "rest")
    {
        return;
    }

    var directory = Path.Combine(Path.GetTempPath(), "mlflow-bench-" + Guid.NewGuid().ToString("N"));
    Directory.CreateDirectory(directory);
    try
    {
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = "sqlite:///" + Path.Combine(directory, "mlflow.db") });
        var storeRun = (await client.Runs.CreateAsync("0")).Info.RunId;
        var metrics = new List<Metric>();
        for (var b = 0; b < 3; b++)
        {
            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var sw0 = Stopwatch.StartNew();
            for (var k = 0; k < points / 1000; k++)
            {
                metrics.Clear();
                for (var i = 0; i < 1000; i++)
                {
                    var step = (b * points) + (k * 1000) + i;
                    metrics.Add(new Metric("train/loss", step * 0.001, 1767225600000 + step, step));
                }

                await client.Store.LogBatchAsync(storeRun, metrics, [], [], CancellationToken.None);
            }

            var cpuUsed0 = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
            Console.WriteLine($"SQLite store LogBatchAsync x1000, round {b}: {points / sw0.Elapsed.TotalSeconds:N0} points/s; {cpuUsed0.TotalMilliseconds * 1e6 / points:N0} ns CPU/point");
        }

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
            Console.WriteLine($"SQLite mlflow.db, round {round}: {points:N0} points in {sw.Elapsed.TotalMilliseconds:N0} ms = {points / sw.Elapsed.TotalSeconds:N0} points/s (logging loop {produced.TotalMilliseconds:N0} ms; process CPU {cpuUsed.TotalMilliseconds:N0} ms = {cpuUsed.TotalMilliseconds * 1e6 / points:N0} ns CPU/point)");
        }
    }
    finally
    {
        Directory.Delete(directory, recursive: true);
    }

    return;
}

BenchmarkSwitcher.FromAssembly(typeof(NoOpMlflowHandler).Assembly).Run(args);
