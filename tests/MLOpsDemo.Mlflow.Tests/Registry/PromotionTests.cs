using MLOpsDemo.Mlflow.Tests.TestSupport;
using WireMock.Server;
using static MLOpsDemo.Mlflow.Tests.Registry.RegistryStubs;

namespace MLOpsDemo.Mlflow.Tests.Registry;

public class PromotionTests
{
    /// <summary>Version 2 (run "cand") is the candidate; version 1 (run "champ") may hold "champion".</summary>
    private static WireMockServer Server(double? candidateAccuracy, double? holderAccuracy, bool hasHolder)
    {
        var server = WireMockServer.Start();
        Json(server, "GET", MlflowApi + "/model-versions/get", $$"""{"model_version": {{Version("iris", "2", "cand")}}}""", query: [("name", "iris"), ("version", "2")]);
        if (hasHolder)
        {
            Json(server, "GET", MlflowApi + "/registered-models/alias", $$"""{"model_version": {{Version("iris", "1", "champ", aliases: "champion")}}}""", query: [("name", "iris"), ("alias", "champion")]);
        }
        else
        {
            Json(server, "GET", MlflowApi + "/registered-models/alias", """{"error_code": "INVALID_PARAMETER_VALUE", "message": "Registered model alias champion not found."}""", 400, query: [("name", "iris"), ("alias", "champion")]);
        }

        Json(server, "GET", MlflowApi + "/runs/get", Run("cand", metrics: Metric(candidateAccuracy)), query: [("run_id", "cand")]);
        Json(server, "GET", MlflowApi + "/runs/get", Run("champ", metrics: Metric(holderAccuracy)), query: [("run_id", "champ")]);
        Json(server, "POST", MlflowApi + "/registered-models/alias", "{}");
        return server;
    }

    private static string? Metric(double? value) => value is null ? null : FormattableString.Invariant($$"""{"key": "accuracy", "value": {{value}}, "timestamp": 1, "step": 0}, {"key": "loss", "value": 0.1, "timestamp": 1, "step": 0}""");

    [Fact]
    public async Task Candidate_that_beats_the_holder_takes_the_alias()
    {
        using var server = Server(0.95, 0.90, hasHolder: true);
        using var client = TestClients.For(server);

        var result = await client.ModelRegistry.PromoteAsync("iris", "2", cancellationToken: TestContext.Current.CancellationToken);

        Assert.True(result.Promoted);
        Assert.Equal(PromotionDecision.PromotedBeatsCurrent, result.Decision);
        Assert.Equal((0.95, 0.90, "1"), (result.CandidateValue!.Value, result.PreviousValue!.Value, result.PreviousVersion!));
        var set = Body(Assert.Single(Calls(server, "POST", "/registered-models/alias")));
        Assert.Equal("""{"name":"iris","alias":"champion","version":"2"}""", set.ToJsonString());
        Assert.Contains("beats version 1", result.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.85)]
    [InlineData(0.90)]
    public async Task Candidate_that_does_not_beat_the_holder_leaves_the_alias(double candidate)
    {
        using var server = Server(candidate, 0.90, hasHolder: true);
        using var client = TestClients.For(server);

        var result = await client.ModelRegistry.PromoteAsync("iris", "2", cancellationToken: TestContext.Current.CancellationToken);

        Assert.False(result.Promoted);
        Assert.Equal(PromotionDecision.KeptCurrentNotBetter, result.Decision);
        Assert.Empty(Calls(server, "POST", "/registered-models/alias"));
        Assert.Contains("does not beat", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lower_is_better_inverts_the_comparison()
    {
        using var server = Server(0.85, 0.90, hasHolder: true);
        using var client = TestClients.For(server);

        var result = await client.ModelRegistry.PromoteAsync("iris", "2", "champion", "accuracy", higherIsBetter: false, TestContext.Current.CancellationToken);

        Assert.Equal(PromotionDecision.PromotedBeatsCurrent, result.Decision);
    }

    [Fact]
    public async Task Without_a_current_holder_the_candidate_is_promoted()
    {
        using var server = Server(0.5, null, hasHolder: false);
        using var client = TestClients.For(server);

        var result = await client.ModelRegistry.PromoteAsync("iris", "2", cancellationToken: TestContext.Current.CancellationToken);

        Assert.True(result.Promoted);
        Assert.Equal(PromotionDecision.PromotedNoCurrentHolder, result.Decision);
        Assert.Null(result.PreviousVersion);
        Assert.Single(Calls(server, "POST", "/registered-models/alias"));
        Assert.DoesNotContain(Calls(server, "GET", "/runs/get"), e => e.RequestMessage.Query!["run_id"].Contains("champ"));
    }

    [Fact]
    public async Task Candidate_without_the_metric_is_never_promoted()
    {
        using var server = Server(null, 0.9, hasHolder: true);
        using var client = TestClients.For(server);

        var result = await client.ModelRegistry.PromoteAsync("iris", "2", cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(PromotionDecision.KeptCandidateHasNoMetric, result.Decision);
        Assert.Empty(Calls(server, "POST", "/registered-models/alias"));
    }

    [Fact]
    public async Task Holder_without_the_metric_loses_the_alias()
    {
        using var server = Server(0.7, null, hasHolder: true);
        using var client = TestClients.For(server);

        var result = await client.ModelRegistry.PromoteAsync("iris", "2", cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(PromotionDecision.PromotedCurrentHasNoMetric, result.Decision);
        Assert.Single(Calls(server, "POST", "/registered-models/alias"));
    }

    [Fact]
    public async Task Reserved_alias_is_refused_before_any_request()
    {
        using var server = WireMockServer.Start();
        using var client = TestClients.For(server);

        await Assert.ThrowsAsync<ArgumentException>(() => client.ModelRegistry.PromoteAsync("iris", "2", alias: "latest", cancellationToken: TestContext.Current.CancellationToken));

        Assert.Empty(server.LogEntries);
    }
}
