using MLOpsDemo.Mlflow.Tests.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace MLOpsDemo.Mlflow.Tests.Fluent;

/// <summary>The requests the fluent API sends match the recordings of real MLflow servers.</summary>
public class FluentGoldenTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public async Task Buffered_logging_sends_the_recorded_log_batch(string version)
    {
        using var server = new FakeMlflowServer();
        using var client = server.CreateClient(o => o.Logging.FlushInterval = TimeSpan.FromHours(1));
        await using var run = await client.StartRunAsync(cancellationToken: Ct);

        run.LogMetric("loss", 0.5, step: 2, timestamp: DateTimeOffset.FromUnixTimeMilliseconds(1767225604000));
        run.LogMetric("loss", 0.3, step: 3, timestamp: DateTimeOffset.FromUnixTimeMilliseconds(1767225605000));
        run.LogMetric("acc", 0.92, step: 3, timestamp: DateTimeOffset.FromUnixTimeMilliseconds(1767225605000));
        run.LogParam("batch_size", 32);
        run.LogParam("optimizer", "adam");
        run.SetTag("stage", "dev");
        await run.FlushAsync(Ct);

        var entry = Assert.Single(server.Server.LogEntries, e => e.RequestMessage.Path.EndsWith("runs/log-batch", StringComparison.Ordinal));
        GoldenExchange.Load(version, "036-runs-log-batch-metrics-params-tags").AssertRequestMatches(entry);
    }

    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public async Task LogInputAsync_sends_the_recorded_log_inputs(string version)
    {
        using var server = new FakeMlflowServer();
        using var client = server.CreateClient();
        await using var run = await client.StartRunAsync(cancellationToken: Ct);

        await run.LogInputAsync(
            new Dataset
            {
                Name = "golden-iris",
                Digest = "3f2e1d0c",
                SourceType = "local",
                Source = "{\"uri\": \"file:///data/iris.csv\"}",
                Schema = "{\"mlflow_colspec\": [{\"type\": \"double\", \"name\": \"sepal_length\", \"required\": true}, {\"type\": \"string\", \"name\": \"species\", \"required\": true}]}",
                Profile = "{\"num_rows\": 150, \"num_elements\": 300}",
            },
            context: "training",
            Ct);

        var entry = Assert.Single(server.Server.LogEntries, e => e.RequestMessage.Path.EndsWith("runs/log-inputs", StringComparison.Ordinal));
        GoldenExchange.Load(version, "039-runs-log-inputs-one-dataset").AssertRequestMatches(entry);
    }

    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public async Task Disposing_sends_the_recorded_runs_update(string version)
    {
        using var server = new FakeMlflowServer();
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1767226200000));
        using var client = server.CreateClient(o => o.TimeProvider = time);
        var run = await client.StartRunAsync(cancellationToken: Ct);

        await run.DisposeAsync();

        var entry = Assert.Single(server.Server.LogEntries, e => e.RequestMessage.Path.EndsWith("runs/update", StringComparison.Ordinal));
        GoldenExchange.Load(version, "052-runs-update-finished").AssertRequestMatches(entry);
    }
}
