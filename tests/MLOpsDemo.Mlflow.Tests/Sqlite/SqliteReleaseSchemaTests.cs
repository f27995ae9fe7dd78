using System.Net;
using Microsoft.Extensions.Logging;
using MLOpsDemo.Mlflow.Sqlite;

namespace MLOpsDemo.Mlflow.Tests.Sqlite;

/// <summary>
/// The store opens the database of every MLflow release since 2.0 by what its tables hold, writes what that schema
/// holds, fails clearly for the rest, never changes the revision, and creates new files at a chosen release's schema.
/// </summary>
public class SqliteReleaseSchemaTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Releases => ReleaseDump.Names;

    [Fact]
    public void The_test_data_has_the_twenty_release_schemas()
    {
        Assert.Equal(20, ReleaseDump.All.Count);
        Assert.Equal(20, ReleaseDump.All.Select(r => r.Revision).Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [MemberData(nameof(Releases))]
    public async Task Every_release_database_takes_every_entity_its_schema_holds_and_keeps_its_revision(string name)
    {
        var release = ReleaseDump.Get(name);
        using var folder = new TempFolder();
        release.Build(folder.DatabasePath);

        ReleaseScenario.Written written;
        using (var client = folder.Client())
        {
            written = await ReleaseScenario.WriteAsync(client, release, Path.Combine(folder.Path, "artifacts"), Ct);
        }

        // A second client reads the file from scratch.
        using (var client = folder.Client())
        {
            await ReleaseScenario.VerifyAsync(client, release, written, Ct);
            var schema = await ((SqliteTrackingStore)client.Store).GetSchemaAsync(Ct);
            Assert.Equal(release.Revision, schema.Release?.Revision);
        }

        Assert.Equal(release.Revision, ReleaseScenario.ReadRevision(folder.DatabasePath));
        using var connection = SqliteGolden.Open(folder.DatabasePath);
        Assert.Equal(release.HasStorageLocation ? 1L : 0L, SqliteGolden.Scalar(connection, "SELECT count(*) FROM pragma_table_info('model_versions') WHERE name = 'storage_location'"));
        if (release.HasStorageLocation)
        {
            Assert.Equal(2L, SqliteGolden.Scalar(connection, "SELECT count(*) FROM model_versions WHERE storage_location = source"));
        }

        Assert.Equal(2L, SqliteGolden.Scalar(connection, "SELECT count(*) FROM runs"));
        Assert.Equal(1L, SqliteGolden.Scalar(connection, "SELECT count(*) FROM metrics WHERE key = 'nan_metric' AND is_nan = 1 AND value = 0"));
    }

    [Theory]
    [MemberData(nameof(Releases))]
    public async Task A_new_file_at_a_release_schema_is_exactly_that_release_fresh_database(string name)
    {
        var release = ReleaseDump.Get(name);
        using var reference = new TempFolder();
        release.Build(reference.DatabasePath);
        using var folder = new TempFolder();
        using (var client = new MlflowClient(new MlflowClientOptions { TrackingUri = folder.Uri, SqliteSchemaVersion = release.FirstVersion }))
        {
            Assert.Equal("Default", (await client.Experiments.GetAsync("0", Ct)).Name);
        }

        Assert.Equal(SchemaObjects(reference.DatabasePath), SchemaObjects(folder.DatabasePath));
        Assert.Equal(release.Revision, ReleaseScenario.ReadRevision(folder.DatabasePath));
        using var connection = SqliteGolden.Open(folder.DatabasePath);
        Assert.Equal("0|Default|active", SqliteGolden.Scalar(connection, "SELECT experiment_id || '|' || name || '|' || lifecycle_stage FROM experiments"));
        Assert.Equal(1L, SqliteGolden.Scalar(connection, "SELECT creation_time = last_update_time FROM experiments"));
        if (release.HasWorkspaces)
        {
            Assert.Equal("default|Default workspace for legacy resources", SqliteGolden.Scalar(connection, "SELECT name || '|' || description FROM workspaces WHERE default_artifact_root IS NULL"));
            Assert.Equal("default", SqliteGolden.Scalar(connection, "SELECT workspace FROM experiments"));
        }
    }

    [Theory]
    [InlineData("2.1", "97727af70f4d")]
    [InlineData("2.12", "acf3f17fdcc7")]
    [InlineData("2.22.1", "0584bdc529eb")]
    [InlineData("3.6", "bf29a5ff90ea")]
    [InlineData("3.11.0", "76601a5f987d")]
    [InlineData("3.11.1", "ae8bbe7743c9")]
    [InlineData("3.11.2.dev0", "7d34483879f0")]
    public async Task The_schema_version_comes_from_the_environment_and_names_any_patch_release(string version, string revision)
    {
        using var folder = new TempFolder();
        var options = MlflowClientOptions.FromEnvironment(v => v switch
        {
            "MLFLOW_TRACKING_URI" => folder.Uri,
            "MLFLOW_SQLITE_SCHEMA_VERSION" => version,
            _ => null,
        });
        Assert.Equal(version, options.SqliteSchemaVersion);
        using (var client = new MlflowClient(options))
        {
            await client.Experiments.CreateAsync("e", cancellationToken: Ct);
        }

        Assert.Equal(revision, ReleaseScenario.ReadRevision(folder.DatabasePath));
    }

    [Fact]
    public async Task Without_a_schema_version_a_new_file_gets_the_newest_schema()
    {
        using var folder = new TempFolder();
        using (var client = folder.Client())
        {
            await client.Experiments.GetAsync("0", Ct);
        }

        Assert.Equal(ReleaseDump.All[^1].Revision, ReleaseScenario.ReadRevision(folder.DatabasePath));
    }

    [Theory]
    [InlineData("3.12", "no database schema for MLflow 3.12")]
    [InlineData("1.30", "no database schema for MLflow 1.30")]
    [InlineData("3.11", "give the patch release you run (3.11.0, 3.11.1, 3.11.2)")]
    [InlineData("latest", "is not an MLflow version")]
    public void Unknown_schema_versions_are_rejected_listing_the_supported_ones(string version, string expected)
    {
        var ex = Assert.Throws<ArgumentException>(() => new MlflowClient(new MlflowClientOptions { TrackingUri = "sqlite:///never-created.db", SqliteSchemaVersion = version }));
        Assert.Contains("SqliteSchemaVersion", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        if (!version.StartsWith("3.11", StringComparison.Ordinal))
        {
            Assert.Contains("Supported: 2.0–2.2, 2.3, 2.4–2.7, 2.8–2.12, 2.13", ex.Message, StringComparison.Ordinal);
            Assert.Contains("3.10, 3.11.0, 3.11.1, 3.11.2", ex.Message, StringComparison.Ordinal);
        }

        Assert.False(File.Exists("never-created.db"));
    }

    [Fact]
    public async Task A_newer_unknown_revision_with_an_extra_table_opens_with_one_warning_and_keeps_its_revision()
    {
        var release = ReleaseDump.All[^1];
        using var folder = new TempFolder();
        release.Build(folder.DatabasePath);
        using (var c = SqliteGolden.Open(folder.DatabasePath))
        {
            SqliteGolden.Execute(c, "CREATE TABLE future_feature (id INTEGER PRIMARY KEY, payload TEXT NOT NULL); UPDATE alembic_version SET version_num = 'ffffffff0001';");
        }

        var logs = new CapturingLoggerFactory();
        ReleaseScenario.Written written;
        using (var client = new MlflowClient(new MlflowClientOptions { TrackingUri = folder.Uri, LoggerFactory = logs }))
        {
            written = await ReleaseScenario.WriteAsync(client, release, Path.Combine(folder.Path, "artifacts"), Ct);
            await ReleaseScenario.VerifyAsync(client, release, written, Ct);
        }

        var warning = Assert.Single(logs.Entries, e => e.Level >= LogLevel.Warning);
        Assert.Equal(SqliteTrackingStore.LoggerCategory, warning.Category);
        Assert.Contains("'ffffffff0001'", warning.Message, StringComparison.Ordinal);
        Assert.Contains(folder.DatabasePath, warning.Message, StringComparison.Ordinal);
        Assert.Equal("ffffffff0001", ReleaseScenario.ReadRevision(folder.DatabasePath));
    }

    [Fact]
    public async Task A_missing_needed_column_fails_naming_it_and_writes_nothing_while_other_operations_work()
    {
        using var folder = new TempFolder();
        ReleaseDump.Get("3.5-3.7").Build(folder.DatabasePath);
        using (var c = SqliteGolden.Open(folder.DatabasePath))
        {
            SqliteGolden.Execute(c, "ALTER TABLE runs DROP COLUMN deleted_time");
        }

        using (var client = folder.Client())
        {
            var experimentId = await client.Experiments.CreateAsync("still-works", cancellationToken: Ct);
            var ex = await Assert.ThrowsAsync<MlflowException>(() => client.Runs.CreateAsync(experimentId, cancellationToken: Ct));
            Assert.Equal(MlflowErrorCodes.InvalidState, ex.ErrorCode);
            Assert.Contains("column runs.deleted_time", ex.Message, StringComparison.Ordinal);
            Assert.Contains("Nothing was written", ex.Message, StringComparison.Ordinal);
            Assert.Equal("still-works", (await client.Experiments.GetAsync(experimentId, Ct)).Name);
        }

        using var connection = SqliteGolden.Open(folder.DatabasePath);
        Assert.Equal(0L, SqliteGolden.Scalar(connection, "SELECT count(*) FROM runs"));
        Assert.Equal(0L, SqliteGolden.Scalar(connection, "SELECT count(*) FROM tags"));
    }

    [Fact]
    public async Task A_newer_required_column_this_library_does_not_know_fails_naming_it()
    {
        using var folder = new TempFolder();
        ReleaseDump.Get("3.11.2.dev0").Build(folder.DatabasePath);
        using (var c = SqliteGolden.Open(folder.DatabasePath))
        {
            SqliteGolden.Execute(c, """
                DROP TABLE experiment_tags;
                CREATE TABLE experiment_tags ("key" VARCHAR(250) NOT NULL, value VARCHAR(5000), experiment_id INTEGER NOT NULL, origin VARCHAR(20) NOT NULL,
                  CONSTRAINT experiment_tag_pk PRIMARY KEY ("key", experiment_id), FOREIGN KEY(experiment_id) REFERENCES experiments (experiment_id));
                UPDATE alembic_version SET version_num = 'ffffffff0003';
                """);
        }

        var logs = new CapturingLoggerFactory();
        using (var client = new MlflowClient(new MlflowClientOptions { TrackingUri = folder.Uri, LoggerFactory = logs }))
        {
            var experimentId = await client.Experiments.CreateAsync("untagged", cancellationToken: Ct);
            var ex = await Assert.ThrowsAsync<MlflowException>(() => client.Experiments.SetTagAsync(experimentId, "k", "v", Ct));
            Assert.Contains("experiment_tags.origin", ex.Message, StringComparison.Ordinal);
            Assert.Contains("'ffffffff0003'", ex.Message, StringComparison.Ordinal);
            Assert.Empty((await client.Experiments.GetAsync(experimentId, Ct)).Tags);
        }

        Assert.Contains("experiment_tags.origin", Assert.Single(logs.Entries).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_feature_table_fails_naming_the_table_and_the_MLflow_version()
    {
        using var folder = new TempFolder();
        ReleaseDump.Get("3.5-3.7").Build(folder.DatabasePath);
        using (var c = SqliteGolden.Open(folder.DatabasePath))
        {
            SqliteGolden.Execute(c, "DROP TABLE registered_model_aliases; UPDATE alembic_version SET version_num = 'ffffffff0002';");
        }

        using var client = folder.Client();
        await client.ModelRegistry.CreateAsync("m", cancellationToken: Ct);
        await client.ModelRegistry.CreateVersionAsync("m", "/tmp/model", cancellationToken: Ct);
        var ex = await Assert.ThrowsAsync<MlflowException>(() => client.ModelRegistry.SetAliasAsync("m", "champion", "1", Ct));
        Assert.Contains("table registered_model_aliases", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MLflow 2.3 or newer", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'ffffffff0002'", ex.Message, StringComparison.Ordinal);
        Assert.Empty((await client.ModelRegistry.GetAsync("m", Ct)).Aliases);
    }

    [Theory]
    [InlineData("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'a');", "no alembic_version table")]
    [InlineData("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL); INSERT INTO alembic_version VALUES ('abc123'); CREATE TABLE orders (id INTEGER);", "no MLflow experiments and runs tables")]
    [InlineData("CREATE TABLE alembic_version (version_num VARCHAR(32)); CREATE TABLE experiments (experiment_id INTEGER); CREATE TABLE runs (run_uuid TEXT);", "0 rows in alembic_version")]
    public async Task A_file_that_is_not_an_MLflow_database_is_refused_and_left_byte_identical(string sql, string expected)
    {
        using var folder = new TempFolder();
        using (var c = SqliteGolden.Open(folder.DatabasePath))
        {
            SqliteGolden.Execute(c, sql);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var bytes = await File.ReadAllBytesAsync(folder.DatabasePath, Ct);
        using (var client = folder.Client())
        {
            var ex = await Assert.ThrowsAsync<MlflowException>(() => client.Experiments.CreateAsync("x", cancellationToken: Ct));
            Assert.Equal((MlflowErrorCodes.InvalidState, HttpStatusCode.InternalServerError), (ex.ErrorCode, ex.StatusCode));
            Assert.Contains("is not an MLflow tracking database", ex.Message, StringComparison.Ordinal);
            Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        }

        Assert.Equal(bytes, await File.ReadAllBytesAsync(folder.DatabasePath, Ct));
        Assert.Equal(["mlflow.db"], Directory.GetFiles(folder.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Values_longer_than_an_old_schema_holds_are_refused_as_that_release_would()
    {
        using var folder = new TempFolder();
        ReleaseDump.Get("2.4-2.7").Build(folder.DatabasePath);
        using var client = folder.Client();
        var run = await client.Runs.CreateAsync("0", cancellationToken: Ct);
        var param = await Assert.ThrowsAsync<MlflowException>(() => client.Runs.LogParamAsync(run.Info.RunId, "long", new string('p', 501), Ct));
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, param.ErrorCode);
        Assert.Contains("params.value holds at most 500", param.Message, StringComparison.Ordinal);
        Assert.Contains("MLflow 2.8", param.Message, StringComparison.Ordinal);
        var tag = await Assert.ThrowsAsync<MlflowException>(() => client.Runs.SetTagAsync(run.Info.RunId, "long", new string('t', 5001), Ct));
        Assert.Contains("tags.value holds at most 5000", tag.Message, StringComparison.Ordinal);

        await client.Runs.LogParamAsync(run.Info.RunId, "fits", new string('p', 500), Ct);
        await client.Runs.SetTagAsync(run.Info.RunId, "fits", new string('t', 5000), Ct);
        var read = await client.Runs.GetAsync(run.Info.RunId, Ct);
        Assert.Equal((500, 5000), (read.Data.Params["fits"].Length, read.Data.Tags["fits"].Length));
        Assert.DoesNotContain("long", read.Data.Params.Keys);
    }

    private static List<string> SchemaObjects(string databasePath)
    {
        using var connection = SqliteGolden.Open(databasePath);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT type || ' ' || name || ' ' || tbl_name || ': ' || sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name";
        using var reader = command.ExecuteReader();
        var objects = new List<string>();
        while (reader.Read())
        {
            objects.Add(reader.GetString(0));
        }

        return objects;
    }
}

/// <summary>Collects log entries in memory.</summary>
public sealed class CapturingLoggerFactory : ILoggerFactory
{
    private readonly List<(string Category, LogLevel Level, string Message)> _entries = [];

    public IReadOnlyList<(string Category, LogLevel Level, string Message)> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerFactory owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (owner._entries)
            {
                owner._entries.Add((category, logLevel, formatter(state, exception)));
            }
        }
    }
}
