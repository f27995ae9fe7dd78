using System.Globalization;
using System.Text;
using MLOpsDemo.Mlflow.Internal;
using MLOpsDemo.Mlflow.Stores;

namespace MLOpsDemo.Mlflow.Sqlite;

internal sealed partial class SqliteTrackingStore
{
    private const string RunNameTag = "mlflow.runName";
    private const string RunInfoColumns = "run_uuid, name, experiment_id, user_id, status, start_time, end_time, lifecycle_stage, artifact_uri";

    public Task<Run> CreateRunAsync(CreateRunRequest request, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                var experimentId = ParseExperimentId(request.ExperimentId);
                var location = Query(
                    "SELECT lifecycle_stage, artifact_location FROM experiments WHERE experiment_id = $id",
                    r => (Stage: GetString(r, 0), Location: GetString(r, 1)),
                    ("$id", experimentId));
                if (location.Count == 0)
                {
                    throw NotFound($"No Experiment with id={request.ExperimentId} exists");
                }

                if (location[0].Stage != LifecycleStage.Active)
                {
                    throw InvalidParameter($"The experiment {request.ExperimentId} must be in the 'active' state. Current state is {location[0].Stage}.");
                }

                string? tagName = null;
                foreach (var tag in request.Tags)
                {
                    if (tag.Key == RunNameTag)
                    {
                        tagName = tag.Value;
                    }
                }

                if (request.RunName is not null && tagName is not null && request.RunName != tagName)
                {
                    throw InvalidParameter($"Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='{request.RunName}', mlflow.runName='{tagName}').");
                }

                var runName = request.RunName ?? tagName ?? RunNameGenerator.Generate();
                var runId = Guid.NewGuid().ToString("N");
                var artifactUri = ArtifactPaths.Join(ArtifactPaths.Join(location[0].Location ?? ArtifactPaths.Join(ArtifactRoot, request.ExperimentId), runId), "artifacts");
                Execute(
                    """
                    INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id, deleted_time)
                    VALUES ($id, $name, 'UNKNOWN', '', '', $user, 'RUNNING', $start, NULL, '', 'active', $uri, $experiment, NULL)
                    """,
                    ("$id", runId),
                    ("$name", runName),
                    ("$user", request.UserId),
                    ("$start", request.StartTime),
                    ("$uri", artifactUri),
                    ("$experiment", experimentId));
                foreach (var tag in request.Tags)
                {
                    UpsertRunTag(runId, tag.Key, tag.Value);
                }

                if (tagName is null)
                {
                    UpsertRunTag(runId, RunNameTag, runName);
                }

                return LoadRun(runId)!;
            },
            cancellationToken);

    public Task<Run> GetRunAsync(string runId, CancellationToken cancellationToken) =>
        RunAsync(_ => LoadRun(runId) ?? throw RunNotFound(runId), cancellationToken);

    public Task<RunInfo> UpdateRunAsync(string runId, RunStatus? status, long? endTime, string? runName, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireActiveRun(runId);
                if (status is not null)
                {
                    Execute("UPDATE runs SET status = $status WHERE run_uuid = $id", ("$status", status.Value.ToWire()), ("$id", runId));
                }

                if (endTime is not null)
                {
                    Execute("UPDATE runs SET end_time = $end WHERE run_uuid = $id", ("$end", endTime.Value), ("$id", runId));
                }

                if (runName is not null)
                {
                    UpsertRunTag(runId, RunNameTag, runName);
                }

                return LoadRunInfo(runId)!;
            },
            cancellationToken);

    public Task DeleteRunAsync(string runId, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                if (Execute("UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = $now WHERE run_uuid = $id", ("$now", Now()), ("$id", runId)) == 0)
                {
                    throw RunNotFound(runId);
                }
            },
            cancellationToken);

    public Task RestoreRunAsync(string runId, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                if (Execute("UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE run_uuid = $id", ("$id", runId)) == 0)
                {
                    throw RunNotFound(runId);
                }
            },
            cancellationToken);

    public Task<MlflowPage<Run>> SearchRunsAsync(RunQuery query, int maxResults, string? pageToken, CancellationToken cancellationToken)
    {
        var clauses = SearchFilter.Parse(query.Filter, SearchKind.Runs);
        var order = SearchFilter.ParseOrderBy(query.OrderBy, SearchKind.Runs);
        var offset = PageToken.Decode(pageToken);
        return RunAsync(
            _ =>
            {
                var (sql, parameters) = BuildRunSearch(query, clauses, order, Schema, DatabasePath);
                sql.Append(" LIMIT $limit OFFSET $offset");
                parameters.Add(("$limit", maxResults + 1L));
                parameters.Add(("$offset", offset));
                var ids = Query(sql.ToString(), r => r.GetString(0), [.. parameters]);
                var runs = ids.Take(maxResults).Select(id => LoadRun(id)!).ToList();
                return new MlflowPage<Run>(runs, ids.Count > maxResults ? PageToken.Encode(offset + maxResults) : null);
            },
            cancellationToken);
    }

    private static (StringBuilder Sql, List<(string, object?)> Parameters) BuildRunSearch(RunQuery query, IReadOnlyList<FilterClause> clauses, IReadOnlyList<OrderClause> order, SqliteSchema schema, string path)
    {
        var parameters = new List<(string, object?)>();
        var joins = new StringBuilder();
        var orderSql = new List<string>();
        for (var i = 0; i < order.Count; i++)
        {
            var o = order[i];
            var alias = "o" + i.ToString(CultureInfo.InvariantCulture);
            var direction = o.Ascending ? "ASC" : "DESC";
            switch (o.Entity)
            {
                case SearchEntity.Metric:
                    joins.Append(CultureInfo.InvariantCulture, $" LEFT JOIN latest_metrics {alias} ON {alias}.run_uuid = runs.run_uuid AND {alias}.key = ${alias}");
                    parameters.Add(("$" + alias, o.Key));
                    orderSql.Add($"CASE WHEN {alias}.is_nan = 1 THEN 1 WHEN {alias}.value IS NULL THEN 2 ELSE 0 END ASC, {alias}.value {direction}");
                    break;
                case SearchEntity.Param or SearchEntity.Tag:
                    joins.Append(CultureInfo.InvariantCulture, $" LEFT JOIN {(o.Entity == SearchEntity.Param ? "params" : "tags")} {alias} ON {alias}.run_uuid = runs.run_uuid AND {alias}.key = ${alias}");
                    parameters.Add(("$" + alias, o.Key));
                    orderSql.Add($"CASE WHEN {alias}.value IS NULL THEN 1 ELSE 0 END ASC, {alias}.value {direction}");
                    break;
                default:
                    var column = "runs." + RunColumn(o.Key);
                    orderSql.Add($"CASE WHEN {column} IS NULL THEN 1 ELSE 0 END ASC, {column} {direction}");
                    break;
            }
        }

        if (!order.Any(o => o.Entity == SearchEntity.Attribute && o.Key == "start_time"))
        {
            orderSql.Add("runs.start_time DESC");
        }

        orderSql.Add("runs.run_uuid ASC");

        var sql = new StringBuilder("SELECT runs.run_uuid FROM runs").Append(joins).Append(" WHERE runs.experiment_id IN ");
        var experimentIds = query.ExperimentIds
            .Select(id => long.TryParse(id, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? (long?)value : null)
            .Where(id => id is not null)
            .ToList();
        AddList(sql, parameters, "$e", experimentIds);
        sql.Append(" AND ").Append(LifecycleCondition("runs.lifecycle_stage", query.ViewType));

        for (var i = 0; i < clauses.Count; i++)
        {
            var c = clauses[i];
            var p = "$f" + i.ToString(CultureInfo.InvariantCulture);
            sql.Append(" AND ");
            switch (c.Entity)
            {
                case SearchEntity.Metric:
                    parameters.Add((p + "k", c.Key));
                    parameters.Add((p, c.Value));
                    sql.Append(CultureInfo.InvariantCulture, $"EXISTS (SELECT 1 FROM latest_metrics m WHERE m.run_uuid = runs.run_uuid AND m.key = {p}k AND m.value {c.Comparator} {p})");
                    break;
                case SearchEntity.Param or SearchEntity.Tag:
                    var table = c.Entity == SearchEntity.Param ? "params" : "tags";
                    parameters.Add((p + "k", c.Key));
                    if (c.Comparator is "IS NULL" or "IS NOT NULL")
                    {
                        sql.Append(c.Comparator == "IS NULL" ? "NOT " : "").Append(CultureInfo.InvariantCulture, $"EXISTS (SELECT 1 FROM {table} x WHERE x.run_uuid = runs.run_uuid AND x.key = {p}k)");
                    }
                    else
                    {
                        parameters.Add((p, c.Value));
                        sql.Append(CultureInfo.InvariantCulture, $"EXISTS (SELECT 1 FROM {table} x WHERE x.run_uuid = runs.run_uuid AND x.key = {p}k AND {StringPredicate("x.value", c.Comparator, p)})");
                    }

                    break;
                case SearchEntity.Dataset:
                    schema.Require(SqliteFeature.DatasetInputs, "Searching runs by dataset", path);
                    var datasetColumn = c.Key == "context" ? "it.value" : "d." + c.Key;
                    var contextJoin = c.Key == "context" ? " JOIN input_tags it ON it.input_uuid = i.input_uuid AND it.name = 'mlflow.data.context'" : "";
                    sql.Append(CultureInfo.InvariantCulture, $"EXISTS (SELECT 1 FROM datasets d JOIN inputs i ON i.source_id = d.dataset_uuid{contextJoin} WHERE i.destination_id = runs.run_uuid AND ");
                    AppendStringOrList(sql, parameters, datasetColumn, c, p);
                    sql.Append(')');
                    break;
                default:
                    if (c.Key == "run_name")
                    {
                        parameters.Add((p, c.Value));
                        sql.Append(CultureInfo.InvariantCulture, $"EXISTS (SELECT 1 FROM tags x WHERE x.run_uuid = runs.run_uuid AND x.key = 'mlflow.runName' AND {StringPredicate("x.value", c.Comparator, p)})");
                    }
                    else if (c.Value is double number)
                    {
                        parameters.Add((p, number == Math.Floor(number) && Math.Abs(number) < 9e18 ? (object)(long)number : number));
                        sql.Append(CultureInfo.InvariantCulture, $"runs.{RunColumn(c.Key)} {c.Comparator} {p}");
                    }
                    else if (c.Key == "run_id" && c.Value is IReadOnlyList<string> list)
                    {
                        AppendStringOrList(sql, parameters, "runs.run_uuid", c with { Value = list.Where(SearchFilter.IsPythonLower).ToList() }, p);
                    }
                    else
                    {
                        AppendStringOrList(sql, parameters, "runs." + RunColumn(c.Key), c, p);
                    }

                    break;
            }
        }

        sql.Append(" ORDER BY ").Append(string.Join(", ", orderSql));
        return (sql, parameters);
    }

    private static void AppendStringOrList(StringBuilder sql, List<(string, object?)> parameters, string column, FilterClause clause, string parameter)
    {
        if (clause.Value is IReadOnlyList<string> items)
        {
            sql.Append(column).Append(clause.Comparator == "IN" ? " IN " : " NOT IN ");
            AddList(sql, parameters, parameter, items);
            return;
        }

        parameters.Add((parameter, clause.Value));
        sql.Append(StringPredicate(column, clause.Comparator, parameter));
    }

    private static string RunColumn(string attribute) => attribute switch
    {
        "run_id" => "run_uuid",
        "run_name" => "name",
        _ => attribute,
    };

    private static MlflowException RunNotFound(string runId) => NotFound($"Run with id={runId} not found");

    /// <summary>Checks that the run exists and is active; returns its experiment id.</summary>
    private long RequireActiveRun(string runId)
    {
        var rows = Query("SELECT lifecycle_stage, experiment_id FROM runs WHERE run_uuid = $id", r => (Stage: GetString(r, 0), Experiment: r.GetInt64(1)), ("$id", runId));
        if (rows.Count == 0)
        {
            throw RunNotFound(runId);
        }

        if (rows[0].Stage != LifecycleStage.Active)
        {
            throw InvalidParameter($"The run {runId} must be in the 'active' state. Current state is {rows[0].Stage}.");
        }

        return rows[0].Experiment;
    }

    private void UpsertRunTag(string runId, string key, string value)
    {
        CheckLength("tags", "value", value, $"Tag '{key}'", "2.17");
        Execute(
            "INSERT INTO tags (key, value, run_uuid) VALUES ($key, $value, $id) ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value",
            ("$key", key),
            ("$value", value),
            ("$id", runId));
        if (key == RunNameTag)
        {
            Execute("UPDATE runs SET name = $name WHERE run_uuid = $id", ("$name", value), ("$id", runId));
        }
    }

    private RunInfo? LoadRunInfo(string runId)
    {
        var infos = Query(
            $"SELECT {RunInfoColumns} FROM runs WHERE run_uuid = $id",
            r => new RunInfo
            {
                RunId = r.GetString(0),
                RunName = GetString(r, 1),
                ExperimentId = r.GetInt64(2).ToString(CultureInfo.InvariantCulture),
                UserId = GetString(r, 3),
                Status = EnumNames.ParseRunStatus(GetString(r, 4) ?? "RUNNING"),
                StartTime = GetInt64(r, 5),
                EndTime = GetInt64(r, 6),
                LifecycleStage = GetString(r, 7) ?? LifecycleStage.Active,
                ArtifactUri = GetString(r, 8),
            },
            ("$id", runId));
        if (infos.Count == 0)
        {
            return null;
        }

        var info = infos[0];
        if (string.IsNullOrEmpty(info.RunName))
        {
            info = info with { RunName = Scalar("SELECT value FROM tags WHERE run_uuid = $id AND key = 'mlflow.runName'", ("$id", runId)) as string };
        }

        return info;
    }

    private Run? LoadRun(string runId)
    {
        var info = LoadRunInfo(runId);
        if (info is null)
        {
            return null;
        }

        var metrics = Query(
            "SELECT key, value, timestamp, step, is_nan FROM latest_metrics WHERE run_uuid = $id ORDER BY key",
            r => new Metric(r.GetString(0), r.GetInt64(4) == 1 ? double.NaN : r.GetDouble(1), GetInt64(r, 2) ?? 0, r.GetInt64(3)),
            ("$id", runId));
        var parameters = ReadPairs("SELECT key, value FROM params WHERE run_uuid = $id ORDER BY key", ("$id", runId));
        var tags = ReadPairs("SELECT key, value FROM tags WHERE run_uuid = $id ORDER BY key", ("$id", runId));
        // A schema without dataset inputs (before MLflow 2.4) or without model outputs (before 3.0) simply has none.
        var datasetInputs = !Schema.Supports(SqliteFeature.DatasetInputs) ? [] : Query(
            """
            SELECT i.input_uuid, d.name, d.digest, d.dataset_source_type, d.dataset_source, d.dataset_schema, d.dataset_profile
            FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id
            WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' AND i.destination_id = $id
            ORDER BY d.name, d.digest
            """,
            r => (InputId: r.GetString(0), Dataset: new Dataset
            {
                Name = r.GetString(1),
                Digest = r.GetString(2),
                SourceType = r.GetString(3),
                Source = r.GetString(4),
                Schema = GetString(r, 5),
                Profile = GetString(r, 6),
            }),
            ("$id", runId))
            .Select(d => new DatasetInput { Dataset = d.Dataset, Tags = ReadPairs("SELECT name, value FROM input_tags WHERE input_uuid = $id ORDER BY name", ("$id", d.InputId)) })
            .ToList();
        var hasModels = Schema.Supports(SqliteFeature.LoggedModels);
        var modelInputs = !hasModels ? [] : Query(
            "SELECT destination_id FROM inputs WHERE source_type = 'RUN_INPUT' AND source_id = $id AND destination_type = 'MODEL_INPUT' ORDER BY destination_id",
            r => new ModelInput { ModelId = r.GetString(0) },
            ("$id", runId));
        var modelOutputs = !hasModels ? [] : Query(
            "SELECT destination_id, step FROM inputs WHERE source_type = 'RUN_OUTPUT' AND source_id = $id AND destination_type = 'MODEL_OUTPUT' ORDER BY step, destination_id",
            r => new ModelOutput { ModelId = r.GetString(0), Step = r.GetInt64(1) },
            ("$id", runId));
        return new Run
        {
            Info = info,
            Data = new RunData { Metrics = metrics, Params = parameters, Tags = tags },
            Inputs = new RunInputs { DatasetInputs = datasetInputs, ModelInputs = modelInputs },
            Outputs = new RunOutputs { ModelOutputs = modelOutputs },
        };
    }
}
