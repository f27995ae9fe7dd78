using System.Globalization;
using System.Net;
using Microsoft.Data.Sqlite;

namespace MLOpsDemo.Mlflow.Sqlite;

/// <summary>The schema features of a known alembic revision.</summary>
/// <param name="Revision">The alembic revision.</param>
/// <param name="MlflowVersion">The MLflow version that writes it.</param>
/// <param name="HasWorkspace">Whether experiments have the <c>workspace</c> column (3.11).</param>
/// <param name="HasInputStep">Whether <c>inputs</c> has the <c>step</c> column (3.x).</param>
/// <param name="HasLoggedModels">Whether the logged-model tables exist (3.x).</param>
internal sealed record SqliteSchemaFlavor(string Revision, string MlflowVersion, bool HasWorkspace, bool HasInputStep, bool HasLoggedModels);

/// <summary>Opens an MLflow database: creates a new one with MLflow 3.11's schema, or checks the revision of an existing one.</summary>
internal static class SqliteDatabase
{
    /// <summary>The revision this library writes into new databases (MLflow 3.11 head, SQLSTORE.md §2.1).</summary>
    public const string HeadRevision = "7d34483879f0";

    /// <summary>MLflow 2.22's head revision.</summary>
    public const string Revision222 = "0584bdc529eb";

    /// <summary>
    /// Revisions whose tracking tables we understand. Besides the two heads, the heads of the released 3.11.0
    /// (<c>76601a5f987d</c>) and 3.11.1 (<c>ae8bbe7743c9</c>) differ from <c>7d34483879f0</c> only in tables and
    /// indexes this store never touches, so their files are used as they are (and never re-stamped).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, SqliteSchemaFlavor> KnownRevisions = new Dictionary<string, SqliteSchemaFlavor>(StringComparer.Ordinal)
    {
        [HeadRevision] = new(HeadRevision, "3.11", HasWorkspace: true, HasInputStep: true, HasLoggedModels: true),
        ["ae8bbe7743c9"] = new("ae8bbe7743c9", "3.11.1", HasWorkspace: true, HasInputStep: true, HasLoggedModels: true),
        ["76601a5f987d"] = new("76601a5f987d", "3.11.0", HasWorkspace: true, HasInputStep: true, HasLoggedModels: true),
        [Revision222] = new(Revision222, "2.22", HasWorkspace: false, HasInputStep: false, HasLoggedModels: false),
    };

    /// <summary>Opens (and if needed creates) the database; the connection has MLflow's pragmas plus WAL.</summary>
    public static (SqliteConnection Connection, SqliteSchemaFlavor Flavor) Open(string path, string artifactRoot, long nowMs)
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
            var flavor = CreateOrCheck(connection, path, artifactRoot, nowMs);

            // WAL lets readers and a writer work at once (two processes logging into one file); NORMAL is durable
            // against crashes in WAL mode. Both are per-file/connection settings MLflow works with (SQLSTORE.md §3).
            Execute(connection, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16000;");
            return (connection, flavor);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static SqliteSchemaFlavor CreateOrCheck(SqliteConnection connection, string path, string artifactRoot, long nowMs)
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        // BEGIN IMMEDIATE holds the write lock, so a second process creating the same file waits and then sees the tables.
        var tableCount = Convert.ToInt64(Scalar(connection, transaction, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"), CultureInfo.InvariantCulture);
        if (tableCount == 0)
        {
            Execute(connection, SqliteSchema311.Ddl, transaction);
            using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = """
                    INSERT INTO alembic_version (version_num) VALUES ($revision);
                    INSERT INTO workspaces (name, description, default_artifact_root) VALUES ('default', 'Default workspace for legacy resources', NULL);
                    INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time, workspace)
                    VALUES (0, 'Default', $location, 'active', $now, $now, 'default');
                    """;
                command.Parameters.AddWithValue("$revision", HeadRevision);
                command.Parameters.AddWithValue("$location", ArtifactPaths.Join(artifactRoot, "0"));
                command.Parameters.AddWithValue("$now", nowMs);
                command.ExecuteNonQuery();
            }

            transaction.Commit();
            return KnownRevisions[HeadRevision];
        }

        var hasAlembic = Convert.ToInt64(Scalar(connection, transaction, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"), CultureInfo.InvariantCulture) == 1;
        var revision = hasAlembic ? Scalar(connection, transaction, "SELECT version_num FROM alembic_version LIMIT 1") as string : null;
        transaction.Rollback();
        if (revision is not null && KnownRevisions.TryGetValue(revision, out var flavor))
        {
            return flavor;
        }

        var found = revision is null ? "no alembic_version" : $"schema revision '{revision}'";
        throw new MlflowException(
            HttpStatusCode.InternalServerError,
            MlflowErrorCodes.InvalidState,
            $"The database '{path}' has {found}, which this library does not know (it reads {HeadRevision} = MLflow 3.11 and {Revision222} = MLflow 2.22). Nothing was written. "
            + "If an older MLflow wrote it, back it up and run 'mlflow db upgrade sqlite:///<path>' with MLflow 3.11; if a newer MLflow wrote it, run 'mlflow server --backend-store-uri sqlite:///<path>' "
            + "and point this client at http://localhost:5000, or use a new database file.");
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
