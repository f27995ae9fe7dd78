using MLOpsDemo.Mlflow.Sqlite;

namespace MLOpsDemo.Mlflow.Tests.Sqlite;

/// <summary>
/// The local store's bulk path: fluent batches of up to <see cref="SqliteTrackingStore.LocalMetricsPerBatch"/> points,
/// one transaction each, written without SQLite's foreign-key checks (the run is verified in the transaction). The file
/// must stay what MLflow writes: every point once, latest_metrics, is_nan, the rollback journal, foreign keys intact.
/// </summary>
public sealed class SqliteBulkLoggingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_fluent_run_larger_than_several_batches_stores_every_point_once_as_MLflow_does()
    {
        using var folder = new TempFolder();
        var perKey = SqliteTrackingStore.LocalMetricsPerBatch; // three keys interleaved: several full batches and a remainder
        string runId;
        using (var client = folder.Client())
        {
            await using (var run = await client.StartRunAsync(cancellationToken: Ct))
            {
                runId = run.RunId;
                for (var step = 0; step < perKey; step++)
                {
                    run.LogMetric("loss", step == 5 ? double.NaN : 1.0 / (step + 1), step);
                    run.LogMetric("acc", step == perKey - 1 ? double.PositiveInfinity : step * 0.5, step);
                    run.LogMetric("lr", 0.1, step);
                    if (step == perKey / 2)
                    {
                        run.SetTag("phase", "second half");
                    }
                }

                await run.FlushAsync(Ct);
            }

            Assert.True(await ((SqliteTrackingStore)client.Store).ForeignKeysEnforcedAsync(Ct), "Foreign keys must be enforced again after a bulk batch.");
        }

        using var connection = SqliteGolden.Open(folder.DatabasePath);
        Assert.Equal(3L * perKey, SqliteGolden.Scalar(connection, "SELECT count(*) FROM metrics WHERE run_uuid = $r", ("$r", runId)));
        Assert.Equal(3L * perKey, SqliteGolden.Scalar(connection, "SELECT count(*) FROM (SELECT DISTINCT key, step FROM metrics WHERE run_uuid = $r)", ("$r", runId)));
        Assert.Equal("1|0.0", SqliteGolden.Scalar(connection, "SELECT is_nan || '|' || value FROM metrics WHERE run_uuid = $r AND key = 'loss' AND step = 5", ("$r", runId)));
        Assert.Equal(1.7976931348623157e308, SqliteGolden.Scalar(connection, "SELECT value FROM metrics WHERE run_uuid = $r AND key = 'acc' AND step = $s", ("$r", runId), ("$s", perKey - 1L)));
        object? Latest(string key, string column) =>
            SqliteGolden.Scalar(connection, $"SELECT {column} FROM latest_metrics WHERE run_uuid = $r AND key = $k", ("$r", runId), ("$k", key));
        Assert.Equal(3L, SqliteGolden.Scalar(connection, "SELECT count(*) FROM latest_metrics WHERE run_uuid = $r", ("$r", runId)));
        foreach (var key in (string[])["loss", "acc", "lr"])
        {
            Assert.Equal(perKey - 1L, Latest(key, "step"));
            Assert.Equal(0L, Latest(key, "is_nan"));
        }

        Assert.Equal(1.0 / perKey, Latest("loss", "value"));
        Assert.Equal(1.7976931348623157e308, Latest("acc", "value"));
        Assert.Equal(0.1, Latest("lr", "value"));
        Assert.Equal("second half", SqliteGolden.Scalar(connection, "SELECT value FROM tags WHERE run_uuid = $r AND key = 'phase'", ("$r", runId)));
        Assert.Equal("delete", SqliteGolden.Scalar(connection, "PRAGMA journal_mode"));
        Assert.Null(SqliteGolden.Scalar(connection, "PRAGMA foreign_key_check"));
        Assert.False(File.Exists(folder.DatabasePath + "-wal"), "The store must leave MLflow's rollback journal, not a WAL file.");
        Assert.False(File.Exists(folder.DatabasePath + "-journal"), "No journal may be left behind after the client is disposed.");
    }

    [Fact]
    public async Task A_bulk_batch_refused_for_a_deleted_run_stores_nothing_and_leaves_foreign_keys_enforced()
    {
        using var folder = new TempFolder();
        using var client = folder.Client();
        var run = await client.Runs.CreateAsync("0", cancellationToken: Ct);
        await client.Runs.DeleteAsync(run.Info.RunId, Ct);
        var metrics = Enumerable.Range(0, 500).Select(i => new Metric("m", i, 1767225600000 + i, i)).ToList();

        var error = await Assert.ThrowsAsync<MlflowException>(() => client.Store.LogBatchAsync(run.Info.RunId, metrics, [], [], Ct));

        Assert.Contains("must be in the 'active' state", error.Message, StringComparison.Ordinal);
        var store = (SqliteTrackingStore)client.Store;
        Assert.True(await store.ForeignKeysEnforcedAsync(Ct), "A failed bulk batch must leave foreign keys enforced.");
        using var connection = SqliteGolden.Open(folder.DatabasePath);
        Assert.Equal(0L, SqliteGolden.Scalar(connection, "SELECT count(*) FROM metrics"));
    }
}
