using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Data.Sqlite;
using MLOpsDemo.Mlflow.Stores;

namespace MLOpsDemo.Mlflow.Sqlite;

internal sealed partial class SqliteTrackingStore
{
    private const string ExperimentColumns = "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time";

    public Task<string> CreateExperimentAsync(string name, string? artifactLocation, IReadOnlyDictionary<string, string>? tags, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                if (Scalar("SELECT experiment_id FROM experiments WHERE name = $name", ("$name", name)) is not null)
                {
                    throw new MlflowException(HttpStatusCode.BadRequest, MlflowErrorCodes.ResourceAlreadyExists, $"Experiment(name={name}) already exists. Error: (sqlite3.IntegrityError) UNIQUE constraint failed: experiments.workspace, experiments.name");
                }

                var now = Now();
                Execute(
                    "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES ($name, NULL, 'active', $now, $now)",
                    ("$name", name),
                    ("$now", now));
                var id = Convert.ToInt64(Scalar("SELECT last_insert_rowid()"), CultureInfo.InvariantCulture);
                var location = string.IsNullOrEmpty(artifactLocation)
                    ? ArtifactPaths.Join(ArtifactRoot, id.ToString(CultureInfo.InvariantCulture))
                    : ArtifactPaths.Resolve(artifactLocation);
                Execute("UPDATE experiments SET artifact_location = $location WHERE experiment_id = $id", ("$location", location), ("$id", id));
                if (tags is not null)
                {
                    foreach (var tag in tags)
                    {
                        UpsertExperimentTag(id, tag.Key, tag.Value);
                    }
                }

                return id.ToString(CultureInfo.InvariantCulture);
            },
            cancellationToken);

    public Task<Experiment> GetExperimentAsync(string experimentId, CancellationToken cancellationToken) =>
        RunAsync(_ => LoadExperiment(ParseExperimentId(experimentId)) ?? throw NotFound($"No Experiment with id={experimentId} exists"), cancellationToken);

    public Task<Experiment?> GetExperimentByNameAsync(string name, CancellationToken cancellationToken) =>
        RunAsync(
            _ => Scalar("SELECT experiment_id FROM experiments WHERE name = $name", ("$name", name)) is long id ? LoadExperiment(id) : null,
            cancellationToken);

    public Task<MlflowPage<Experiment>> SearchExperimentsAsync(ExperimentQuery query, int maxResults, string? pageToken, CancellationToken cancellationToken)
    {
        var clauses = SearchFilter.Parse(query.Filter, SearchKind.Experiments);
        var order = SearchFilter.ParseOrderBy(query.OrderBy, SearchKind.Experiments);
        var offset = PageToken.Decode(pageToken);
        return RunAsync(
            _ =>
            {
                var parameters = new List<(string, object?)>();
                var sql = new StringBuilder("SELECT experiments.experiment_id FROM experiments WHERE ");
                sql.Append(LifecycleCondition("experiments.lifecycle_stage", query.ViewType));
                var n = 0;
                foreach (var clause in clauses)
                {
                    var p = "$f" + (n++).ToString(CultureInfo.InvariantCulture);
                    sql.Append(" AND ");
                    if (clause.Entity == SearchEntity.Tag)
                    {
                        parameters.Add((p + "k", clause.Key));
                        if (clause.Comparator is "IS NULL" or "IS NOT NULL")
                        {
                            sql.Append(clause.Comparator == "IS NULL" ? "NOT " : "").Append(CultureInfo.InvariantCulture, $"EXISTS (SELECT 1 FROM experiment_tags t WHERE t.experiment_id = experiments.experiment_id AND t.key = {p}k)");
                        }
                        else
                        {
                            parameters.Add((p, clause.Value));
                            sql.Append(CultureInfo.InvariantCulture, $"EXISTS (SELECT 1 FROM experiment_tags t WHERE t.experiment_id = experiments.experiment_id AND t.key = {p}k AND {StringPredicate("t.value", clause.Comparator, p)})");
                        }
                    }
                    else
                    {
                        parameters.Add((p, clause.Value));
                        var column = "experiments." + clause.Key;
                        sql.Append(clause.Value is double ? $"{column} {clause.Comparator} {p}" : StringPredicate(column, clause.Comparator, p));
                    }
                }

                sql.Append(" ORDER BY ");
                if (order.Count == 0)
                {
                    sql.Append("experiments.creation_time DESC, experiments.experiment_id ASC");
                }
                else
                {
                    sql.Append(string.Join(", ", order.Select(o => $"experiments.{o.Key} {(o.Ascending ? "ASC" : "DESC")}")));
                    if (!order.Any(o => o.Key == "experiment_id"))
                    {
                        sql.Append(", experiments.experiment_id DESC");
                    }
                }

                sql.Append(" LIMIT $limit OFFSET $offset");
                parameters.Add(("$limit", maxResults + 1L));
                parameters.Add(("$offset", offset));
                var ids = Query(sql.ToString(), r => r.GetInt64(0), [.. parameters]);
                var items = ids.Take(maxResults).Select(id => LoadExperiment(id)!).ToList();
                return new MlflowPage<Experiment>(items, ids.Count > maxResults ? PageToken.Encode(offset + maxResults) : null);
            },
            cancellationToken);
    }

    public Task UpdateExperimentAsync(string experimentId, string newName, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                var id = ParseExperimentId(experimentId);
                var stage = RequireExperiment(id, experimentId);
                if (stage != LifecycleStage.Active)
                {
                    throw new MlflowException(HttpStatusCode.InternalServerError, MlflowErrorCodes.InvalidState, "Cannot rename a non-active experiment.");
                }

                if (Scalar("SELECT experiment_id FROM experiments WHERE name = $name AND experiment_id != $id", ("$name", newName), ("$id", id)) is not null)
                {
                    throw new MlflowException(HttpStatusCode.BadRequest, MlflowErrorCodes.BadRequest, $"(sqlite3.IntegrityError) UNIQUE constraint failed: experiments.workspace, experiments.name (experiment name '{newName}' is taken)");
                }

                Execute("UPDATE experiments SET name = $name, last_update_time = $now WHERE experiment_id = $id", ("$name", newName), ("$now", Now()), ("$id", id));
            },
            cancellationToken);

    public Task DeleteExperimentAsync(string experimentId, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                var id = ParseExperimentId(experimentId);
                if (RequireExperiment(id, experimentId) != LifecycleStage.Active)
                {
                    throw NotFound($"Experiment {experimentId} is already deleted.");
                }

                var now = Now();
                Execute("UPDATE experiments SET lifecycle_stage = 'deleted', last_update_time = $now WHERE experiment_id = $id", ("$now", now), ("$id", id));
                Execute("UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = $now WHERE experiment_id = $id", ("$now", now), ("$id", id));
            },
            cancellationToken);

    public Task RestoreExperimentAsync(string experimentId, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                var id = ParseExperimentId(experimentId);
                if (RequireExperiment(id, experimentId) != LifecycleStage.Deleted)
                {
                    throw NotFound($"Cannot restore an active experiment: {experimentId}.");
                }

                Execute("UPDATE experiments SET lifecycle_stage = 'active', last_update_time = $now WHERE experiment_id = $id", ("$now", Now()), ("$id", id));
                Execute("UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE experiment_id = $id", ("$id", id));
            },
            cancellationToken);

    public Task SetExperimentTagAsync(string experimentId, string key, string value, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                var id = ParseExperimentId(experimentId);
                RequireActiveExperiment(id, experimentId);
                UpsertExperimentTag(id, key, value);
            },
            cancellationToken);

    public Task DeleteExperimentTagAsync(string experimentId, string key, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                var id = ParseExperimentId(experimentId);
                RequireActiveExperiment(id, experimentId);
                if (Execute("DELETE FROM experiment_tags WHERE experiment_id = $id AND key = $key", ("$id", id), ("$key", key)) == 0)
                {
                    throw NotFound($"No tag with name: {key} in experiment with id {experimentId}");
                }
            },
            cancellationToken);

    private void UpsertExperimentTag(long id, string key, string value) =>
        Execute(
            "INSERT INTO experiment_tags (key, value, experiment_id) VALUES ($key, $value, $id) ON CONFLICT (key, experiment_id) DO UPDATE SET value = excluded.value",
            ("$key", key),
            ("$value", value),
            ("$id", id));

    private string RequireExperiment(long id, string experimentId) =>
        Scalar("SELECT lifecycle_stage FROM experiments WHERE experiment_id = $id", ("$id", id)) as string
        ?? throw NotFound($"No Experiment with id={experimentId} exists");

    private void RequireActiveExperiment(long id, string experimentId)
    {
        var stage = RequireExperiment(id, experimentId);
        if (stage != LifecycleStage.Active)
        {
            throw InvalidParameter($"The experiment {experimentId} must be in the 'active' state. Current state is {stage}.");
        }
    }

    private Experiment? LoadExperiment(long id)
    {
        var experiments = Query(
            $"SELECT {ExperimentColumns} FROM experiments WHERE experiment_id = $id",
            r => new Experiment
            {
                ExperimentId = r.GetInt64(0).ToString(CultureInfo.InvariantCulture),
                Name = r.GetString(1),
                ArtifactLocation = GetString(r, 2),
                LifecycleStage = GetString(r, 3) ?? LifecycleStage.Active,
                CreationTime = GetInt64(r, 4),
                LastUpdateTime = GetInt64(r, 5),
            },
            ("$id", id));
        if (experiments.Count == 0)
        {
            return null;
        }

        var tags = ReadPairs("SELECT key, value FROM experiment_tags WHERE experiment_id = $id ORDER BY key", ("$id", id));
        return experiments[0] with { Tags = tags };
    }

    private Dictionary<string, string> ReadPairs(string sql, params (string Name, object? Value)[] parameters)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        using var command = Command(sql, parameters);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            result[reader.GetString(0)] = GetString(reader, 1) ?? "";
        }

        return result;
    }

    private static string LifecycleCondition(string column, ViewType? viewType) => (viewType ?? ViewType.ActiveOnly) switch
    {
        ViewType.DeletedOnly => $"{column} IN ('deleted')",
        ViewType.All => $"{column} IN ('active', 'deleted')",
        _ => $"{column} IN ('active')",
    };

    /// <summary>
    /// A string comparison as MLflow's SQL store writes it: <c>=</c>/<c>!=</c> byte-exact, <c>LIKE</c> case-sensitive
    /// (the connection sets <c>case_sensitive_like</c>), <c>ILIKE</c> as <c>lower(x) LIKE lower(p)</c>.
    /// </summary>
    private static string StringPredicate(string column, string comparator, string parameter) => comparator switch
    {
        "=" => $"{column} = {parameter}",
        "!=" => $"{column} != {parameter}",
        "LIKE" => $"{column} LIKE {parameter}",
        "ILIKE" => $"lower({column}) LIKE lower({parameter})",
        _ => throw InvalidParameter($"The comparator '{comparator}' is not supported here."),
    };

    private static void AddList<T>(StringBuilder sql, List<(string, object?)> parameters, string prefix, IReadOnlyList<T> items)
    {
        sql.Append('(');
        for (var i = 0; i < items.Count; i++)
        {
            var name = prefix + "_" + i.ToString(CultureInfo.InvariantCulture);
            sql.Append(i == 0 ? "" : ", ").Append(name);
            parameters.Add((name, items[i]));
        }

        sql.Append(')');
    }

    private static SqliteParameter Parameter(SqliteCommand command, string name)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        command.Parameters.Add(parameter);
        return parameter;
    }
}
