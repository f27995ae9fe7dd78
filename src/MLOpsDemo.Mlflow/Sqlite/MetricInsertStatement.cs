using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace MLOpsDemo.Mlflow.Sqlite;

/// <summary>
/// A prepared <c>INSERT OR IGNORE INTO metrics … VALUES (…),(…)…</c> of a fixed number of rows, bound by position
/// (Microsoft.Data.Sqlite would look every parameter up by name on each execution) and reused for the life of the
/// connection. Parameter 1 is the run id; row <c>r</c> uses parameters <c>2+5r … 6+5r</c> (key, value, timestamp,
/// step, is_nan). Bindings persist across executions, so a key already bound at a row position is not bound again:
/// a loop that logs one key re-sends only the numbers. One multi-row statement per 100 points instead of 100
/// single-row ones cuts SQLite's per-statement work (VDBE setup, cursors, step/reset) by about a third.
/// </summary>
internal sealed class MetricInsertStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;
    private readonly string?[] _boundKeys;
    private string? _boundRunId;

    public MetricInsertStatement(sqlite3 db, int rows)
    {
        _db = db;
        Rows = rows;
        _boundKeys = new string?[rows];
        var sql = new StringBuilder("INSERT OR IGNORE INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES ", 96 + (rows * 40));
        for (var r = 0; r < rows; r++)
        {
            var p = 2 + (r * 5);
            sql.Append(r == 0 ? "(" : ",(")
                .Append('?').Append(p).Append(",?").Append(p + 1).Append(",?").Append(p + 2)
                .Append(",?1,?").Append(p + 3).Append(",?").Append(p + 4).Append(')');
        }

        Check(raw.sqlite3_prepare_v2(db, sql.ToString(), out var statement));
        _statement = statement;
    }

    /// <summary>How many rows one execution inserts.</summary>
    public int Rows { get; }

    /// <summary>Inserts exactly <see cref="Rows"/> points (already sanitised: NaN as 0 with is_nan = 1, ±∞ clamped).</summary>
    public void Execute(string runId, ReadOnlySpan<SanitizedPoint> points)
    {
        if (!string.Equals(_boundRunId, runId, StringComparison.Ordinal))
        {
            Check(raw.sqlite3_bind_text(_statement, 1, runId));
            _boundRunId = runId;
        }

        for (var r = 0; r < Rows; r++)
        {
            ref readonly var point = ref points[r];
            var p = 2 + (r * 5);
            var bound = _boundKeys[r];
            if (!ReferenceEquals(bound, point.Key) && !string.Equals(bound, point.Key, StringComparison.Ordinal))
            {
                _boundKeys[r] = null;
                Check(raw.sqlite3_bind_text(_statement, p, point.Key));
                _boundKeys[r] = point.Key;
            }

            Check(raw.sqlite3_bind_double(_statement, p + 1, point.Value));
            Check(raw.sqlite3_bind_int64(_statement, p + 2, point.Timestamp));
            Check(raw.sqlite3_bind_int64(_statement, p + 3, point.Step));
            Check(raw.sqlite3_bind_int(_statement, p + 4, point.IsNan ? 1 : 0));
        }

        var rc = raw.sqlite3_step(_statement);
        raw.sqlite3_reset(_statement);
        if (rc != raw.SQLITE_DONE)
        {
            Check(rc);
        }
    }

    public void Dispose() => _statement.Dispose();

    private void Check(int rc)
    {
        if (rc is not (raw.SQLITE_OK or raw.SQLITE_DONE or raw.SQLITE_ROW))
        {
            throw new SqliteException(raw.sqlite3_errmsg(_db).utf8_to_string(), rc, raw.sqlite3_extended_errcode(_db));
        }
    }
}

/// <summary>A metric point as it is stored: the value sanitised, NaN as a flag.</summary>
internal readonly record struct SanitizedPoint(string Key, double Value, long Timestamp, long Step, bool IsNan);
