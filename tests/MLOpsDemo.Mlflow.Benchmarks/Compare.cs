using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace MLOpsDemo.Mlflow.Benchmarks;

/// <summary>
/// The .NET half of <c>compare.sh</c>: against real MLflow servers, the raw HTTP limits (1000-point log-batch bodies
/// on one connection, and on several in parallel) and this library's fluent logging (one run, eight runs); against a
/// local <c>mlflow.db</c>, the fluent logging of the local store. Each measurement runs a few seconds and prints one
/// tab-separated line: <c>RESULT target writer points seconds</c>.
/// </summary>
/// <remarks>
/// Usage: <c>--compare [--seconds S] [--sweep] [--server NAME=URL]... [--sqlite DIR] [--search NAME=URL] [--make-search-db PATH RUNS HISTORY-POINTS] [--history-local PATH]</c>.
/// <c>--sweep</c> adds, per server, the fluent run at <c>MaxConcurrentBatches</c> 1, 2, 4 and 8 (writers <c>sweep-N</c>).
/// </remarks>
internal static class Compare
{
    private const int BatchSize = 1000;
    private static long s_step;

    public static async Task RunAsync(string[] args)
    {
        var seconds = 3.0;
        var servers = new List<(string Name, string Url)>();
        string? sqliteDir = null;
        var sweep = false;
        var searches = new List<(string Name, string Url)>();
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--seconds":
                    seconds = double.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--server":
                    var pair = args[++i].Split('=', 2);
                    servers.Add((pair[0], pair[1]));
                    break;
                case "--sqlite":
                    sqliteDir = args[++i];
                    break;
                case "--sweep":
                    sweep = true;
                    break;
                case "--search":
                    var target = args[++i].Split('=', 2);
                    searches.Add((target[0], target[1]));
                    break;
                case "--history-local":
                    await SearchCompare.MeasureLocalHistoryAsync(args[++i]);
                    break;
                case "--make-search-db":
                    await SearchCompare.MakeDatabaseAsync(args[i + 1], int.Parse(args[i + 2], CultureInfo.InvariantCulture), int.Parse(args[i + 3], CultureInfo.InvariantCulture));
                    i += 3;
                    break;
                default:
                    throw new ArgumentException($"Unknown argument '{args[i]}'.");
            }
        }

        var budget = TimeSpan.FromSeconds(seconds);
        foreach (var (name, url) in servers)
        {
            await MeasureServerAsync(name, url, budget, sweep);
        }

        foreach (var (name, url) in searches)
        {
            await SearchCompare.MeasureAsync(name, url);
        }

        if (sqliteDir is not null)
        {
            await MeasureSqliteAsync(sqliteDir, budget);
        }
    }

    private static void Report(string target, string writer, long points, TimeSpan elapsed, string note = "")
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT\t{target}\t{writer}\t{points}\t{elapsed.TotalSeconds:F3}\t{note}"));
        Console.Out.Flush();
    }

    private static async Task MeasureServerAsync(string name, string url, TimeSpan budget, bool sweep)
    {
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = url });
        var experimentId = await client.Experiments.CreateAsync($"dotnet-compare-{Guid.NewGuid():N}");

        // Warm-up: JIT, connections, the server's first requests.
        await RawAsync(url, (await client.Runs.CreateAsync(experimentId)).Info.RunId, connections: 2, TimeSpan.FromSeconds(0.5));
        await FluentAsync(client, experimentId, runs: 1, points: 2000);

        var raw1 = await RawAsync(url, (await client.Runs.CreateAsync(experimentId)).Info.RunId, connections: 1, budget);
        Report(name, "raw-1conn", raw1.Points, raw1.Elapsed);
        var bestParallel = 0.0;
        foreach (var connections in new[] { 2, 4 })
        {
            var raw = await RawAsync(url, (await client.Runs.CreateAsync(experimentId)).Info.RunId, connections, budget);
            Report(name, $"raw-{connections}conn", raw.Points, raw.Elapsed);
            bestParallel = Math.Max(bestParallel, raw.Points / raw.Elapsed.TotalSeconds);
        }

        // As many points as the best raw rate carries in the budget: the run ends about when the budget does.
        var points = (int)Math.Clamp(bestParallel * budget.TotalSeconds / BatchSize, 10, 1000) * BatchSize;
        // 1 run and 8 runs, each twice in the order 1, 8, 8, 1: the server's database grows with every measurement (and
        // the machine's load drifts), which would otherwise always favour whichever is measured first. The faster of
        // each pair is reported, both rates in the note.
        var one = await FluentAsync(client, experimentId, runs: 1, points);
        var eight = await FluentAsync(client, experimentId, runs: 8, points);
        var eightAgain = await FluentAsync(client, experimentId, runs: 8, points);
        var oneAgain = await FluentAsync(client, experimentId, runs: 1, points);
        ReportBest(name, "dotnet-1run", one, oneAgain);
        ReportBest(name, "dotnet-8runs", eight, eightAgain);

        if (sweep)
        {
            // Each setting twice, interleaved (1,2,4,8,1,2,4,8), so that a burst of load on the machine hits no one setting alone.
            foreach (var concurrency in new[] { 1, 2, 4, 8, 1, 2, 4, 8 })
            {
                var options = new MlflowClientOptions { TrackingUri = url };
                options.Logging.MaxConcurrentBatches = concurrency;
                using var swept = new MlflowClient(options);
                var result = await FluentAsync(swept, experimentId, runs: 1, points);
                Report(name, $"sweep-{concurrency}", result.Points, result.Elapsed);
            }
        }
    }

    private static void ReportBest(string target, string writer, (long Points, TimeSpan Elapsed, string Note) first, (long Points, TimeSpan Elapsed, string Note) second)
    {
        static double Rate((long Points, TimeSpan Elapsed, string Note) m) => m.Points / m.Elapsed.TotalSeconds;
        var best = Rate(first) >= Rate(second) ? first : second;
        var note = string.Create(CultureInfo.InvariantCulture, $"best of {Rate(first):F0} and {Rate(second):F0} points/s");
        Report(target, writer, best.Points, best.Elapsed, best.Note.Length > 0 ? $"{note}; {best.Note}" : note);
    }

    /// <summary>Log-batch requests of 1000 metrics (new steps each) from <paramref name="connections"/> loops, each on its own connection.</summary>
    private static async Task<(long Points, TimeSpan Elapsed)> RawAsync(string url, string runId, int connections, TimeSpan budget)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections }) { BaseAddress = new Uri(url.TrimEnd('/') + "/") };
        long points = 0;
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(_ => Task.Run(async () =>
        {
            while (sw.Elapsed < budget)
            {
                using var content = new StringContent(Body(runId), Encoding.UTF8, "application/json");
                using var response = await http.PostAsync("api/2.0/mlflow/runs/log-batch", content);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    throw new InvalidOperationException($"log-batch answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                }

                Interlocked.Add(ref points, BatchSize);
            }
        })));
        return (points, sw.Elapsed);
    }

    private static string Body(string runId)
    {
        var first = Interlocked.Add(ref s_step, BatchSize) - BatchSize;
        var json = new StringBuilder(64 * BatchSize);
        json.Append("{\"run_id\":\"").Append(runId).Append("\",\"metrics\":[");
        for (var i = 0; i < BatchSize; i++)
        {
            var step = first + i;
            json.Append(i == 0 ? "" : ",")
                .Append(CultureInfo.InvariantCulture, $"{{\"key\":\"train/loss\",\"value\":{step * 0.001:R},\"timestamp\":{1767225600000 + step},\"step\":{step}}}");
        }

        return json.Append("]}").ToString();
    }

    /// <summary><paramref name="runs"/> fluent runs, logging <paramref name="points"/> in all, each from its own task; the time includes the final flush.</summary>
    private static async Task<(long Points, TimeSpan Elapsed, string Note)> FluentAsync(MlflowClient client, string experimentId, int runs, int points)
    {
        var started = new List<MlflowRun>();
        for (var r = 0; r < runs; r++)
        {
            started.Add(await client.StartRunAsync(new StartRunOptions { ExperimentId = experimentId }));
        }

        var perRun = points / runs;
        var finished = new double[runs];
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(started.Select((run, r) => Task.Run(async () =>
        {
            for (var i = 0; i < perRun; i++)
            {
                run.LogMetric("train/loss", i * 0.001, step: i);
            }

            await run.FlushAsync();
            finished[r] = sw.Elapsed.TotalSeconds;
        })));
        var elapsed = sw.Elapsed;
        foreach (var run in started)
        {
            await run.DisposeAsync();
        }

        var note = runs > 1 ? string.Create(CultureInfo.InvariantCulture, $"runs finished between {finished.Min():F2} s and {finished.Max():F2} s") : "";
        return ((long)perRun * runs, elapsed, note);
    }

    private static async Task MeasureSqliteAsync(string directory, TimeSpan budget)
    {
        Directory.CreateDirectory(directory);
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = "sqlite:///" + Path.Combine(directory, "mlflow.db") });
        await FluentAsync(client, "0", runs: 1, points: 20_000); // warm-up: schema, JIT

        // Size the measured run from a short probe so that it lasts about the budget.
        var probe = await FluentAsync(client, "0", runs: 1, points: 100_000);
        var rate = probe.Points / probe.Elapsed.TotalSeconds;
        var points = (int)Math.Clamp(rate * budget.TotalSeconds / BatchSize, 100, 5000) * BatchSize;
        var result = await FluentAsync(client, "0", runs: 1, points);
        Report("local", "dotnet-1run", result.Points, result.Elapsed);
    }
}
