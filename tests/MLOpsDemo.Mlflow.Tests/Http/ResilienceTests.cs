using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using MLOpsDemo.Mlflow.Http;
using MLOpsDemo.Mlflow.Tests.TestSupport;
using MLOpsDemo.Mlflow.Tests.Tracking;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace MLOpsDemo.Mlflow.Tests.Http;

public class ResilienceTests : IDisposable
{
    private const string GetRun = "/api/2.0/mlflow/runs/get";
    private const string RunJson = """{"run":{"info":{"run_id":"abc","experiment_id":"1","run_name":"r","status":"RUNNING","start_time":1}}}""";
    private readonly WireMockServer _server = WireMockServer.Start();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _server.Dispose();

    /// <summary>A client that retries without waiting (backoff 0, jitter 0).</summary>
    private MlflowClient Fast(int retries = 7, Action<MlflowClientOptions>? configure = null) =>
        TestClients.For(_server, o =>
        {
            o.MaxRetries = retries;
            o.BackoffFactor = TimeSpan.Zero;
            o.BackoffJitter = TimeSpan.Zero;
            configure?.Invoke(o);
        });

    /// <summary>Stubs consecutive answers for one path: each is used once, the last one for ever after.</summary>
    private void Sequence(string path, params Func<IResponseBuilder>[] responses)
    {
        for (var i = 0; i < responses.Length; i++)
        {
            var given = _server.Given(Request.Create().WithPath(path)).InScenario(path);
            if (i > 0)
            {
                given = given.WhenStateIs($"s{i}");
            }

            if (i < responses.Length - 1)
            {
                given = given.WillSetStateTo($"s{i + 1}");
            }

            given.RespondWith(responses[i]());
        }
    }

    private static IResponseBuilder Status(int status, string body = "{}") =>
        Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body);

    [Fact]
    public async Task Three_503s_then_200_succeeds_after_four_attempts()
    {
        Sequence(GetRun, () => Status(503), () => Status(503), () => Status(503), () => Status(200, RunJson));
        using var client = Fast();
        var run = await client.Runs.GetAsync("abc", Ct);
        Assert.Equal("abc", run.Info.RunId);
        Assert.Equal(4, _server.LogEntries.Count);
    }

    [Theory]
    [InlineData(408)]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(504)]
    public async Task Transient_statuses_are_retried(int status)
    {
        Sequence(GetRun, () => Status(status), () => Status(200, RunJson));
        using var client = Fast();
        await client.Runs.GetAsync("abc", Ct);
        Assert.Equal(2, _server.LogEntries.Count);
    }

    [Fact]
    public async Task Retries_stop_after_MaxRetries_and_the_last_error_is_reported()
    {
        _server.Json("GET", GetRun, """{"error_code":"TEMPORARILY_UNAVAILABLE","message":"busy"}""", 503);
        using var client = Fast(retries: 2);
        var ex = await Assert.ThrowsAsync<MlflowException>(() => client.Runs.GetAsync("abc", Ct));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ex.StatusCode);
        Assert.Equal("TEMPORARILY_UNAVAILABLE", ex.ErrorCode);
        Assert.Equal(3, _server.LogEntries.Count);
    }

    [Fact]
    public async Task A_400_is_not_retried_and_gives_INVALID_PARAMETER_VALUE()
    {
        _server.Json("POST", "/api/2.0/mlflow/runs/log-parameter", """{"error_code":"INVALID_PARAMETER_VALUE","message":"Changing param values is not allowed."}""", 400);
        using var client = Fast();
        var ex = await Assert.ThrowsAsync<MlflowException>(() => client.Runs.LogParamAsync("abc", "lr", "2", Ct));
        Assert.Equal((HttpStatusCode.BadRequest, MlflowErrorCodes.InvalidParameterValue), (ex.StatusCode, ex.ErrorCode));
        Assert.Equal("Changing param values is not allowed.", ex.ServerMessage);
        Assert.Single(_server.LogEntries);
    }

    [Theory]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(404)]
    [InlineData(409)]
    public async Task Other_4xx_are_not_retried(int status)
    {
        _server.Json("GET", GetRun, "{}", status);
        using var client = Fast();
        await Assert.ThrowsAsync<MlflowException>(() => client.Runs.GetAsync("abc", Ct));
        Assert.Single(_server.LogEntries);
    }

    [Fact]
    public async Task A_429_with_Retry_After_1_waits_one_second_on_the_clock()
    {
        var time = new WatchedTimeProvider(DateTimeOffset.UtcNow);
        Sequence(GetRun, () => Status(429).WithHeader("Retry-After", "1"), () => Status(200, RunJson));
        using var client = Fast(configure: o => o.TimeProvider = time);
        var call = client.Runs.GetAsync("abc", Ct);

        // The retry's wait is a 1 s timer on the fake clock. Fake timers fire only inside Advance, so after 990 ms the
        // retry cannot have been sent, whatever the machine's load: no sleep is needed to check that.
        var due = await time.BackoffTimer.Task.WaitAsync(Ct);
        Assert.Equal(TimeSpan.FromSeconds(1), due);
        time.Advance(TimeSpan.FromMilliseconds(990));
        Assert.False(call.IsCompleted);
        Assert.Single(_server.LogEntries);

        time.Advance(TimeSpan.FromMilliseconds(10));
        var run = await call.WaitAsync(Ct);
        Assert.Equal("abc", run.Info.RunId);
        Assert.Equal(2, _server.LogEntries.Count);
    }

    [Fact]
    public async Task A_reset_connection_is_retried()
    {
        using var raw = new RawHttpServer((n, _) => n == 1 ? new RawReply(Reset: true) : new RawReply(Body: RunJson));
        using var client = RawClient(raw);
        Assert.Equal("abc", (await client.Runs.GetAsync("abc", Ct)).Info.RunId);
        Assert.Equal(2, raw.Requests.Count);
    }

    [Fact]
    public async Task A_reset_connection_on_every_attempt_surfaces_as_HttpRequestException()
    {
        using var raw = new RawHttpServer((_, _) => new RawReply(Reset: true));
        using var client = RawClient(raw, retries: 2);
        await Assert.ThrowsAsync<HttpRequestException>(() => client.Runs.GetAsync("abc", Ct));
        Assert.Equal(3, raw.Requests.Count);
    }

    [Fact]
    public async Task A_refused_connection_is_retried_then_reported_as_HttpRequestException()
    {
        var port = FreePort();
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = $"http://127.0.0.1:{port}", MaxRetries = 2, BackoffFactor = TimeSpan.Zero, BackoffJitter = TimeSpan.Zero });
        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => client.Runs.GetAsync("abc", Ct));
        Assert.Equal(SocketError.ConnectionRefused, Assert.IsType<SocketException>(ex.InnerException).SocketErrorCode);
    }

    [Fact]
    public async Task A_refused_connection_is_retried_even_for_creates_and_only_by_the_handler()
    {
        var options = new MlflowClientOptions { TrackingUri = "http://fake", MaxRetries = 3, BackoffFactor = TimeSpan.Zero, BackoffJitter = TimeSpan.Zero };
        var attempts = 0;
        var inner = new StubHandler(_ =>
        {
            attempts++;
            throw new HttpRequestException("refused", new SocketException((int)SocketError.ConnectionRefused));
        });
        using var http = new HttpClient(new MlflowResilienceHandler(options) { InnerHandler = inner });
        using var client = new MlflowClient(http, options);
        await Assert.ThrowsAsync<HttpRequestException>(() => client.Experiments.CreateAsync("e", cancellationToken: Ct));
        Assert.Equal(4, attempts); // MaxRetries + 1, not squared by the create's own loop
    }

    [Fact]
    public async Task An_attempt_that_times_out_is_retried()
    {
        // The first attempt never gets an answer, so the call can only succeed through the attempt timeout and a retry.
        using var raw = new RawHttpServer((n, _) => n == 1 ? new RawReply(Delay: TimeSpan.FromHours(1), Body: RunJson) : new RawReply(Body: RunJson));
        using var client = RawClient(raw, timeout: TimeSpan.FromMilliseconds(300));
        Assert.Equal("abc", (await client.Runs.GetAsync("abc", Ct)).Info.RunId);
        Assert.Equal(2, raw.Requests.Count);
    }

    [Fact]
    public async Task When_every_attempt_times_out_a_TimeoutException_names_the_setting()
    {
        _server.Given(Request.Create().WithPath(GetRun)).RespondWith(Status(200, RunJson).WithDelay(TimeSpan.FromSeconds(3)));
        using var client = Fast(retries: 1, configure: o => o.Timeout = TimeSpan.FromMilliseconds(200));
        var ex = await Assert.ThrowsAsync<TimeoutException>(() => client.Runs.GetAsync("abc", Ct));
        Assert.Contains("MLFLOW_HTTP_REQUEST_TIMEOUT", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/api/2.0/mlflow/runs/get", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancellation_by_the_caller_is_not_retried()
    {
        // The caller cancels once the server holds the first request; the call ends with the cancellation, and no
        // second attempt was made before it ended (a retry could only happen inside the call).
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var raw = new RawHttpServer((_, _) =>
        {
            arrived.TrySetResult();
            return new RawReply(Delay: TimeSpan.FromHours(1), Body: RunJson);
        });
        using var client = RawClient(raw);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var call = client.Runs.GetAsync("abc", cts.Token);
        await arrived.Task.WaitAsync(Ct);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Single(raw.Requests);
    }

    [Fact]
    public async Task Experiment_create_whose_response_is_lost_resolves_by_name_and_creates_one_experiment()
    {
        var fake = new FakeMlflowServer();
        fake.LoseResponses("experiments/create", 1);
        using var client = FakeClient(fake);
        var id = await client.Experiments.CreateAsync("exp", cancellationToken: Ct);
        Assert.Equal(fake.Experiments["exp"], id);
        Assert.Single(fake.Experiments);
        Assert.Equal(["experiments/create", "experiments/create", "experiments/get-by-name"], fake.Calls);
    }

    [Fact]
    public async Task Run_create_whose_response_is_lost_is_found_by_search_and_creates_one_run()
    {
        var fake = new FakeMlflowServer();
        fake.LoseResponses("runs/create", 1);
        using var client = FakeClient(fake);
        var run = await client.Runs.CreateAsync("1", new CreateRunOptions { RunName = "it's \"quoted\"", StartTime = DateTimeOffset.FromUnixTimeMilliseconds(1767225600000) }, Ct);
        var only = Assert.Single(fake.Runs);
        Assert.Equal((string)only["run_id"]!, run.Info.RunId);
        Assert.Equal(["runs/create", "runs/search"], fake.Calls);
    }

    [Fact]
    public async Task Run_create_retries_when_the_lost_attempt_did_not_create_anything()
    {
        var options = new MlflowClientOptions { TrackingUri = "http://fake", MaxRetries = 3, BackoffFactor = TimeSpan.Zero, BackoffJitter = TimeSpan.Zero };
        var fake = new FakeMlflowServer();
        var first = true;
        var inner = new StubHandler(request =>
        {
            if (first && request.RequestUri!.AbsolutePath.EndsWith("runs/create", StringComparison.Ordinal))
            {
                first = false;
                throw new HttpRequestException("reset before the server read the request", new IOException("reset"));
            }

            return null;
        }) { InnerHandler = fake };
        using var http = new HttpClient(new MlflowResilienceHandler(options) { InnerHandler = inner });
        using var client = new MlflowClient(http, options);
        var run = await client.Runs.CreateAsync("1", new CreateRunOptions { RunName = "r" }, Ct);
        Assert.Equal((string)Assert.Single(fake.Runs)["run_id"]!, run.Info.RunId);
        Assert.Equal(["runs/search", "runs/create"], fake.Calls);
    }

    [Fact]
    public async Task Experiment_create_that_times_out_is_resolved_by_name_over_http()
    {
        using var raw = new RawHttpServer((n, line) => n switch
        {
            1 => new RawReply(Delay: TimeSpan.FromSeconds(2), Body: """{"experiment_id":"7"}"""),
            2 => new RawReply(Status: 400, Body: """{"error_code":"RESOURCE_ALREADY_EXISTS","message":"exists"}"""),
            _ => new RawReply(Body: """{"experiment":{"experiment_id":"7","name":"exp"}}"""),
        });
        using var client = RawClient(raw, timeout: TimeSpan.FromMilliseconds(300));
        Assert.Equal("7", await client.Experiments.CreateAsync("exp", cancellationToken: Ct));
        Assert.Equal(["POST /api/2.0/mlflow/experiments/create", "POST /api/2.0/mlflow/experiments/create", "GET /api/2.0/mlflow/experiments/get-by-name?experiment_name=exp"], raw.Requests.Select(r => r.Line));
    }

    [Fact]
    public async Task Experiment_create_whose_connection_resets_after_the_server_acted_creates_one_experiment()
    {
        var created = 0;
        using var raw = new RawHttpServer((n, line) =>
        {
            if (line.Contains("experiments/create", StringComparison.Ordinal))
            {
                // The server creates the experiment the first time, and answers "exists" afterwards.
                return Interlocked.Increment(ref created) == 1 ? new RawReply(Reset: true) : new RawReply(Status: 400, Body: """{"error_code":"RESOURCE_ALREADY_EXISTS"}""");
            }

            return new RawReply(Body: """{"experiment":{"experiment_id":"11","name":"exp"}}""");
        });
        using var client = RawClient(raw);
        Assert.Equal("11", await client.Experiments.CreateAsync("exp", cancellationToken: Ct));
        Assert.Equal(2, created);
    }

    [Fact]
    public async Task Run_create_that_times_out_is_found_by_search_over_http_and_not_sent_again()
    {
        using var raw = new RawHttpServer((n, line) => n == 1
            ? new RawReply(Delay: TimeSpan.FromSeconds(2), Body: RunJson)
            : new RawReply(Body: """{"runs":[{"info":{"run_id":"abc","experiment_id":"1","run_name":"r","status":"RUNNING","start_time":1}}]}"""));
        using var client = RawClient(raw, timeout: TimeSpan.FromMilliseconds(300));
        var run = await client.Runs.CreateAsync("1", new CreateRunOptions { RunName = "r", StartTime = DateTimeOffset.FromUnixTimeMilliseconds(1) }, Ct);
        Assert.Equal("abc", run.Info.RunId);
        var requests = raw.Requests.ToList();
        Assert.Equal(["POST /api/2.0/mlflow/runs/create", "POST /api/2.0/mlflow/runs/search"], requests.Select(r => r.Line));
        var search = System.Text.Json.Nodes.JsonNode.Parse(requests[1].Body)!;
        Assert.Equal("attributes.run_name = 'r' and attributes.start_time = 1", (string)search["filter"]!);
        Assert.Equal("ALL", (string)search["run_view_type"]!);
    }

    [Fact]
    public async Task A_create_answered_500_is_not_retried_by_the_handler_but_resolved_by_the_store()
    {
        Sequence(
            "/api/2.0/mlflow/experiments/create",
            () => Status(500, """{"error_code":"INTERNAL_ERROR"}"""),
            () => Status(400, """{"error_code":"RESOURCE_ALREADY_EXISTS"}"""));
        _server.Json("GET", "/api/2.0/mlflow/experiments/get-by-name", """{"experiment":{"experiment_id":"9","name":"exp"}}""");
        using var client = Fast();
        Assert.Equal("9", await client.Experiments.CreateAsync("exp", cancellationToken: Ct));
    }

    [Fact]
    public async Task A_duplicate_create_without_an_earlier_lost_attempt_still_fails()
    {
        _server.Json("POST", "/api/2.0/mlflow/experiments/create", """{"error_code":"RESOURCE_ALREADY_EXISTS","message":"exists"}""", 400);
        using var client = Fast();
        var ex = await Assert.ThrowsAsync<MlflowException>(() => client.Experiments.CreateAsync("exp", cancellationToken: Ct));
        Assert.Equal(MlflowErrorCodes.ResourceAlreadyExists, ex.ErrorCode);
        Assert.Single(_server.LogEntries);
    }

    [Fact]
    public void Backoff_is_0_then_factor_times_powers_of_two_plus_jitter_capped_at_120_seconds()
    {
        var options = new MlflowClientOptions();
        Assert.Equal(TimeSpan.Zero, MlflowResilienceHandler.ComputeDelay(options, 0, null));
        double[] expected = [4, 8, 16, 32, 64];
        for (var attempt = 1; attempt <= expected.Length; attempt++)
        {
            for (var sample = 0; sample < 50; sample++)
            {
                var seconds = MlflowResilienceHandler.ComputeDelay(options, attempt, null).TotalSeconds;
                Assert.InRange(seconds, expected[attempt - 1], expected[attempt - 1] + 1);
            }
        }

        Assert.Equal(TimeSpan.FromSeconds(120), MlflowResilienceHandler.ComputeDelay(options, 6, null));
        Assert.Equal(TimeSpan.FromSeconds(120), MlflowResilienceHandler.ComputeDelay(options, 10, null));
        var noJitter = new MlflowClientOptions { BackoffFactor = TimeSpan.FromSeconds(1), BackoffJitter = TimeSpan.Zero };
        Assert.Equal(TimeSpan.FromSeconds(2), MlflowResilienceHandler.ComputeDelay(noJitter, 1, null));
    }

    [Fact]
    public void Retry_After_wins_on_429_and_503_unless_disabled_and_is_capped()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(7));
        Assert.Equal(TimeSpan.FromSeconds(7), MlflowResilienceHandler.ComputeDelay(new MlflowClientOptions(), 3, response));
        response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(999));
        Assert.Equal(TimeSpan.FromSeconds(120), MlflowResilienceHandler.ComputeDelay(new MlflowClientOptions(), 3, response));
        var ignoring = new MlflowClientOptions { RespectRetryAfter = false, BackoffJitter = TimeSpan.Zero };
        Assert.Equal(TimeSpan.Zero, MlflowResilienceHandler.ComputeDelay(ignoring, 0, response));
    }

    [Fact]
    public async Task The_credential_refreshes_once_after_a_401()
    {
        Sequence(GetRun, () => Status(401), () => Status(200, RunJson));
        var issued = 0;
        var credential = MlflowCredential.FromTokenProvider(_ => new ValueTask<MlflowAccessToken>(new MlflowAccessToken($"token-{++issued}", DateTimeOffset.UtcNow.AddHours(1))));
        using var client = Fast(configure: o => o.Credential = credential);
        await client.Runs.GetAsync("abc", Ct);
        Assert.Equal(2, issued);
        Assert.Equal(["Bearer token-1", "Bearer token-2"], _server.LogEntries.Select(e => e.RequestMessage.Headers!["Authorization"].Single()));
    }

    [Fact]
    public async Task A_second_401_after_refresh_is_reported_not_retried_again()
    {
        _server.Json("GET", GetRun, """{"error_code":"UNAUTHENTICATED","message":"expired"}""", 401);
        var issued = 0;
        var credential = MlflowCredential.FromTokenProvider(_ => new ValueTask<MlflowAccessToken>(new MlflowAccessToken($"token-{++issued}", DateTimeOffset.UtcNow.AddHours(1))));
        using var client = Fast(configure: o => o.Credential = credential);
        var ex = await Assert.ThrowsAsync<MlflowException>(() => client.Runs.GetAsync("abc", Ct));
        Assert.Equal(HttpStatusCode.Unauthorized, ex.StatusCode);
        Assert.Equal(2, _server.LogEntries.Count);
        Assert.DoesNotContain("token-", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_static_credential_does_not_retry_a_401()
    {
        _server.Json("GET", GetRun, "{}", 401);
        using var client = Fast(configure: o => o.Credential = MlflowCredential.Bearer("static"));
        await Assert.ThrowsAsync<MlflowException>(() => client.Runs.GetAsync("abc", Ct));
        Assert.Single(_server.LogEntries);
    }

    [Fact]
    public async Task Probes_are_not_retried()
    {
        _server.Given(Request.Create().WithPath("/version")).RespondWith(Response.Create().WithStatusCode(503).WithBody("down"));
        using var client = Fast();
        var ex = await Assert.ThrowsAsync<MlflowException>(() => client.GetServerVersionAsync(Ct));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ex.StatusCode);
        Assert.Single(_server.LogEntries);
    }

    private static MlflowClient RawClient(RawHttpServer raw, int retries = 3, TimeSpan? timeout = null) =>
        new(new MlflowClientOptions { TrackingUri = raw.Url, MaxRetries = retries, BackoffFactor = TimeSpan.Zero, BackoffJitter = TimeSpan.Zero, Timeout = timeout ?? TimeSpan.FromSeconds(10) });

    private static MlflowClient FakeClient(FakeMlflowServer fake)
    {
        var options = new MlflowClientOptions { TrackingUri = "http://fake", MaxRetries = 3, BackoffFactor = TimeSpan.Zero, BackoffJitter = TimeSpan.Zero };
        var http = new HttpClient(new MlflowResilienceHandler(options) { InnerHandler = fake });
        return new OwningClient(http, options);
    }

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>A fake clock that reports the first timer shorter than the attempt timeout (the retry's backoff).</summary>
    private sealed class WatchedTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
    {
        public TaskCompletionSource<TimeSpan> BackoffTimer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            if (dueTime > TimeSpan.Zero && dueTime < TimeSpan.FromSeconds(10))
            {
                BackoffTimer.TrySetResult(dueTime);
            }

            return timer;
        }
    }

    /// <summary>Disposes the HttpClient it was given.</summary>
    private sealed class OwningClient : MlflowClient
    {
        private readonly HttpClient _http;

        public OwningClient(HttpClient http, MlflowClientOptions options)
            : base(http, options) => _http = http;

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            _http.Dispose();
        }
    }

    /// <summary>Runs <c>act</c> for each request: it may throw, return a response, or return null to pass on.</summary>
    private sealed class StubHandler(Func<HttpRequestMessage, HttpResponseMessage?> act) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            act(request) is { } response ? Task.FromResult(response) : base.SendAsync(request, cancellationToken);
    }
}
