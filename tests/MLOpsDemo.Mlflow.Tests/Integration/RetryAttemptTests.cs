using System.Net;
using MLOpsDemo.Mlflow.Http;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Tests.Integration;

/// <summary><see cref="MlflowRetryEventArgs.Attempt"/> is the number of the attempt about to be made: 2, 3, … .</summary>
public class RetryAttemptTests
{
    [Fact]
    public async Task Each_retry_reports_the_number_of_the_next_attempt_and_the_status_that_caused_it()
    {
        using var server = WireMockServer.Start();
        var path = "/api/2.0/mlflow/experiments/get";
        server.Given(Request.Create().WithPath(path).UsingGet()).InScenario("flaky").WillSetStateTo("2")
            .RespondWith(Response.Create().WithStatusCode(HttpStatusCode.ServiceUnavailable));
        server.Given(Request.Create().WithPath(path).UsingGet()).InScenario("flaky").WhenStateIs("2").WillSetStateTo("3")
            .RespondWith(Response.Create().WithStatusCode(HttpStatusCode.TooManyRequests));
        server.Given(Request.Create().WithPath(path).UsingGet()).InScenario("flaky").WhenStateIs("3")
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody("""{"experiment": {"experiment_id": "1", "name": "x"}}"""));
        var options = new MlflowClientOptions { MaxRetries = 5, BackoffFactor = TimeSpan.Zero, BackoffJitter = TimeSpan.Zero };
        var events = new List<MlflowRetryEventArgs>();
        using var handler = new MlflowResilienceHandler(options) { InnerHandler = new HttpClientHandler() };
        handler.Retrying += (_, e) => events.Add(e);
        using var http = new HttpClient(handler);

        using var response = await http.GetAsync(new Uri(server.Url + path + "?experiment_id=1"), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, server.LogEntries.Count);
        Assert.Equal([(2, 503), (3, 429)], events.Select(e => (e.Attempt, e.StatusCode ?? 0)));
    }

    [Fact]
    public async Task The_last_attempt_number_reported_equals_the_total_number_of_requests_when_retries_run_out()
    {
        using var server = WireMockServer.Start();
        server.Given(Request.Create().UsingGet()).RespondWith(Response.Create().WithStatusCode(HttpStatusCode.BadGateway));
        var options = new MlflowClientOptions { MaxRetries = 2, BackoffFactor = TimeSpan.Zero, BackoffJitter = TimeSpan.Zero };
        var events = new List<MlflowRetryEventArgs>();
        using var handler = new MlflowResilienceHandler(options) { InnerHandler = new HttpClientHandler() };
        handler.Retrying += (_, e) => events.Add(e);
        using var http = new HttpClient(handler);

        using var response = await http.GetAsync(new Uri(server.Url + "/api/2.0/mlflow/experiments/get?experiment_id=1"), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal([2, 3], events.Select(e => e.Attempt));
        Assert.Equal(events[^1].Attempt, server.LogEntries.Count);
    }
}
