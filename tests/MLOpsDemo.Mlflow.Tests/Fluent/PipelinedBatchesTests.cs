using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;

namespace MLOpsDemo.Mlflow.Tests.Fluent;

/// <summary>
/// The run's sender with several log-batch requests in flight (<see cref="RunLoggingOptions.MaxConcurrentBatches"/>),
/// against an in-process server whose requests the test holds and releases explicitly. Time is a
/// <see cref="FakeTimeProvider"/> that never moves, so batches go out only when full or flushed, and retries wait
/// <see cref="TimeSpan.Zero"/>: every step is driven by the test's signals, not the clock.
/// </summary>
public class PipelinedBatchesTests
{
    private const string RunId = "0123456789abcdef0123456789abcdef";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static MlflowClient Client(PipelineServer server, int maxConcurrentBatches, int bufferCapacity = 100_000)
    {
        var options = new MlflowClientOptions
        {
            TrackingUri = "http://pipeline.test/",
            MaxRetries = 0,
            TimeProvider = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_000)),
        };
        options.Logging.MaxConcurrentBatches = maxConcurrentBatches;
        options.Logging.BufferCapacity = bufferCapacity;
        options.Logging.RetryBackoff = TimeSpan.Zero;
        options.Logging.MaxRetryBackoff = TimeSpan.Zero;
        options.Logging.RetryTimeout = Timeout.InfiniteTimeSpan;
        return new MlflowClient(new HttpClient(server) { BaseAddress = new Uri("http://pipeline.test/") }, options)
        {
            EnvironmentReader = _ => null,
        };
    }

    private static Task<MlflowRun> StartAsync(MlflowClient client) =>
        client.StartRunAsync(new StartRunOptions { ExperimentId = "0" }, Ct);

    private static void LogSteps(MlflowRun run, string key, int from, int count)
    {
        for (var i = from; i < from + count; i++)
        {
            run.LogMetric(key, i * 0.25, step: i);
        }
    }

    [Fact]
    public async Task Four_batches_are_in_flight_at_once_and_every_point_is_stored_exactly_once()
    {
        using var server = new PipelineServer { Hold = true };
        using var client = Client(server, maxConcurrentBatches: 4);
        await using var run = await StartAsync(client);

        LogSteps(run, "loss", 0, 6000); // six full batches
        await server.WaitForHeldAsync(4).WaitAsync(Ct);
        Assert.Equal(4, server.Held); // the fifth waits for a free slot

        var flush = run.FlushAsync(Ct);
        server.Hold = false;
        server.ReleaseAll();
        await flush;

        Assert.Equal(4, server.MaxInFlight);
        var steps = server.Metrics.Where(m => m.Key == "loss").Select(m => m.Step).Order().ToList();
        Assert.Equal(Enumerable.Range(0, 6000).Select(i => (long)i), steps);
    }

    [Fact]
    public async Task One_concurrent_batch_keeps_one_request_in_flight_and_the_arrival_order()
    {
        using var server = new PipelineServer();
        using var client = Client(server, maxConcurrentBatches: 1);
        await using var run = await StartAsync(client);

        LogSteps(run, "loss", 0, 5500);
        await run.FlushAsync(Ct);

        Assert.Equal(1, server.MaxInFlight);
        Assert.Equal(Enumerable.Range(0, 5500).Select(i => (long)i), server.Metrics.Select(m => m.Step));
    }

    [Fact]
    public async Task A_tag_set_twice_ends_with_its_last_value_while_metric_batches_overtake()
    {
        using var server = new PipelineServer { Hold = true };
        using var client = Client(server, maxConcurrentBatches: 4);
        await using var run = await StartAsync(client);

        run.SetTag("phase", "first");
        LogSteps(run, "a", 0, 999);      // batch A: the first tag and 999 metrics
        LogSteps(run, "b", 0, 1000);     // batch B: metrics only
        run.SetTag("phase", "second");
        LogSteps(run, "c", 0, 999);      // batch C: the second tag; waits for A
        LogSteps(run, "d", 0, 1000);     // batch D: metrics only
        await server.WaitForHeldAsync(3).WaitAsync(Ct); // A, B and D reach the server; C does not while A is open

        Assert.DoesNotContain(server.Attempts, body => TagValue(body) == "second");
        server.Release(body => TagValue(body) is null); // B and D complete before A: metrics overtake
        await server.WaitForCompletedAsync(2).WaitAsync(Ct);
        Assert.DoesNotContain(server.Attempts, body => TagValue(body) == "second");

        var flush = run.FlushAsync(Ct);
        server.Hold = false;
        server.ReleaseAll();
        await flush;

        Assert.Equal("second", server.Tags["phase"]);
        var events = server.Events.ToList();
        var firstDone = events.IndexOf(("completed", "first"));
        var secondSent = events.IndexOf(("arrived", "second"));
        Assert.True(firstDone >= 0 && secondSent > firstDone, string.Join(", ", events));
        foreach (var key in new[] { "a", "b", "c", "d" })
        {
            Assert.Equal(key is "a" or "c" ? 999 : 1000, server.Metrics.Count(m => m.Key == key));
        }
    }

    [Fact]
    public async Task While_the_server_is_down_points_are_retried_and_a_later_param_is_not_sent_before_the_earlier_one()
    {
        using var server = new PipelineServer();
        using var client = Client(server, maxConcurrentBatches: 4);
        await using var run = await StartAsync(client);

        LogSteps(run, "loss", 0, 2000);
        await run.FlushAsync(Ct);
        Assert.Equal(2000, server.Metrics.Count);

        server.Down = true; // the server goes away: connections are refused
        run.LogParam("lr", "0.1");
        LogSteps(run, "loss", 2000, 999); // param batch P1
        LogSteps(run, "loss", 2999, 3000);
        run.LogParam("epochs", "10");
        run.SetTag("state", "after-restart");
        LogSteps(run, "loss", 5999, 998); // param batch P2: must not go out while P1 fails
        var flush = run.FlushAsync(Ct);
        await server.WaitForRefusedAsync(50).WaitAsync(Ct); // several batches keep failing and are retried

        Assert.Equal(0, server.RefusedWithParam("epochs"));
        Assert.DoesNotContain(server.Attempts, body => ParamKeys(body).Contains("epochs"));
        Assert.False(flush.IsCompleted, "FlushAsync returned while the server was down.");
        server.Down = false; // ... and comes back
        await flush;

        var steps = server.Metrics.Select(m => m.Step).Order().ToList();
        Assert.Equal(Enumerable.Range(0, 6997).Select(i => (long)i), steps); // exactly once
        Assert.Equal(1, server.Attempts.Count(body => ParamKeys(body).Contains("epochs"))); // sent once, after P1 was stored
        Assert.Equal(["lr", "epochs"], server.ParamOrder);
        Assert.Equal("after-restart", server.Tags["state"]);
    }

    [Fact]
    public async Task A_batch_rejected_with_400_among_batches_in_flight_is_never_retried_and_reported_once()
    {
        using var server = new PipelineServer { Reject = body => body["metrics"]?.AsArray().Any(m => (string)m!["key"]! == "bad") == true };
        using var client = Client(server, maxConcurrentBatches: 4);
        await using var run = await StartAsync(client);
        var failures = new List<MlflowLoggingFailedEventArgs>();
        run.LoggingFailed += (_, e) =>
        {
            lock (failures)
            {
                failures.Add(e);
            }
        };

        LogSteps(run, "good", 0, 2000);
        LogSteps(run, "bad", 0, 1000);
        LogSteps(run, "good", 2000, 2000);
        var error = await Assert.ThrowsAsync<MlflowException>(() => run.FlushAsync(Ct));

        Assert.Contains("1000 point(s)", error.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, Assert.IsType<MlflowException>(error.InnerException).StatusCode);
        Assert.Equal(1, server.Attempts.Count(body => body["metrics"]!.AsArray().Any(m => (string)m!["key"]! == "bad")));
        Assert.Equal(1000, Assert.Single(failures).Metrics);
        Assert.Equal(4000, server.Metrics.Count(m => m.Key == "good"));
        await run.FlushAsync(Ct); // reported once
    }

    [Fact]
    public async Task Eight_runs_of_one_client_take_its_slots_in_turn_and_none_starves()
    {
        using var server = new PipelineServer { Hold = true };
        using var client = Client(server, maxConcurrentBatches: 2);
        var runs = new List<MlflowRun>();
        for (var r = 0; r < 8; r++)
        {
            runs.Add(await StartAsync(client));
        }

        foreach (var run in runs)
        {
            LogSteps(run, "loss", 0, 3000); // three full batches per run
        }

        // Two batches reach the server, and every run's sender then waits: for one of the client's two slots, or (a run
        // whose two batches got both slots) for its own requests. More than two held means the slots are per run.
        await server.WaitForHeldAsync(2).WaitAsync(Ct);
        int waiting;
        while ((waiting = client.LogBatchSlots.Waiting) < 8 - server.RunsHoldingTwo && server.Held <= 2)
        {
            await Task.Delay(5, Ct);
        }

        Assert.Equal(2, server.Held);

        // Release one request at a time: the slots go to the senders in the order they asked, so the next requests are
        // the ones that were waiting, which include the first batch of every run that had none at the server.
        var firstN = 2 + waiting;
        for (var arrived = 2; arrived < firstN; arrived++)
        {
            server.ReleaseOldest();
            await server.WaitForArrivedAsync(arrived + 1).WaitAsync(Ct);
        }

        Assert.Equal(8, server.Attempts.Take(firstN).Select(b => (string)b["run_id"]!).Distinct().Count());

        var flushes = runs.Select(r => r.FlushAsync(Ct)).ToList();
        server.Hold = false;
        server.ReleaseAll();
        await Task.WhenAll(flushes);
        foreach (var run in runs)
        {
            await run.DisposeAsync();
        }

        Assert.Equal(2, server.MaxInFlight); // the client's slots, not two per run
        Assert.Equal(8 * 3000, server.Metrics.Count);
        Assert.All(server.Metrics.GroupBy(m => m.RunId), g => Assert.Equal(Enumerable.Range(0, 3000).Select(i => (long)i), g.Select(m => m.Step).Order()));
    }

    private static string? TagValue(JsonObject body) =>
        body["tags"]?.AsArray().Select(t => (string?)t!["value"]).FirstOrDefault();

    private static List<string> ParamKeys(JsonObject body) =>
        body["params"]?.AsArray().Select(p => (string)p!["key"]!).ToList() ?? [];

    /// <summary>
    /// An in-process MLflow server for the run's requests (runs/create, runs/update, runs/log-batch) that can hold
    /// log-batch requests until released, refuse connections (<see cref="Down"/>) or reject batches with 400.
    /// Stored tags keep the value of the last batch applied, as MLflow does.
    /// </summary>
    private sealed class PipelineServer : HttpMessageHandler
    {
        private readonly object _gate = new();
        private readonly List<(JsonObject Body, TaskCompletionSource Release)> _held = new();
        private readonly List<(Func<bool> Condition, TaskCompletionSource Signal)> _waiters = new();
        private readonly Dictionary<string, int> _refusedParams = new();
        private readonly List<JsonObject> _attempts = new();
        private int _inFlight;
        private int _completed;
        private int _refused;
        private int _runs;

        public volatile bool Hold;
        public volatile bool Down;

        public Func<JsonObject, bool>? Reject { get; init; }

        public int MaxInFlight { get; private set; }

        public int Held
        {
            get
            {
                lock (_gate)
                {
                    return _held.Count;
                }
            }
        }

        public int RunsHoldingTwo
        {
            get
            {
                lock (_gate)
                {
                    return _held.GroupBy(h => (string)h.Body["run_id"]!).Count(g => g.Count() >= 2);
                }
            }
        }

        /// <summary>A snapshot of the bodies of the log-batch requests that reached the server while it was up.</summary>
        public List<JsonObject> Attempts
        {
            get
            {
                lock (_gate)
                {
                    return _attempts.ToList();
                }
            }
        }

        public List<(string RunId, string Key, long Step)> Metrics { get; } = new();

        public Dictionary<string, string> Tags { get; } = new();

        public List<string> ParamOrder { get; } = new();

        public List<(string Event, string? Tag)> Events { get; } = new();

        public int RefusedWithParam(string key)
        {
            lock (_gate)
            {
                return _refusedParams.GetValueOrDefault(key);
            }
        }

        public Task WaitForHeldAsync(int count) => When(() => _held.Count >= count);

        public Task WaitForCompletedAsync(int count) => When(() => _completed >= count);

        public Task WaitForArrivedAsync(int count) => When(() => _attempts.Count >= count);

        public Task WaitForRefusedAsync(int count) => When(() => _refused >= count);

        public void Release(Func<JsonObject, bool> which)
        {
            List<TaskCompletionSource> released;
            lock (_gate)
            {
                released = _held.Where(h => which(h.Body)).Select(h => h.Release).ToList();
                _held.RemoveAll(h => which(h.Body));
            }

            released.ForEach(r => r.TrySetResult());
        }

        public void ReleaseAll() => Release(_ => true);

        public void ReleaseOldest()
        {
            TaskCompletionSource release;
            lock (_gate)
            {
                release = _held[0].Release;
                _held.RemoveAt(0);
            }

            release.TrySetResult();
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            var text = request.Content is null ? "{}" : await request.Content.ReadAsStringAsync(cancellationToken);
            var body = JsonNode.Parse(text)!.AsObject();
            if (path.EndsWith("/runs/create", StringComparison.Ordinal))
            {
                var id = $"{RunId[..24]}{Interlocked.Increment(ref _runs):x8}";
                var run = new JsonObject
                {
                    ["info"] = new JsonObject { ["run_id"] = id, ["run_uuid"] = id, ["experiment_id"] = "0", ["status"] = "RUNNING", ["lifecycle_stage"] = "active", ["start_time"] = 1, ["artifact_uri"] = $"mlflow-artifacts:/0/{id}/artifacts" },
                    ["data"] = new JsonObject { ["tags"] = new JsonArray() },
                };
                return Json(200, new JsonObject { ["run"] = run }.ToJsonString());
            }

            if (path.EndsWith("/runs/update", StringComparison.Ordinal))
            {
                return Json(200, """{"run_info":{}}""");
            }

            if (!path.EndsWith("/runs/log-batch", StringComparison.Ordinal))
            {
                return Json(404, """{"error_code":"ENDPOINT_NOT_FOUND","message":"not served by this test server"}""");
            }

            if (Down)
            {
                lock (_gate)
                {
                    _refused++;
                    foreach (var key in ParamKeys(body))
                    {
                        _refusedParams[key] = _refusedParams.GetValueOrDefault(key) + 1;
                    }

                    Signal();
                }

                await Task.Yield(); // retries wait zero: keep the refusals from spinning one thread
                throw new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (pipeline.test:80)", new SocketException((int)SocketError.ConnectionRefused));
            }

            TaskCompletionSource? release = null;
            lock (_gate)
            {
                _attempts.Add(body);
                Events.Add(("arrived", TagValue(body)));
                MaxInFlight = Math.Max(MaxInFlight, ++_inFlight);
                if (Hold)
                {
                    release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    _held.Add((body, release));
                }

                Signal();
            }

            if (release is not null)
            {
                await release.Task.WaitAsync(cancellationToken);
            }

            lock (_gate)
            {
                _inFlight--;
                _completed++;
                Events.Add(("completed", TagValue(body)));
                try
                {
                    if (Reject?.Invoke(body) == true)
                    {
                        return Json(400, """{"error_code":"INVALID_PARAMETER_VALUE","message":"Rejected by the test server."}""");
                    }

                    var runId = (string)body["run_id"]!;
                    foreach (var m in body["metrics"]?.AsArray() ?? [])
                    {
                        Metrics.Add((runId, (string)m!["key"]!, (long)m["step"]!));
                    }

                    foreach (var p in body["params"]?.AsArray() ?? [])
                    {
                        ParamOrder.Add((string)p!["key"]!);
                    }

                    foreach (var t in body["tags"]?.AsArray() ?? [])
                    {
                        Tags[(string)t!["key"]!] = (string)t["value"]!;
                    }

                    return Json(200, "{}");
                }
                finally
                {
                    Signal();
                }
            }
        }

        private static HttpResponseMessage Json(int status, string json) =>
            new((HttpStatusCode)status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

        private Task When(Func<bool> condition)
        {
            lock (_gate)
            {
                if (condition())
                {
                    return Task.CompletedTask;
                }

                var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Add((condition, signal));
                return signal.Task;
            }
        }

        private void Signal()
        {
            foreach (var waiter in _waiters.Where(w => w.Condition()).ToList())
            {
                _waiters.Remove(waiter);
                waiter.Signal.TrySetResult();
            }
        }
    }
}
