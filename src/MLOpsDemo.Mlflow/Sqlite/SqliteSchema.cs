using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace MLOpsDemo.Mlflow.Sqlite;

/// <summary>What the store writes and reads, grouped by the MLflow release whose schema first holds it.</summary>
internal enum SqliteFeature
{
    /// <summary>Experiments and their tags (MLflow 2.0).</summary>
    Experiments,

    /// <summary>Runs, metrics, latest metrics, params and run tags (MLflow 2.0).</summary>
    Runs,

    /// <summary>Registered models, model versions and their tags (MLflow 2.0).</summary>
    Registry,

    /// <summary>Registered model aliases (MLflow 2.3).</summary>
    Aliases,

    /// <summary>Dataset inputs of runs (MLflow 2.4).</summary>
    DatasetInputs,

    /// <summary>Logged models, their params, tags and metrics, and model inputs/outputs of runs (MLflow 3.0).</summary>
    LoggedModels,
}

/// <summary>
/// What an open <c>mlflow.db</c> holds, read from the file itself (<c>sqlite_master</c>, <c>PRAGMA table_info</c>) rather
/// than from a list of revisions: the store writes only into tables and columns that exist, the way the MLflow release
/// that created the file writes them, and fails an operation whose tables or columns are missing with a message naming
/// them and the MLflow release that has them. The revision is read, never written.
/// </summary>
internal sealed partial class SqliteSchema
{
    /// <summary>The tables and columns each feature reads and writes, and the first release whose schema has them.</summary>
    private static readonly (SqliteFeature Feature, string Since, (string Table, string[] Columns)[] Needs)[] Requirements =
    [
        (SqliteFeature.Experiments, "2.0",
        [
            ("experiments", ["experiment_id", "name", "artifact_location", "lifecycle_stage", "creation_time", "last_update_time"]),
            ("experiment_tags", ["key", "value", "experiment_id"]),
        ]),
        (SqliteFeature.Runs, "2.0",
        [
            ("runs", ["run_uuid", "name", "source_type", "source_name", "entry_point_name", "user_id", "status", "start_time", "end_time", "source_version", "lifecycle_stage", "artifact_uri", "experiment_id", "deleted_time"]),
            ("metrics", ["key", "value", "timestamp", "run_uuid", "step", "is_nan"]),
            ("latest_metrics", ["key", "value", "timestamp", "step", "is_nan", "run_uuid"]),
            ("params", ["key", "value", "run_uuid"]),
            ("tags", ["key", "value", "run_uuid"]),
        ]),
        (SqliteFeature.Registry, "2.0",
        [
            ("registered_models", ["name", "creation_time", "last_updated_time", "description"]),
            ("registered_model_tags", ["key", "value", "name"]),
            ("model_versions", ["name", "version", "creation_time", "last_updated_time", "description", "user_id", "current_stage", "source", "run_id", "status", "status_message", "run_link"]),
            ("model_version_tags", ["key", "value", "name", "version"]),
        ]),
        (SqliteFeature.Aliases, "2.3", [("registered_model_aliases", ["alias", "version", "name"])]),
        (SqliteFeature.DatasetInputs, "2.4",
        [
            ("datasets", ["dataset_uuid", "experiment_id", "name", "digest", "dataset_source_type", "dataset_source", "dataset_schema", "dataset_profile"]),
            ("inputs", ["input_uuid", "source_type", "source_id", "destination_type", "destination_id"]),
            ("input_tags", ["input_uuid", "name", "value"]),
        ]),
        (SqliteFeature.LoggedModels, "3.0",
        [
            ("logged_models", ["model_id", "experiment_id", "name", "artifact_location", "creation_timestamp_ms", "last_updated_timestamp_ms", "status", "lifecycle_stage", "model_type", "source_run_id", "status_message"]),
            ("logged_model_params", ["model_id", "experiment_id", "param_key", "param_value"]),
            ("logged_model_tags", ["model_id", "experiment_id", "tag_key", "tag_value"]),
            ("logged_model_metrics", ["model_id", "metric_name", "metric_timestamp_ms", "metric_step", "metric_value", "experiment_id", "run_id", "dataset_uuid", "dataset_name", "dataset_digest"]),
            ("inputs", ["input_uuid", "source_type", "source_id", "destination_type", "destination_id", "step"]),
        ]),
    ];

    /// <summary>Columns the store leaves to their defaults or writes only where they exist.</summary>
    private static readonly (string Table, string Column)[] OptionalColumns =
    [
        ("model_versions", "storage_location"),
        ("experiments", "workspace"),
        ("registered_models", "workspace"),
        ("registered_model_tags", "workspace"),
        ("model_versions", "workspace"),
        ("model_version_tags", "workspace"),
        ("registered_model_aliases", "workspace"),
    ];

    private readonly Dictionary<string, Dictionary<string, (string Type, bool Required)>> _tables;
    private readonly Dictionary<SqliteFeature, List<string>> _missing = [];
    private readonly Dictionary<(string Table, string Column), int> _lengths = [];

    private SqliteSchema(string revision, Dictionary<string, Dictionary<string, (string Type, bool Required)>> tables)
    {
        Revision = revision;
        Release = SqliteSchemaCatalog.FindByRevision(revision);
        _tables = tables;
        foreach (var (table, columns) in tables)
        {
            foreach (var (column, info) in columns)
            {
                if (VarcharLength().Match(info.Type) is { Success: true } match)
                {
                    _lengths[(table, column)] = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
                }
            }
        }

        var known = Requirements.SelectMany(r => r.Needs).SelectMany(n => n.Columns.Select(c => (n.Table, c)))
            .Concat(OptionalColumns)
            .ToHashSet();
        foreach (var (feature, _, needs) in Requirements)
        {
            var missing = new List<string>();
            foreach (var (table, columns) in needs)
            {
                if (!tables.TryGetValue(table, out var present))
                {
                    missing.Add($"table {table}");
                    continue;
                }

                missing.AddRange(columns.Where(c => !present.ContainsKey(c)).Select(c => $"column {table}.{c}"));

                // A newer schema may add a NOT NULL column without a default: rows this library inserts would lack it.
                missing.AddRange(present.Where(c => c.Value.Required && !known.Contains((table, c.Key))).Select(c => $"a value for {table}.{c.Key} (NOT NULL, no default; unknown to this library)"));
            }

            _missing[feature] = missing.Distinct(StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>The revision in <c>alembic_version</c>.</summary>
    public string Revision { get; }

    /// <summary>The release whose head is <see cref="Revision"/>, or <see langword="null"/> for a revision this library does not know.</summary>
    public SqliteSchemaRelease? Release { get; }

    /// <summary>"the MLflow 3.5–3.7 schema (revision bf29a5ff90ea)" or "schema revision 'x', which this library does not know".</summary>
    public string Description => Release is null
        ? $"schema revision '{Revision}', which this library does not know"
        : $"the MLflow {Release.Label} schema (revision {Revision})";

    /// <summary>Whether model versions have <c>storage_location</c> (MLflow 2.8).</summary>
    public bool HasStorageLocation => HasColumn("model_versions", "storage_location");

    /// <summary>Whether every table and column of <paramref name="feature"/> exists.</summary>
    public bool Supports(SqliteFeature feature) => _missing[feature].Count == 0;

    /// <summary>Whether <paramref name="table"/> has <paramref name="column"/>.</summary>
    public bool HasColumn(string table, string column) => _tables.TryGetValue(table, out var columns) && columns.ContainsKey(column);

    /// <summary>The declared length of a <c>VARCHAR(n)</c> column, or <see langword="null"/> (TEXT, or no such column).</summary>
    public int? MaxLength(string table, string column) => _lengths.TryGetValue((table, column), out var length) ? length : null;

    /// <summary>The tables and columns of every feature that this file lacks, for the unknown-revision warning ("" when none).</summary>
    public string DescribeMissing()
    {
        var parts = Requirements.Where(r => _missing[r.Feature].Count > 0).Select(r => $"{r.Feature} ({string.Join(", ", _missing[r.Feature])})").ToList();
        return parts.Count == 0 ? "" : "; this file lacks what these need: " + string.Join("; ", parts);
    }

    /// <summary>Throws when the file lacks what <paramref name="feature"/> needs, naming it and the release that has it.</summary>
    /// <param name="feature">The feature.</param>
    /// <param name="what">The operation, e.g. "Setting an alias".</param>
    /// <param name="path">The database file.</param>
    /// <param name="asMissingEndpoint">Fail with <see cref="MlflowErrorCodes.EndpointNotFound"/>, as a server of that release does for the route.</param>
    public void Require(SqliteFeature feature, string what, string path, bool asMissingEndpoint = false)
    {
        var missing = _missing[feature];
        if (missing.Count == 0)
        {
            return;
        }

        var since = Requirements.First(r => r.Feature == feature).Since;
        var message = $"{what} needs a database of MLflow {since} or newer: '{path}' has {Description}, which lacks {string.Join(", ", missing)}. Nothing was written. "
            + $"If every program that uses this file runs MLflow {since} or newer, back it up and run 'mlflow db upgrade sqlite:///<path>'; otherwise use a separate database for this.";
        throw asMissingEndpoint
            ? new MlflowException(HttpStatusCode.NotFound, MlflowErrorCodes.EndpointNotFound, message)
            : new MlflowException(HttpStatusCode.NotImplemented, MlflowErrorCodes.NotImplemented, message);
    }

    /// <summary>A clear message for SQLite's "no such table/column" when an operation touches what the file lacks.</summary>
    public string DescribeSqlError(string sqliteMessage, string path)
    {
        var missing = _missing.Values.SelectMany(m => m).Distinct(StringComparer.Ordinal).ToList();
        var named = NamedObject().Match(sqliteMessage) is { Success: true } match ? match.Groups["name"].Value : null;
        var relevant = named is null ? missing : missing.Where(m => m.Contains(named, StringComparison.Ordinal)).ToList();
        var lacks = relevant.Count > 0 ? string.Join(", ", relevant) : named ?? sqliteMessage;
        return $"The database '{path}' has {Description}, which lacks {lacks} that this operation needs. Nothing was written. "
            + $"Use the MLflow release that created the file to write this, or back it up and run 'mlflow db upgrade sqlite:///<path>' with an MLflow that has it. (SQLite: {sqliteMessage})";
    }

    /// <summary>Reads the tables and columns of the open file.</summary>
    public static SqliteSchema Detect(SqliteConnection connection, SqliteTransaction? transaction, string revision)
    {
        var tables = new Dictionary<string, Dictionary<string, (string Type, bool Required)>>(StringComparer.Ordinal);
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = """
                SELECT m.name, p.name, p.type, p."notnull", p.dflt_value IS NULL, p.pk
                FROM sqlite_master m JOIN pragma_table_info(m.name) p
                WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
                """;
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var table = reader.GetString(0);
                if (!tables.TryGetValue(table, out var columns))
                {
                    tables[table] = columns = new Dictionary<string, (string, bool)>(StringComparer.Ordinal);
                }

                // A NOT NULL column without a default that is not an INTEGER PRIMARY KEY (rowid alias) needs a value.
                var required = reader.GetInt64(3) == 1 && reader.GetInt64(4) == 1 && !(reader.GetInt64(5) > 0 && reader.GetString(2).Equals("INTEGER", StringComparison.OrdinalIgnoreCase));
                columns[reader.GetString(1)] = (reader.GetString(2), required);
            }
        }

        return new SqliteSchema(revision, tables);
    }

    [GeneratedRegex(@"^\s*VARCHAR\s*\(\s*(\d+)\s*\)\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex VarcharLength();

    [GeneratedRegex(@"(?:no such (?:table|column): (?:main\.)?|has no column named |NOT NULL constraint failed: )(?<name>[\w.]+)", RegexOptions.CultureInvariant)]
    private static partial Regex NamedObject();
}
