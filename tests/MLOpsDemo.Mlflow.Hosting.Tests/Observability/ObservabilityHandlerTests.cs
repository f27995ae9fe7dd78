using System.Net;
using MLOpsDemo.Mlflow.Hosting.Tests.TestSupport;
using MLOpsDemo.Mlflow.Http;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Hosting.Tests.Observability;

public sealed class ObservabilityHandlerTests
{
    private const string Token = "tok-SECRET-4f9a1c";
    private const string Password = "pw-SECRET-77aa";

    [Fact]
    public async Task Client_request_is_logged_traced_and_measured_without_secrets()
    {
        using var server = WireMockServer.Start();
        Stubs.ExperimentGet(server);
        using var capture = new TelemetryCapture(server.Port);
        var logs = new CapturingLoggerProvider();
        using var client = new MlflowClient(new MlflowClientOptions
        {
            TrackingUri = server.Url, Username = "alice", Password = Password, MaxRetries = 0, LoggerFactory = logs,
        });

        var experiment = await client.Experiments.GetAsync("1", TestContext.Current.CancellationToken);

        Assert.Equal("demo", experiment.Name);
        Assert.Contains(logs.Entries, e => e.Category == MlflowObservabilityHandler.LoggerCategory && e.Text.Contains("GET /api/2.0/mlflow/experiments/get answered 200", StringComparison.Ordinal) && e.Text.Contains("attempt 1", StringComparison.Ordinal));
        var activity = Assert.Single(capture.Activities);
        Assert.Equal("GET", activity.DisplayName);
        Assert.Equal("/api/2.0/mlflow/experiments/get", activity.GetTagItem("url.path"));
        Assert.Equal(200, activity.GetTagItem("http.response.status_code"));
        Assert.Equal("localhost", activity.GetTagItem("server.address"));
        var duration = Assert.Single(capture.Measurements, m => m.Instrument == "http.client.request.duration");
        Assert.True(duration.Value > 0);
        Assert.Equal(200, duration.Tags["http.response.status_code"]);
        Assert.DoesNotContain(Password, logs.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain("experiment_id=1", logs.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, capture.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain("Basic", logs.AllText + capture.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retries_become_activity_events_counter_increments_and_logged_attempts()
    {
        using var server = WireMockServer.Start();
        server.Given(Request.Create().WithPath("/x").UsingGet()).InScenario("r").WillSetStateTo("second")
            .RespondWith(Response.Create().WithStatusCode(503));
        server.Given(Request.Create().WithPath("/x").UsingGet()).InScenario("r").WhenStateIs("second")
            .RespondWith(Response.Create().WithStatusCode(200));
        using var capture = new TelemetryCapture(server.Port);
        var logs = new CapturingLoggerProvider();
        var options = new MlflowClientOptions { MaxRetries = 3, BackoffFactor = TimeSpan.Zero, BackoffJitter = TimeSpan.Zero, RespectRetryAfter = false };
        var resilience = new MlflowResilienceHandler(options) { InnerHandler = new MlflowCredentialHandler(MlflowCredential.Bearer(Token)) { InnerHandler = new SocketsHttpHandler() } };
        resilience.Retrying += MlflowObservabilityHandler.RecordRetry;
        using var http = new HttpClient(new MlflowObservabilityHandler(logs) { InnerHandler = resilience });

        using var response = await http.GetAsync(new Uri(server.Url + "/x?token=" + Token), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, server.LogEntries.Count);
        var activity = Assert.Single(capture.Activities);
        var retry = Assert.Single(activity.Events);
        Assert.Equal("retry", retry.Name);
        Assert.Equal(2, retry.Tags.First(t => t.Key == "mlflow.retry.attempt").Value);
        Assert.Equal(503, retry.Tags.First(t => t.Key == "http.response.status_code").Value);
        Assert.Contains(capture.Measurements, m => m.Instrument == "mlflow.client.retries" && m.Value == 1);
        Assert.Contains(logs.Entries, e => e.Text.Contains("answered 200", StringComparison.Ordinal) && e.Text.Contains("attempt 2", StringComparison.Ordinal));
        Assert.Contains(logs.Entries, e => e.Text.Contains("attempt 2 in 0 ms (previous status 503", StringComparison.Ordinal));
        Assert.DoesNotContain(Token, logs.AllText, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, capture.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Error_status_is_logged_as_warning_and_marks_the_activity()
    {
        using var server = WireMockServer.Start();
        server.Given(Request.Create().WithPath("/missing").UsingGet()).RespondWith(Response.Create().WithStatusCode(404));
        using var capture = new TelemetryCapture(server.Port);
        var logs = new CapturingLoggerProvider();
        using var http = new HttpClient(new MlflowObservabilityHandler(logs) { InnerHandler = new SocketsHttpHandler() });

        using var response = await http.GetAsync(new Uri(server.Url + "/missing"), TestContext.Current.CancellationToken);

        Assert.Contains(logs.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning && e.Text.Contains("answered 404", StringComparison.Ordinal));
        var activity = Assert.Single(capture.Activities);
        Assert.Equal(System.Diagnostics.ActivityStatusCode.Error, activity.Status);
        Assert.Equal("404", activity.GetTagItem("error.type"));
    }

    [Fact]
    public void Telemetry_names_are_the_documented_ones()
    {
        Assert.Equal("MLOpsDemo.Mlflow", Diagnostics.MlflowTelemetry.ActivitySourceName);
        Assert.Equal("MLOpsDemo.Mlflow", Diagnostics.MlflowTelemetry.MeterName);
        Assert.Equal("http.client.request.duration", Diagnostics.MlflowTelemetry.RequestDurationInstrument);
        Assert.Equal("mlflow.client.logging.queue.depth", Diagnostics.MlflowTelemetry.QueueDepthInstrument);
    }
}
