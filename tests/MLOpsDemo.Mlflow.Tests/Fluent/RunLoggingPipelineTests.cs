using System.Text.Json.Nodes;

namespace MLOpsDemo.Mlflow.Tests.Fluent;

public class RunLoggingPipelineTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Parses the metrics of every log-batch request the server answered 200, from WireMock's request log.</summary>
    private static List<(string Key, long Step)> LoggedMetrics(FakeMlflowServer server) =>
        server.Server.LogEntries
            .Where(e => e.RequestMessage.Path.EndsWith("runs/log-batch", StringComparison.Ordinal) && (int)e.ResponseMessage.StatusCode! == 200)
            .OrderBy(e => e.RequestMessage.DateTime)
            .SelectMany(e => JsonNode.Parse(e.RequestMessage.Body!)!["metrics"]?.AsArray() ?? [])
            .Select(m => ((string)m!["key"]!, (long)m["step"]!))
            .ToList();

    /// <summary>
    /// Every step of every key exactly once. Batches of metrics may be stored in any order when several are in flight
    /// (MaxConcurrentBatches); MLflow orders a history by step and timestamp, so only the set is compared.
    /// </summary>
    private static void AssertExactlyOnce(List<(string Key, long Step)> metrics, int tasks, int perTask)
    {
        Assert.Equal(tasks * perTask, metrics.Count);
        Assert.Equal(tasks * perTask, metrics.Distinct().Count());
        foreach (var group in metrics.GroupBy(m => m.Key))
        {
            Assert.Equal(Enumerable.Range(0, perTask).Select(i => (long)i), group.Select(m => m.Step).Order());
        }

        Assert.Equal(tasks, metrics.Select(m => m.Key).Distinct().Count());
    }

    [Fact]
    public async Task Eight_tasks_logging_ten_thousand_points_each_arrive_exactly_once()
    {
        using var server = new FakeMlflowServer();
        using var client = server.CreateClient();
        await using (var run = await client.StartRunAsync(cancellationToken: Ct))
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(
                () =>
                {
                    for (var i = 0; i < 10_000; i++)
                    {
                        run.LogMetric($"task{t}", i * 0.5, step: i);
                    }
                },
                Ct)));
        }

        var metrics = LoggedMetrics(server);
        AssertExactlyOnce(metrics, 8, 10_000);
        Assert.All(server.Batches, b => Assert.True(b["metrics"]!.AsArray().Count <= 1000));
    }

    [Fact]
    public async Task While_the_server_answers_503_points_stay_buffered_and_all_arrive_exactly_once()
    {
        using var server = new FakeMlflowServer();
        // An outage of exactly six refused log-batch calls, started after the first 1000 points are stored: counted,
        // not timed, so the test means the same on a fast and on a loaded machine.
        var outage = 0;
        var refused = 0;
        server.LogBatchStatus = _ =>
        {
            if (Interlocked.Decrement(ref outage) >= 0)
            {
                Interlocked.Increment(ref refused);
                return 503;
            }

            return 200;
        };
        using var client = server.CreateClient(o => o.MaxRetries = 1);
        await using (var run = await client.StartRunAsync(cancellationToken: Ct))
        {
            for (var i = 0; i < 3000; i++)
            {
                run.LogMetric("a", i, step: i);
                run.LogMetric("b", -i, step: i);
                if (i == 1000)
                {
                    await run.FlushAsync(Ct);
                    Volatile.Write(ref outage, 6);
                }
            }

            await run.FlushAsync(Ct);
            Assert.Equal(6, Volatile.Read(ref refused)); // FlushAsync returned only after the outage was over
        }

        Assert.True(refused > 0, "The outage was not exercised.");
        AssertExactlyOnce(LoggedMetrics(server), 2, 3000);
    }

    [Fact]
    public async Task A_permanent_400_is_reported_with_the_count_on_the_next_flush_and_as_an_event()
    {
        using var server = new FakeMlflowServer();
        server.LogBatchStatus = body => body["params"] is not null ? 400 : 200;
        using var client = server.CreateClient(o => o.Logging.FlushInterval = TimeSpan.FromHours(1));
        await using var run = await client.StartRunAsync(cancellationToken: Ct);
        var events = new List<MlflowLoggingFailedEventArgs>();
        run.LoggingFailed += (_, e) => events.Add(e);

        run.LogParam("lr", "0.1");
        run.LogMetric("m1", 1);
        run.LogMetric("m2", 2);
        var ex = await Assert.ThrowsAsync<MlflowException>(() => run.FlushAsync(Ct));

        Assert.Contains("3 point(s)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("2 metric(s), 1 param(s), 0 tag(s)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Changing param values is not allowed", ex.Message, StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, Assert.IsType<MlflowException>(ex.InnerException).StatusCode);
        var failure = Assert.Single(events);
        Assert.Equal((2, 1, 0, 3), (failure.Metrics, failure.Params, failure.Tags, failure.Total));
        Assert.Equal(run.RunId, failure.RunId);

        // Reported once; later points are unaffected.
        run.LogMetric("m3", 3);
        await run.FlushAsync(Ct);
        Assert.Equal(["m3"], server.MetricsOf(run.RunId).Select(m => m.Key));
    }

    [Fact]
    public async Task Points_lost_before_dispose_make_dispose_throw_after_ending_the_run()
    {
        using var server = new FakeMlflowServer();
        server.LogBatchStatus = _ => 400;
        using var client = server.CreateClient();
        var run = await client.StartRunAsync(cancellationToken: Ct);
        run.LogMetric("m", 1);
        var ex = await Assert.ThrowsAsync<MlflowException>(async () => await run.DisposeAsync());
        Assert.Contains("1 point(s)", ex.Message, StringComparison.Ordinal);
        Assert.Equal([(run.RunId, "FINISHED")], server.Updates);
        await run.DisposeAsync(); // reported once
    }

    [Fact]
    public async Task A_full_buffer_throws_when_configured_and_keeps_what_it_accepted()
    {
        using var server = new FakeMlflowServer();
        var down = 1;
        server.LogBatchStatus = _ => Volatile.Read(ref down) == 1 ? 503 : 200;
        using var client = server.CreateClient(o =>
        {
            o.Logging.BufferCapacity = 10;
            o.Logging.FullMode = BufferFullMode.Throw;
        });
        await using var run = await client.StartRunAsync(cancellationToken: Ct);
        var accepted = 0;
        InvalidOperationException? full = null;
        for (var attempt = 0; full is null && attempt < 1_000_000; attempt++) // bounded by count: the server stays down
        {
            try
            {
                run.LogMetric("m", accepted, step: accepted);
                accepted++;
            }
            catch (InvalidOperationException ex)
            {
                full = ex;
            }

            if (accepted % 100 == 0)
            {
                await Task.Yield();
            }
        }

        Assert.NotNull(full);
        Assert.Contains("buffer", full.Message, StringComparison.Ordinal);
        Assert.InRange(accepted, 10, 1010);
        Volatile.Write(ref down, 0);
        await run.FlushAsync(Ct);
        Assert.Equal(Enumerable.Range(0, accepted).Select(i => (long)i), server.MetricsOf(run.RunId).Select(m => m.Step).Order());
    }

    [Fact]
    public async Task A_full_buffer_makes_logging_wait_until_there_is_room()
    {
        using var server = new FakeMlflowServer();
        var down = 1;
        using var refusals = new SemaphoreSlim(0);
        server.LogBatchStatus = _ =>
        {
            if (Volatile.Read(ref down) == 1)
            {
                refusals.Release();
                return 503;
            }

            return 200;
        };
        using var client = server.CreateClient(o => o.Logging.BufferCapacity = 10);
        await using var run = await client.StartRunAsync(cancellationToken: Ct);
        var logged = 0;
        var producer = Task.Run(
            () =>
            {
                for (var i = 0; i < 10_000; i++)
                {
                    run.LogMetric("m", i, step: i);
                    Volatile.Write(ref logged, i + 1);
                }
            },
            Ct);

        try
        {
            // While the server is down nothing leaves the buffer (10), the batch being filled and the batches in flight
            // (up to 1000 points each), so the producer of 10,000 points cannot finish: it must be waiting, not
            // dropping. Wait until the sender has been refused a few times (a signal, not a sleep), then check.
            for (var k = 0; k < 3; k++)
            {
                await refusals.WaitAsync(Ct);
            }

            Assert.False(producer.IsCompleted, "Logging should wait while the buffer is full.");
            Assert.InRange(Volatile.Read(ref logged), 10, 10 + ((RunLoggingOptions.DefaultMaxConcurrentBatches + 1) * 1000));
        }
        finally
        {
            Volatile.Write(ref down, 0);
        }

        await producer.WaitAsync(Ct);
        await run.FlushAsync(Ct);
        Assert.Equal(10_000, server.MetricsOf(run.RunId).Count);
    }

    [Fact]
    public async Task Points_wait_for_the_flush_interval_on_the_clock_and_go_at_once_on_dispose()
    {
        using var server = new FakeMlflowServer();
        var time = new IntervalWatchingTimeProvider(TimeSpan.FromSeconds(5));
        using var client = server.CreateClient(o =>
        {
            o.TimeProvider = time;
            o.Logging.FlushInterval = TimeSpan.FromSeconds(5);
        });

        // The sender holds the point in a batch and arms a 5 s timer on the (fake) clock. Fake timers fire only inside
        // Advance, so just short of 5 s nothing can have been sent, whatever the machine's load.
        var first = await client.StartRunAsync(cancellationToken: Ct);
        first.LogMetric("m", 1);
        first.SetTag("t", "v");
        await time.IntervalTimerArmed.Task.WaitAsync(Ct);
        time.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromMilliseconds(1));
        Assert.Empty(server.Batches);

        // At the interval the batch goes out by itself, without a flush.
        var sent = server.NextBatch();
        time.Advance(TimeSpan.FromMilliseconds(1));
        await sent.WaitAsync(Ct);
        Assert.Single(server.MetricsOf(first.RunId));
        Assert.Single(server.PairsOf(first.RunId, "tags"));

        // Dispose sends what is buffered at once, without waiting for the interval.
        var second = await client.StartRunAsync(cancellationToken: Ct);
        second.LogMetric("m", 2);
        await second.DisposeAsync();
        Assert.Single(server.MetricsOf(second.RunId));
        await first.DisposeAsync();
    }

    /// <summary>A fake clock that signals when a timer of the flush interval is armed.</summary>
    private sealed class IntervalWatchingTimeProvider(TimeSpan interval) : Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_000))
    {
        public TaskCompletionSource IntervalTimerArmed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            if (dueTime > TimeSpan.Zero && dueTime <= interval)
            {
                IntervalTimerArmed.TrySetResult();
            }

            return timer;
        }
    }

    [Fact]
    public async Task Batches_respect_the_server_limits_and_never_repeat_a_param_key()
    {
        using var server = new FakeMlflowServer();
        server.LogBatchStatus = body =>
        {
            var keys = body["params"]?.AsArray().Select(p => (string)p!["key"]!).ToList() ?? [];
            return keys.Count != keys.Distinct().Count() ? 400 : 200;
        };
        using var client = server.CreateClient(o => o.Logging.FlushInterval = TimeSpan.FromHours(1));
        await using var run = await client.StartRunAsync(cancellationToken: Ct);
        for (var i = 0; i < 250; i++)
        {
            run.LogParam($"p{i}", i);
        }

        run.LogParam("p0", 0); // same value again: harmless
        for (var i = 0; i < 30; i++)
        {
            run.SetTag($"t{i}", "v");
        }

        run.SetTag("t0", "last"); // a repeated tag keeps the last value
        for (var i = 0; i < 2500; i++)
        {
            run.LogMetric("m", i, step: i);
        }

        await run.FlushAsync(Ct);

        foreach (var batch in server.Batches)
        {
            var m = batch["metrics"]?.AsArray().Count ?? 0;
            var p = batch["params"]?.AsArray().Count ?? 0;
            var t = batch["tags"]?.AsArray().Count ?? 0;
            Assert.InRange(m + p + t, 1, 1000);
            Assert.True(p <= 100 && t <= 100, $"batch with {p} params and {t} tags");
        }

        Assert.Equal(250, server.PairsOf(run.RunId, "params").Select(p => p.Key).Distinct().Count());
        Assert.InRange(server.PairsOf(run.RunId, "params").Count, 250, 251); // p0 again may go in a later batch: a no-op for the server
        Assert.Equal("last", server.PairsOf(run.RunId, "tags").Last(t => t.Key == "t0").Value);
        Assert.Equal(2500, server.MetricsOf(run.RunId).Count);
    }
}
