using System.Globalization;
using System.Net;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MLOpsDemo.Mlflow.Internal;
using MLOpsDemo.Mlflow.Stores;

namespace MLOpsDemo.Mlflow.Sqlite;

/// <summary>
/// The tracking store on MLflow's own SQLite database (<c>sqlite:///mlflow.db</c>), written exactly as MLflow's
/// SqlAlchemyStore writes it (SQLSTORE.md). A file of any MLflow release since 2.0 (or a newer one) is used at its own
/// schema, detected from its tables (<see cref="SqliteSchema"/>) and never re-stamped; a new file gets the schema of
/// <see cref="MlflowClientOptions.SqliteSchemaVersion"/> (<see cref="SqliteSchemaCatalog"/>), so that release reads it
/// without conversion. One connection per
/// store, used by one operation at a time; each write is one short <c>BEGIN IMMEDIATE</c> transaction; the file keeps
/// MLflow's rollback journal, so other clients and processes (MLflow's own too) read and write it as they always do.
/// </summary>
internal sealed partial class SqliteTrackingStore : ITrackingStore
{
    private const double MaxDouble = 1.7976931348623157e308;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly TimeProvider _time;
    private SqliteConnection? _connection;
    private SqliteTransaction? _transaction;
    private SqliteSchema? _schema;
    private readonly SqliteSchemaRelease _newFileSchema;
    private readonly ILogger _logger;
    private const int MetricRowsPerInsert = 100;
    private MetricInsertStatement? _insertMetrics;
    private MetricInsertStatement? _insertMetric;
    private SqliteCommand? _upsertLatestMetric;
    private bool _disposed;

    public SqliteTrackingStore(string databasePath, MlflowClientOptions options)
    {
        DatabasePath = Path.GetFullPath(databasePath);
        ArtifactRoot = ArtifactPaths.DefaultRoot();
        _time = options.TimeProvider;
        _newFileSchema = ResolveNewFileSchema(options.SqliteSchemaVersion);
        _logger = (ILogger?)options.LoggerFactory?.CreateLogger(LoggerCategory) ?? NullLogger.Instance;
        TrackingUri = "sqlite:///" + DatabasePath.Replace('\\', '/');
    }

    /// <inheritdoc/>
    public int MetricsPerBatch => LocalMetricsPerBatch;

    /// <summary>
    /// Metric points per fluent batch, i.e. per transaction: large, so that commits (each with MLflow's fsyncs) are few;
    /// 20,000 points are about 6 MB of new pages, which the connection's 32 MB page cache holds until the commit.
    /// </summary>
    internal const int LocalMetricsPerBatch = 20_000;

    /// <summary>The absolute path of the database file.</summary>
    public string DatabasePath { get; }

    /// <summary>The artifact root for new experiments: <c>./mlruns</c> of the working directory when the store was created.</summary>
    public string ArtifactRoot { get; }

    /// <summary>The absolute form of the URI: <c>sqlite:////abs/path/mlflow.db</c> on POSIX.</summary>
    public string TrackingUri { get; }

    /// <summary>The logger category of the store's warnings (a database at a revision this library does not know).</summary>
    internal const string LoggerCategory = "MLOpsDemo.Mlflow.Sqlite";

    /// <summary>What the open database holds (opens it if needed).</summary>
    internal Task<SqliteSchema> GetSchemaAsync(CancellationToken cancellationToken) => RunAsync(_ => Schema, cancellationToken);

    /// <summary>Whether the store's connection enforces foreign keys now, as MLflow's connections do (for tests).</summary>
    internal Task<bool> ForeignKeysEnforcedAsync(CancellationToken cancellationToken) =>
        RunAsync(connection => Convert.ToInt64(Scalar("PRAGMA foreign_keys"), CultureInfo.InvariantCulture) == 1, cancellationToken);

    /// <summary>The schema of the open database; only valid inside an operation.</summary>
    private SqliteSchema Schema => _schema!;

    /// <summary>The schema a new file gets: <see cref="MlflowClientOptions.SqliteSchemaVersion"/>, else the newest.</summary>
    internal static SqliteSchemaRelease ResolveNewFileSchema(string? version) =>
        string.IsNullOrWhiteSpace(version) ? SqliteSchemaCatalog.Newest
        : SqliteSchemaCatalog.TryResolve(version, out var error) ?? throw new ArgumentException($"MlflowClientOptions.SqliteSchemaVersion (MLFLOW_SQLITE_SCHEMA_VERSION): {error}", nameof(version));

    /// <summary>Throws unless the open file holds <paramref name="feature"/>.</summary>
    private void Require(SqliteFeature feature, string what) => Schema.Require(feature, what, DatabasePath);

    public void Dispose()
    {
        _lock.Wait();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _insertMetrics?.Dispose();
            _insertMetric?.Dispose();
            _upsertLatestMetric?.Dispose();
            _connection?.Dispose();
            _connection = null;
        }
        finally
        {
            _lock.Release();
        }
    }

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private async Task<T> RunAsync<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                // SQLite calls block (a busy file waits up to the busy timeout), so they run on the thread pool and
                // the caller gets its task back at once.
                return await Task.Run(
                    () =>
                    {
                        if (_connection is null)
                        {
                            (_connection, _schema) = SqliteDatabase.Open(DatabasePath, ArtifactRoot, Now(), _newFileSchema, _logger);
                        }

                        return work(_connection);
                    },
                    cancellationToken).ConfigureAwait(false);
            }
            catch (SqliteException ex)
            {
                throw MapSqliteException(ex);
            }
        }
        finally
        {
            _lock.Release();
        }
    }

    private Task<object?> RunAsync(Action<SqliteConnection> work, CancellationToken cancellationToken) =>
        RunAsync<object?>(
            connection =>
            {
                work(connection);
                return null;
            },
            cancellationToken);

    /// <summary>Runs <paramref name="work"/> in one <c>BEGIN IMMEDIATE</c> transaction.</summary>
    private Task<T> WriteAsync<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken) =>
        RunAsync(connection => Transact(connection, work), cancellationToken);

    private T Transact<T>(SqliteConnection connection, Func<SqliteConnection, T> work)
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        _transaction = transaction;
        try
        {
            var result = work(connection);
            transaction.Commit();
            return result;
        }
        finally
        {
            _transaction = null;
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in one <c>BEGIN IMMEDIATE</c> transaction with SQLite's foreign-key checks off, for
    /// work that first verifies, inside the transaction, every row its inserts refer to (the run; the write lock keeps
    /// it there until the commit), so that no row can violate a foreign key. The reason is speed: with the checks on, a
    /// multi-row INSERT needs a statement journal, which copies every page the statement changes to a temporary file
    /// (three writes per page instead of one for a metric batch). The checks are on again before the call returns;
    /// <c>PRAGMA foreign_keys</c> is a no-op inside a transaction, hence outside it.
    /// </summary>
    private Task<object?> WriteWithoutForeignKeyChecksAsync(Action<SqliteConnection> work, CancellationToken cancellationToken) =>
        RunAsync(
            connection =>
            {
                SetForeignKeys(connection, on: false);
                try
                {
                    return Transact<object?>(
                        connection,
                        c =>
                        {
                            work(c);
                            return null;
                        });
                }
                finally
                {
                    SetForeignKeys(connection, on: true);
                }
            },
            cancellationToken);

    private static void SetForeignKeys(SqliteConnection connection, bool on)
    {
        using var command = connection.CreateCommand();
        command.CommandText = on ? "PRAGMA foreign_keys = ON" : "PRAGMA foreign_keys = OFF";
        command.ExecuteNonQuery();
    }

    private Task<object?> WriteAsync(Action<SqliteConnection> work, CancellationToken cancellationToken) =>
        WriteAsync<object?>(
            connection =>
            {
                work(connection);
                return null;
            },
            cancellationToken);

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = _connection!.CreateCommand();
        command.Transaction = _transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    private int Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        return command.ExecuteNonQuery();
    }

    private object? Scalar(string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        var value = command.ExecuteScalar();
        return value is DBNull ? null : value;
    }

    private List<T> Query<T>(string sql, Func<SqliteDataReader, T> read, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        using var reader = command.ExecuteReader();
        var list = new List<T>();
        while (reader.Read())
        {
            list.Add(read(reader));
        }

        return list;
    }

    private static string? GetString(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static long? GetInt64(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    internal static MlflowException NotFound(string message) => new(HttpStatusCode.NotFound, MlflowErrorCodes.ResourceDoesNotExist, message);

    internal static MlflowException InvalidParameter(string message) => new(HttpStatusCode.BadRequest, MlflowErrorCodes.InvalidParameterValue, message);

    private MlflowException MapSqliteException(SqliteException ex) => ex.SqliteErrorCode switch
    {
        // A table or column the file lacks (a schema older or newer than the operation expects): name it, not the SQL.
        1 or 19 when _schema is not null && (ex.Message.Contains("no such table", StringComparison.Ordinal) || ex.Message.Contains("no such column", StringComparison.Ordinal) || ex.Message.Contains("has no column named", StringComparison.Ordinal)
            || (ex.Message.Contains("NOT NULL constraint failed", StringComparison.Ordinal) && _schema.DescribeMissing().Length > 0))
            => new MlflowException(HttpStatusCode.InternalServerError, MlflowErrorCodes.InvalidState, _schema.DescribeSqlError(ex.Message, DatabasePath), innerException: ex),
        5 or 6 => new MlflowException(HttpStatusCode.ServiceUnavailable, MlflowErrorCodes.TemporarilyUnavailable, $"The database is locked by another writer: {ex.Message}", innerException: ex),
        19 => new MlflowException(HttpStatusCode.BadRequest, MlflowErrorCodes.BadRequest, $"A database constraint failed: {ex.Message}", innerException: ex),
        _ => new MlflowException(HttpStatusCode.InternalServerError, MlflowErrorCodes.InternalError, $"SQLite error {ex.SqliteErrorCode}: {ex.Message}", innerException: ex),
    };

    /// <summary>Sanitises a metric value as MLflow stores it: NaN → (0, is_nan=1), ±∞ → ±1.7976931348623157e308.</summary>
    internal static (double Value, bool IsNan) Sanitize(double value) =>
        double.IsNaN(value) ? (0, true)
        : double.IsPositiveInfinity(value) ? (MaxDouble, false)
        : double.IsNegativeInfinity(value) ? (-MaxDouble, false)
        : (value, false);

    private static long ParseExperimentId(string experimentId) =>
        long.TryParse(experimentId, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var id)
            ? id
            : throw NotFound($"No Experiment with id={experimentId} exists");
}
