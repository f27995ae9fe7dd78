using MLOpsDemo.Mlflow.Fluent;
using MLOpsDemo.Mlflow.Tests.Sqlite;

namespace MLOpsDemo.Mlflow.Tests.Perf;

/// <summary>Metric batches split into 100-row INSERTs and single rows keep MLflow's semantics.</summary>
public sealed class SqliteMetricBatchTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_batch_of_structs_stores_every_row_ignores_exact_duplicates_and_keeps_the_latest_per_key()
    {
        using var folder = new TempFolder();
        using var client = folder.Client();
        var run = (await client.Runs.CreateAsync("0", cancellationToken: Ct)).Info.RunId;

        // 257 points: two 100-row INSERTs and 57 single rows; three keys interleaved, one exact duplicate, NaN and ∞.
        var points = new MetricPoints(1000);
        for (var i = 0; i < 256; i++)
        {
            var key = (i % 3) switch { 0 => "loss", 1 => "acc", _ => new string("a/b".ToCharArray()) };
            var value = i == 7 ? double.NaN : i == 8 ? double.PositiveInfinity : i;
            points.Add(new MetricPoint(key, value, 1000 + i, i));
        }

        points.Add(new MetricPoint("loss", 0, 1000, 0)); // exact duplicate of point 0
        await client.Store.LogBatchAsync(run, points, [], [], Ct);
        // A second batch with a smaller step must not move latest_metrics back.
        points.Clear();
        points.Add(new MetricPoint("loss", -1, 999_999, 1));
        await client.Store.LogBatchAsync(run, points, [], [], Ct);

        var loss = await History(client, run, "loss");
        Assert.Equal(87, loss.Count); // 86 from the batch (i % 3 == 0 for i < 256) + the second batch's point
        var nanPoint = Assert.Single(await History(client, run, "acc"), m => m.Step == 7);
        Assert.True(double.IsNaN(nanPoint.Value));
        var infinity = Assert.Single(await History(client, run, "a/b"), m => m.Step == 8);
        Assert.Equal(1.7976931348623157e308, infinity.Value);

        var latest = (await client.Runs.GetAsync(run, Ct)).Data.Metrics.ToDictionary(m => m.Key);
        Assert.Equal((255L, 255.0), (latest["loss"].Step, latest["loss"].Value));
        Assert.Equal((253L, 253.0), (latest["acc"].Step, latest["acc"].Value));
        Assert.Equal((254L, 254.0), (latest["a/b"].Step, latest["a/b"].Value));
    }

    [Fact]
    public async Task A_fluent_loop_into_mlflow_db_arrives_complete()
    {
        using var folder = new TempFolder();
        using var client = folder.Client();
        string runId;
        await using (var run = await client.StartRunAsync(cancellationToken: Ct))
        {
            runId = run.RunId;
            for (var i = 0; i < 2_345; i++)
            {
                run.LogMetric("train/loss", 1.0 / (i + 1), step: i);
                run.LogMetric($"layer_{i % 4}", i, step: i);
            }
        }

        var history = await History(client, runId, "train/loss");
        Assert.Equal(Enumerable.Range(0, 2_345).Select(i => (long)i), history.Select(m => m.Step).Order());
        Assert.Equal(2_345 / 4 + 1, (await History(client, runId, "layer_0")).Count);
        var latest = (await client.Runs.GetAsync(runId, Ct)).Data.Metrics.Single(m => m.Key == "train/loss");
        Assert.Equal(2_344, latest.Step);
    }

    private static async Task<List<Metric>> History(MlflowClient client, string runId, string key)
    {
        var list = new List<Metric>();
        await foreach (var m in client.Runs.GetMetricHistoryAsync(runId, key, cancellationToken: Ct))
        {
            list.Add(m);
        }

        return list;
    }
}
