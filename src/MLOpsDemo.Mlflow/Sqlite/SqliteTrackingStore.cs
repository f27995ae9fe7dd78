using System.Globalization;
using System.Net;
using Microsoft.Data.Sqlite;
using MLOpsDemo.Mlflow.Internal;
using MLOpsDemo.Mlflow.Stores;

namespace MLOpsDemo.Mlflow.Sqlite;

/// <summary>
/// The tracking store on MLflow's own SQLite database (<c>sqlite:///mlflow.db</c>), written exactly as MLflow's
/// SqlAlchemyStore writes it (SQLSTORE.md), so MLflow 3.11 reads the file without conversion. One connection per
/// store, used by one operation at a time; each write is one short <c>BEGIN IMMEDIATE</c> transaction; the file is in
/// WAL mode so other clients and processes can read and write at the same time.
/// </summary>
internal sealed partial class SqliteTrackingStore : ITrackingStore
{
    private const double MaxDouble = 1.7976931348623157e308;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly TimeProvider _time;
    private SqliteConnection? _connection;
    private SqliteTransaction? _transaction;
    private SqliteSchemaFlavor? _flavor;
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
        TrackingUri = "sqlite:///" + DatabasePath.Replace('\\', '/');
    }

    /// <summary>The absolute path of the database file.</summary>
    public string DatabasePath { get; }

    /// <summary>The artifact root for new experiments: <c>./mlruns</c> of the working directory when the store was created.</summary>
    public string ArtifactRoot { get; }

    /// <summary>The absolute form of the URI: <c>sqlite:////abs/path/mlflow.db</c> on POSIX.</summary>
    public string TrackingUri { get; }

    /// <summary>The schema revision of the open database (opens it if needed).</summary>
    internal Task<SqliteSchemaFlavor> GetFlavorAsync(CancellationToken cancellationToken) => RunAsync(_ => _flavor!, cancellationToken);

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
                            (_connection, _flavor) = SqliteDatabase.Open(DatabasePath, ArtifactRoot, Now());
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
        RunAsync(
            connection =>
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
            },
            cancellationToken);

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

    private static MlflowException MapSqliteException(SqliteException ex) => ex.SqliteErrorCode switch
    {
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
