using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace MLOpsDemo.Mlflow.Benchmarks;

/// <summary>
/// The search half of <c>compare.sh</c>: an <c>mlflow.db</c> with many runs and one run with a long metric history (made
/// once, cached under /tmp), and, against a real MLflow server on that file, <c>Runs.SearchAsync</c> over all the runs and
/// <c>Runs.GetMetricHistoryAsync</c> over the history, each versus paging the same endpoint with a bare
/// <see cref="HttpClient"/> and <see cref="JsonDocument"/>. Each prints <c>SEARCH target writer items seconds allocated-bytes peak-heap-bytes</c>.
/// </summary>
internal static class SearchCompare
{
    /// <summary>The experiment that holds the runs.</summary>
    public const string ExperimentName = "search-50k";

    /// <summary>The experiment that holds the run with the long metric history.</summary>
    public const string HistoryExperimentName = "history";

    private const int PageSize = 1000;
    private const int HistoryPageSize = 25_000; // RunsClient.GetMetricHistoryAsync's default page

    /// <summary>
    /// Creates <paramref name="path"/> with the library's local store (MLflow's schema, the experiments), then inserts
    /// <paramref name="runs"/> finished runs, each with a run name tag, a param, and a metric (history and latest), in one
    /// transaction, as MLflow's store writes them; and, in its own experiment, one run whose metric <c>loss</c> has
    /// <paramref name="historyPoints"/> points (steps 0, 1, ...), logged through the library.
    /// </summary>
    public static async Task MakeDatabaseAsync(string path, int runs, int historyPoints)
    {
        string experimentId;
        using (var client = new MlflowClient(new MlflowClientOptions { TrackingUri = "sqlite:///" + path }))
        {
            experimentId = await client.Experiments.CreateAsync(ExperimentName);
            if (historyPoints > 0)
            {
                var historyExperiment = await client.Experiments.CreateAsync(HistoryExperimentName);
                await using var historyRun = await client.StartRunAsync(new StartRunOptions { ExperimentId = historyExperiment, RunName = "history" });
                for (var i = 0; i < historyPoints; i++)
                {
                    historyRun.LogMetric("loss", (i % 1000) * 0.001, step: i);
                }
            }
        }

        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using var transaction = connection.BeginTransaction();
        using var run = Command(connection, transaction, """
            INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id, deleted_time)
            VALUES ($id, $name, 'UNKNOWN', '', '', 'bench', 'FINISHED', $start, $end, '', 'active', $uri, $e, NULL)
            """, "$id", "$name", "$start", "$end", "$uri", "$e");
        using var tag = Command(connection, transaction, "INSERT INTO tags (key, value, run_uuid) VALUES ('mlflow.runName', $name, $id)", "$name", "$id");
        using var param = Command(connection, transaction, "INSERT INTO params (key, value, run_uuid) VALUES ('lr', $v, $id)", "$v", "$id");
        using var metric = Command(connection, transaction, "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES ('loss', $v, $t, $id, 0, 0)", "$v", "$t", "$id");
        using var latest = Command(connection, transaction, "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES ('loss', $v, $t, 0, 0, $id)", "$v", "$t", "$id");
        const long Start = 1767225600000;
        for (var i = 0; i < runs; i++)
        {
            var id = Guid.NewGuid().ToString("N");
            var name = string.Create(CultureInfo.InvariantCulture, $"run-{i:D6}");
            var value = (i % 1000) * 0.001;
            Bind(run, id, name, Start + i, Start + i + 1000, $"/tmp/mlruns/{experimentId}/{id}/artifacts", long.Parse(experimentId, CultureInfo.InvariantCulture));
            Bind(tag, name, id);
            Bind(param, value.ToString(CultureInfo.InvariantCulture), id);
            Bind(metric, value, Start + i, id);
            Bind(latest, value, Start + i, id);
        }

        transaction.Commit();
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql, params string[] names)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var name in names)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        command.Prepare();
        return command;
    }

    private static void Bind(SqliteCommand command, params object[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i];
        }

        command.ExecuteNonQuery();
    }

    /// <summary>Enumerates every run of the experiment both ways; reports each pass.</summary>
    public static async Task MeasureAsync(string target, string url)
    {
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = url, DefaultPageSize = PageSize });
        var experimentId = (await client.Experiments.GetByNameAsync(ExperimentName))?.ExperimentId
            ?? throw new InvalidOperationException($"The server at {url} has no experiment '{ExperimentName}'.");
        using var http = new HttpClient { BaseAddress = new Uri(url.TrimEnd('/') + "/") };

        // One pass each (the server needs ~1 s per page of 1000 runs); the library first, so it has no warm cache to gain from.
        var library = await MeasureOneAsync(async () =>
        {
            var count = 0;
            await foreach (var run in client.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = [experimentId] }))
            {
                count += run.Info.RunId.Length > 0 ? 1 : 0;
            }

            return count;
        });
        Report(target, "dotnet-search", library);

        var bare = await MeasureOneAsync(async () =>
        {
            var count = 0;
            string? token = null;
            do
            {
                // A body with a Content-Length (MLflow's server does not read chunked bodies), as any client sends it.
                var body = JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["experiment_ids"] = new[] { experimentId },
                    ["max_results"] = PageSize,
                    ["page_token"] = token,
                });
                using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
                using var response = await http.PostAsync("api/2.0/mlflow/runs/search", content);
                response.EnsureSuccessStatusCode();
                await using var stream = await response.Content.ReadAsStreamAsync();
                using var page = await JsonDocument.ParseAsync(stream);
                if (page.RootElement.TryGetProperty("runs", out var runs))
                {
                    foreach (var run in runs.EnumerateArray())
                    {
                        count += run.GetProperty("info").GetProperty("run_id").GetString()!.Length > 0 ? 1 : 0;
                    }
                }

                token = page.RootElement.TryGetProperty("next_page_token", out var next) ? next.GetString() : null;
            }
            while (!string.IsNullOrEmpty(token));
            return count;
        });
        Report(target, "raw-search", bare);

        if (await client.Experiments.GetByNameAsync(HistoryExperimentName) is { } history)
        {
            await MeasureHistoryAsync(target, client, http, history.ExperimentId);
        }
    }

    /// <summary>Enumerates the long metric history of the <c>mlflow.db</c> at <paramref name="path"/> through the library's local store; reports the pass.</summary>
    public static async Task MeasureLocalHistoryAsync(string path)
    {
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = "sqlite:///" + path });
        var experiment = await client.Experiments.GetByNameAsync(HistoryExperimentName)
            ?? throw new InvalidOperationException($"{path} has no experiment '{HistoryExperimentName}'.");
        string? runId = null;
        await foreach (var run in client.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = [experiment.ExperimentId] }))
        {
            runId = run.Info.RunId;
        }

        var local = await MeasureOneAsync(async () =>
        {
            var count = 0;
            await foreach (var point in client.Runs.GetMetricHistoryAsync(runId!, "loss", HistoryPageSize))
            {
                count += point.Step >= 0 ? 1 : 0;
            }

            return count;
        });
        Report("local", "dotnet-history", local);
    }

    /// <summary>Enumerates the long metric history both ways (pages of 25,000 points, the library's default); reports each pass.</summary>
    private static async Task MeasureHistoryAsync(string target, MlflowClient client, HttpClient http, string experimentId)
    {
        string? runId = null;
        await foreach (var run in client.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = [experimentId] }))
        {
            runId = run.Info.RunId;
        }

        if (runId is null)
        {
            return;
        }

        var library = await MeasureOneAsync(async () =>
        {
            var count = 0;
            await foreach (var point in client.Runs.GetMetricHistoryAsync(runId, "loss", HistoryPageSize))
            {
                count += point.Step >= 0 ? 1 : 0;
            }

            return count;
        });
        Report(target, "dotnet-history", library);

        var bare = await MeasureOneAsync(async () =>
        {
            var count = 0;
            string? token = null;
            do
            {
                var query = $"api/2.0/mlflow/metrics/get-history?run_id={runId}&metric_key=loss&max_results={HistoryPageSize}"
                    + (token is null ? "" : "&page_token=" + Uri.EscapeDataString(token));
                using var response = await http.GetAsync(query, HttpCompletionOption.ResponseHeadersRead);
                response.EnsureSuccessStatusCode();
                await using var stream = await response.Content.ReadAsStreamAsync();
                using var page = await JsonDocument.ParseAsync(stream);
                if (page.RootElement.TryGetProperty("metrics", out var metrics))
                {
                    foreach (var point in metrics.EnumerateArray())
                    {
                        count += point.GetProperty("step").GetInt64() >= 0 ? 1 : 0;
                    }
                }

                token = page.RootElement.TryGetProperty("next_page_token", out var next) ? next.GetString() : null;
            }
            while (!string.IsNullOrEmpty(token));
            return count;
        });
        Report(target, "raw-history", bare);
    }

    private static void Report(string target, string writer, (int Runs, TimeSpan Elapsed, long Allocated, long PeakHeap) r) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"SEARCH\t{target}\t{writer}\t{r.Runs}\t{r.Elapsed.TotalSeconds:F3}\t{r.Allocated}\t{r.PeakHeap}"));

    /// <summary>Runs one enumeration with the managed heap sampled every 2 ms: time, bytes allocated, peak heap above the start.</summary>
    private static async Task<(int Runs, TimeSpan Elapsed, long Allocated, long PeakHeap)> MeasureOneAsync(Func<Task<int>> enumerate)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var baseline = GC.GetTotalMemory(false);
        long peak = 0;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(false) - baseline);
                Thread.Sleep(2);
            }
        });
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var sw = Stopwatch.StartNew();
        var runs = await enumerate();
        var elapsed = sw.Elapsed;
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        await stop.CancelAsync();
        await sampler;
        return (runs, elapsed, allocated, peak);
    }
}
