namespace MLOpsDemo.Mlflow.Tests.TestSupport;

public class GoldenHarnessTests
{
    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public async Task Experiments_get_by_id_replays_the_recording(string version)
    {
        var (server, client, exchange) = TestClients.Replay(version, "005-experiments-get-by-id");
        using var _ = server;
        using var __ = client;

        var experiment = await client.Experiments.GetAsync("1", TestContext.Current.CancellationToken);

        exchange.AssertRequestMatches(Assert.Single(server.LogEntries));
        Assert.Equal("golden-experiment", experiment.Name);
        Assert.Equal("golden", experiment.Tags["team"]);
    }
}
