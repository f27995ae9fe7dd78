using System.Globalization;
using System.Net;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace MLOpsDemo.Mlflow.Sqlite;

/// <summary>Opens an MLflow database: creates a new one at the chosen release's schema, or detects what an existing one holds.</summary>
internal static partial class SqliteDatabase
{
    /// <summary>Opens (and if needed creates) the database; the connection has MLflow's pragmas and a larger page cache.</summary>
    /// <param name="path">The database file.</param>
    /// <param name="artifactRoot">The artifact root of the Default experiment of a new file.</param>
    /// <param name="nowMs">The creation time of the Default experiment of a new file.</param>
    /// <param name="newFileSchema">The schema a new file is created with.</param>
    /// <param name="logger">Receives the warning about a revision this library does not know.</param>
    public static (SqliteConnection Connection, SqliteSchema Schema) Open(string path, string artifactRoot, long nowMs, SqliteSchemaRelease newFileSchema, ILogger logger)
    {
        var directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 20, // Microsoft.Data.Sqlite retries SQLITE_BUSY until this many seconds have passed, like MLflow's 20 s busy timeout.
        }.ToString();
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            Execute(connection, "PRAGMA busy_timeout = 20000; PRAGMA foreign_keys = ON; PRAGMA case_sensitive_like = ON;");
            var schema = CreateOrDetect(connection, path, artifactRoot, nowMs, newFileSchema);
            if (schema.Release is null)
            {
                Log.UnknownRevision(logger, path, schema.Revision, SqliteSchemaCatalog.Newest.Label, schema.DescribeMissing());
            }

            // The journal stays what MLflow leaves: rollback journal ('delete'), synchronous FULL, no WAL. Bulk logging
            // writes large transactions (SqliteTrackingStore.LocalMetricsPerBatch), where a rollback journal writes each
            // new page once (WAL writes it twice: to the -wal file and again at the checkpoint). A file someone switched
            // to WAL stays in WAL. The page cache holds a whole batch's dirty pages, so a transaction never spills early.
            Execute(connection, "PRAGMA cache_size = -32000;");
            return (connection, schema);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static SqliteSchema CreateOrDetect(SqliteConnection connection, string path, string artifactRoot, long nowMs, SqliteSchemaRelease newFileSchema)
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        // BEGIN IMMEDIATE holds the write lock, so a second process creating the same file waits and then sees the tables.
        var tableCount = Convert.ToInt64(Scalar(connection, transaction, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"), CultureInfo.InvariantCulture);
        if (tableCount == 0)
        {
            // The release's own DDL and seed rows (alembic_version, workspaces), then the Default experiment as MLflow
            // inserts it; the workspace column (3.10+) takes its default 'default'.
            Execute(connection, SqliteSchemaCatalog.ReadDdl(newFileSchema), transaction);
            using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = """
                    INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
                    VALUES (0, 'Default', $location, 'active', $now, $now);
                    """;
                command.Parameters.AddWithValue("$location", ArtifactPaths.Join(artifactRoot, "0"));
                command.Parameters.AddWithValue("$now", nowMs);
                command.ExecuteNonQuery();
            }

            var created = SqliteSchema.Detect(connection, transaction, newFileSchema.Revision);
            transaction.Commit();
            return created;
        }

        try
        {
            var hasAlembic = Convert.ToInt64(Scalar(connection, transaction, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"), CultureInfo.InvariantCulture) == 1;
            var revisions = new List<string>();
            if (hasAlembic)
            {
                using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = "SELECT version_num FROM alembic_version";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    revisions.Add(reader.IsDBNull(0) ? "" : Convert.ToString(reader.GetValue(0), CultureInfo.InvariantCulture) ?? "");
                }
            }

            var trackingTables = Convert.ToInt64(Scalar(connection, transaction, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('experiments', 'runs')"), CultureInfo.InvariantCulture);
            if (!hasAlembic || revisions.Count != 1 || revisions[0].Length == 0 || trackingTables != 2)
            {
                var found = !hasAlembic ? "no alembic_version table"
                    : revisions.Count != 1 || revisions[0].Length == 0 ? $"{revisions.Count} rows in alembic_version instead of one revision"
                    : $"schema revision '{revisions[0]}' but no MLflow experiments and runs tables";
                throw new MlflowException(
                    HttpStatusCode.InternalServerError,
                    MlflowErrorCodes.InvalidState,
                    $"The database '{path}' is not an MLflow tracking database: it has tables, but {found}. Nothing was written. "
                    + "Point the tracking URI at an mlflow.db that MLflow created (or at a new file name); to bring an old MLflow file to the current schema, back it up and run 'mlflow db upgrade sqlite:///<path>'.");
            }

            return SqliteSchema.Detect(connection, transaction, revisions[0]);
        }
        finally
        {
            transaction.Rollback();
        }
    }

    private static object? Scalar(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 8001, Level = LogLevel.Warning, Message = "The database '{Path}' is at schema revision '{Revision}', which this library does not know (an MLflow release before 2.0 or after {Newest}, or a custom migration). The library uses the tables and columns it finds, never changes the revision, and fails only operations whose columns are missing{Missing}.")]
        public static partial void UnknownRevision(ILogger logger, string path, string revision, string newest, string missing);
    }
}

/// <summary>Artifact locations as MLflow writes them (SQLSTORE.md §1.2).</summary>
internal static class ArtifactPaths
{
    /// <summary>The default artifact root: <c>./mlruns</c> resolved against the current directory, as a POSIX path or (Windows) a file URI.</summary>
    public static string DefaultRoot() => FromLocalPath(Path.GetFullPath("mlruns"));

    /// <summary>A local absolute path as MLflow stores it: unchanged on POSIX, <c>file:///C:/…</c> on Windows.</summary>
    public static string FromLocalPath(string path) =>
        OperatingSystem.IsWindows() ? new Uri(path).AbsoluteUri : path;

    /// <summary>Joins a location and a segment with '/'.</summary>
    public static string Join(string location, string segment) => location.TrimEnd('/') + "/" + segment;

    /// <summary>Resolves a user-given artifact location: a relative local path becomes absolute; URIs stay.</summary>
    public static string Resolve(string location)
    {
        if (location.Contains("://", StringComparison.Ordinal) || (location.Contains(':', StringComparison.Ordinal) && !Path.IsPathRooted(location)))
        {
            return location;
        }

        return FromLocalPath(Path.GetFullPath(location));
    }

    /// <summary>The local directory of an artifact URI, or <see langword="null"/> when it is not local (mlflow-artifacts:, s3:…).</summary>
    public static string? ToLocalPath(string? uri)
    {
        if (string.IsNullOrEmpty(uri))
        {
            return null;
        }

        if (uri.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            return Uri.TryCreate(uri, UriKind.Absolute, out var parsed) ? parsed.LocalPath : null;
        }

        return Path.IsPathRooted(uri) && !uri.Contains("://", StringComparison.Ordinal) ? uri : null;
    }
}
