using System.Diagnostics;

namespace MLOpsDemo.Mlflow.Tests.Sqlite;

/// <summary>
/// Two writers on one file (two clients = two SQLite connections in this process, and, where the sqlite3 command-line
/// tool exists, a second OS process), a writer that holds the lock for a while, and writers that die mid-transaction.
/// </summary>
public class SqliteConcurrencyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Two_clients_log_into_the_same_file_at_once()
    {
        using var folder = new TempFolder();
        using var first = folder.Client();
        using var second = folder.Client();
        var shared = await first.Runs.CreateAsync("0", cancellationToken: Ct);

        async Task Log(MlflowClient client, string key)
        {
            var own = await client.Runs.CreateAsync("0", cancellationToken: Ct);
            for (var i = 0; i < 60; i++)
            {
                await client.Runs.LogBatchAsync(own.Info.RunId, Enumerable.Range(0, 20).Select(j => new Metric(key, j, 1000 + i, (i * 20) + j)), cancellationToken: Ct);
                await client.Runs.LogMetricAsync(shared.Info.RunId, key, i, i, cancellationToken: Ct);
                await client.Runs.SetTagAsync(shared.Info.RunId, key + i, "v", Ct);
            }
        }

        await Task.WhenAll(Task.Run(() => Log(first, "a"), Ct), Task.Run(() => Log(second, "b"), Ct));

        using var c = SqliteGolden.Open(folder.DatabasePath);
        Assert.Equal(2L * 60 * 20, SqliteGolden.Scalar(c, "SELECT count(*) FROM metrics WHERE run_uuid != $r", ("$r", shared.Info.RunId)));
        Assert.Equal(120L, SqliteGolden.Scalar(c, "SELECT count(*) FROM metrics WHERE run_uuid = $r", ("$r", shared.Info.RunId)));
        Assert.Equal(121L, SqliteGolden.Scalar(c, "SELECT count(*) FROM tags WHERE run_uuid = $r", ("$r", shared.Info.RunId)));
        var latest = (await second.Runs.GetAsync(shared.Info.RunId, Ct)).Data.Metrics.ToDictionary(m => m.Key);
        Assert.Equal((59.0, 59L), (latest["a"].Value, latest["a"].Step));
        Assert.Equal((59.0, 59L), (latest["b"].Value, latest["b"].Step));
    }

    [Fact]
    public async Task A_writer_holding_the_lock_delays_but_does_not_fail_a_log_call()
    {
        using var folder = new TempFolder();
        using var client = folder.Client();
        var run = await client.Runs.CreateAsync("0", cancellationToken: Ct);
        using var other = SqliteGolden.Open(folder.DatabasePath);
        var events = new System.Collections.Concurrent.ConcurrentQueue<string>();
        Task log;
        using (var tx = other.BeginTransaction(deferred: false))
        {
            // The other writer holds the write lock while our call runs into it. The call cannot store its point before
            // the commit, so whatever the machine's speed it must end after it, and without an error (busy timeout).
            log = client.Runs.LogMetricAsync(run.Info.RunId, "m", 1, cancellationToken: Ct);
            _ = log.ContinueWith(t => events.Enqueue("log " + t.Status), Ct, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            using (var hold = new CancellationTokenSource())
            {
                // The scenario: the lock is held for a while (the call normally reaches it in this time; the
                // assertions below do not depend on whether it did).
                hold.CancelAfter(TimeSpan.FromMilliseconds(300));
                await Task.WhenAny(log, Task.Delay(Timeout.Infinite, hold.Token).ContinueWith(_ => { }, TaskScheduler.Default));
            }

            events.Enqueue("commit");
            tx.Commit();
        }

        await log;
        Assert.Equal(["commit", "log RanToCompletion"], events);

        Assert.Single((await client.Runs.GetAsync(run.Info.RunId, Ct)).Data.Metrics);
    }

    [Fact]
    public async Task An_abandoned_transaction_leaves_a_readable_database()
    {
        using var folder = new TempFolder();
        using var client = folder.Client();
        var run = await client.Runs.CreateAsync("0", cancellationToken: Ct);
        await client.Runs.LogMetricAsync(run.Info.RunId, "kept", 1, cancellationToken: Ct);

        // A writer that dies mid-way: its connection goes away with an open, uncommitted transaction.
        var writer = SqliteGolden.Open(folder.DatabasePath);
        var tx = writer.BeginTransaction(deferred: false);
        SqliteGolden.Execute(writer, "INSERT INTO tags (key, value, run_uuid) VALUES ('lost', 'x', $r)", ("$r", run.Info.RunId));
        writer.Dispose(); // no commit, no rollback call
        _ = tx;

        using var reopened = folder.Client();
        var read = await reopened.Runs.GetAsync(run.Info.RunId, Ct);
        Assert.False(read.Data.Tags.ContainsKey("lost"));
        Assert.Equal("kept", Assert.Single(read.Data.Metrics).Key);
        await reopened.Runs.LogMetricAsync(run.Info.RunId, "after", 2, cancellationToken: Ct);
        using var c = SqliteGolden.Open(folder.DatabasePath);
        Assert.Equal("ok", SqliteGolden.Scalar(c, "PRAGMA integrity_check"));
    }

    [Fact]
    public async Task A_second_process_writes_while_we_write_and_a_killed_process_leaves_a_readable_file()
    {
        var sqlite3 = FindOnPath("sqlite3");
        Assert.SkipWhen(sqlite3 is null, "The sqlite3 command-line tool is not installed; the in-process variants cover the same rules.");
        using var folder = new TempFolder();
        using var client = folder.Client();
        var run = await client.Runs.CreateAsync("0", cancellationToken: Ct);
        var runId = run.Info.RunId;

        var script = new System.Text.StringBuilder(".timeout 20000\n");
        for (var i = 0; i < 300; i++)
        {
            script.Append(System.Globalization.CultureInfo.InvariantCulture, $"INSERT INTO tags (key, value, run_uuid) VALUES ('p{i}', 'v', '{runId}');\n");
        }

        using (var process = Start(sqlite3!, folder.DatabasePath))
        {
            var feed = Task.Run(
                async () =>
                {
                    await process.StandardInput.WriteAsync(script.ToString());
                    process.StandardInput.Close();
                },
                Ct);
            for (var i = 0; i < 300; i++)
            {
                await client.Runs.LogMetricAsync(runId, "m", i, i, cancellationToken: Ct);
            }

            await feed;
            await process.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
            Assert.Equal(0, process.ExitCode);
        }

        var both = await client.Runs.GetAsync(runId, Ct);
        Assert.Equal(300 + 1, both.Data.Tags.Count); // 300 from the other process + mlflow.runName
        Assert.Equal(299.0, Assert.Single(both.Data.Metrics).Value);

        // Kill a process in the middle of a write transaction.
        using (var process = Start(sqlite3!, folder.DatabasePath))
        {
            await process.StandardInput.WriteAsync($".timeout 20000\nBEGIN IMMEDIATE;\nINSERT INTO tags (key, value, run_uuid) VALUES ('killed', 'v', '{runId}');\nSELECT 'ready';\n");
            await process.StandardInput.FlushAsync(Ct);
            Assert.Equal("ready", await process.StandardOutput.ReadLineAsync(Ct));
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(Ct);
        }

        await client.Runs.SetTagAsync(runId, "after-kill", "ok", Ct);
        var after = await client.Runs.GetAsync(runId, Ct);
        Assert.False(after.Data.Tags.ContainsKey("killed"));
        Assert.Equal("ok", after.Data.Tags["after-kill"]);
    }

    [Fact]
    public async Task Large_log_batches_store_every_point_and_keep_latest_metrics()
    {
        // Throughput is measured in tests/MLOpsDemo.Mlflow.Benchmarks (SqliteBenchmarks), not here.
        using var folder = new TempFolder();
        using var client = folder.Client();
        var run = await client.Runs.CreateAsync("0", cancellationToken: Ct);
        const int points = 10_000;
        var batch = new Metric[1000];
        for (var offset = 0; offset < points; offset += batch.Length)
        {
            for (var i = 0; i < batch.Length; i++)
            {
                batch[i] = new Metric("loss", 1.0 / (offset + i + 1), 1_700_000_000_000 + offset + i, offset + i);
            }

            await client.Runs.LogBatchAsync(run.Info.RunId, batch, cancellationToken: Ct);
        }

        using var c = SqliteGolden.Open(folder.DatabasePath);
        Assert.Equal((long)points, SqliteGolden.Scalar(c, "SELECT count(*) FROM metrics"));
        Assert.Equal((long)points - 1, SqliteGolden.Scalar(c, "SELECT step FROM latest_metrics WHERE run_uuid = $r", ("$r", run.Info.RunId)));
    }

    private static Process Start(string exe, string database) =>
        Process.Start(new ProcessStartInfo(exe, [database])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
