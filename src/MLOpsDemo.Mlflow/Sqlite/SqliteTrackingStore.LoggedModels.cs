using System.Globalization;
using System.Net;
using MLOpsDemo.Mlflow.Internal;
using MLOpsDemo.Mlflow.LoggedModels;

namespace MLOpsDemo.Mlflow.Sqlite;

/// <summary>
/// MLflow 3 logged models in <c>mlflow.db</c> (SQLSTORE.md §6.8): ids <c>m-&lt;32 hex&gt;</c>, artifact location
/// <c>&lt;experiment location&gt;/models/&lt;id&gt;/artifacts</c>, integer status, soft delete. On an MLflow 2.22 database
/// (no logged-model tables) every call fails with <c>ENDPOINT_NOT_FOUND</c>, exactly as a 2.x server answers, so callers
/// fall back to MLflow 2's way.
/// </summary>
internal sealed partial class SqliteTrackingStore : ILoggedModelStore
{
    private const string LoggedModelColumns = "model_id, experiment_id, name, artifact_location, creation_timestamp_ms, last_updated_timestamp_ms, status, lifecycle_stage, model_type, source_run_id, status_message";

    public Task<LoggedModel> CreateLoggedModelAsync(string experimentId, CreateLoggedModelOptions options, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireLoggedModelTables();
                var id = ParseExperimentId(experimentId);
                RequireActiveExperiment(id, experimentId);
                var location = Scalar("SELECT artifact_location FROM experiments WHERE experiment_id = $id", ("$id", id)) as string ?? ArtifactPaths.Join(ArtifactRoot, experimentId);
                var modelId = "m-" + Guid.NewGuid().ToString("N");
                var now = Now();
                Execute(
                    $"INSERT INTO logged_models ({LoggedModelColumns}) VALUES ($id, $exp, $name, $location, $now, $now, 1, 'active', $type, $run, NULL)",
                    ("$id", modelId),
                    ("$exp", id),
                    ("$name", string.IsNullOrEmpty(options.Name) ? RunNameGenerator.Generate() : options.Name),
                    ("$location", ArtifactPaths.Join(ArtifactPaths.Join(ArtifactPaths.Join(location, "models"), modelId), "artifacts")),
                    ("$now", now),
                    ("$type", options.ModelType),
                    ("$run", options.SourceRunId));
                foreach (var param in options.Params ?? EmptyDictionary)
                {
                    Execute("INSERT INTO logged_model_params (model_id, experiment_id, param_key, param_value) VALUES ($m, $e, $k, $v)", ("$m", modelId), ("$e", id), ("$k", param.Key), ("$v", param.Value));
                }

                UpsertLoggedModelTags(modelId, id, options.Tags ?? EmptyDictionary);
                return ReadLoggedModel(modelId, allowDeleted: false);
            },
            cancellationToken);

    public Task<LoggedModel> GetLoggedModelAsync(string modelId, CancellationToken cancellationToken) =>
        RunAsync(
            _ =>
            {
                RequireLoggedModelTables();
                return ReadLoggedModel(modelId, allowDeleted: false);
            },
            cancellationToken);

    public Task<LoggedModel> FinalizeLoggedModelAsync(string modelId, LoggedModelStatus status, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireLoggedModelTables();
                ReadLoggedModel(modelId, allowDeleted: false);
                Execute("UPDATE logged_models SET status = $s, last_updated_timestamp_ms = $now WHERE model_id = $id", ("$s", (int)status), ("$now", Now()), ("$id", modelId));
                return ReadLoggedModel(modelId, allowDeleted: false);
            },
            cancellationToken);

    public Task DeleteLoggedModelAsync(string modelId, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireLoggedModelTables();
                ReadLoggedModel(modelId, allowDeleted: false);
                Execute("UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_timestamp_ms = $now WHERE model_id = $id", ("$now", Now()), ("$id", modelId));
            },
            cancellationToken);

    public Task<MlflowPage<LoggedModel>> SearchLoggedModelsAsync(IReadOnlyList<string> experimentIds, string? filter, IReadOnlyList<LoggedModelOrderBy>? orderBy, int maxResults, string? pageToken, CancellationToken cancellationToken)
    {
        var where = LoggedModelFilter(filter, out var parameters);
        var order = string.Join(", ", (orderBy ?? []).Select(LoggedModelOrder).Append("m.creation_timestamp_ms DESC").Append("m.model_id ASC"));
        var ids = experimentIds.Select((e, i) => (Name: "$e" + i.ToString(CultureInfo.InvariantCulture), Value: (object?)ParseExperimentId(e))).ToList();
        var offset = PageToken.Decode(pageToken);
        return RunAsync(
            _ =>
            {
                RequireLoggedModelTables();
                var found = Query(
                    $"SELECT m.model_id FROM logged_models m WHERE m.lifecycle_stage = 'active' AND m.experiment_id IN ({string.Join(", ", ids.Select(i => i.Name))}) AND {where} ORDER BY {order} LIMIT $limit OFFSET $offset",
                    r => r.GetString(0),
                    [.. ids, .. parameters, ("$limit", maxResults + 1), ("$offset", offset)]);
                var models = found.Take(maxResults).Select(id => ReadLoggedModel(id, allowDeleted: false)).ToList();
                return new MlflowPage<LoggedModel>(models, found.Count > maxResults ? PageToken.Encode(offset + maxResults) : null);
            },
            cancellationToken);
    }

    public Task SetLoggedModelTagsAsync(string modelId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireLoggedModelTables();
                var model = ReadLoggedModel(modelId, allowDeleted: false);
                UpsertLoggedModelTags(modelId, long.Parse(model.Info.ExperimentId, CultureInfo.InvariantCulture), tags);
            },
            cancellationToken);

    public Task DeleteLoggedModelTagAsync(string modelId, string key, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireLoggedModelTables();
                ReadLoggedModel(modelId, allowDeleted: false);
                if (Execute("DELETE FROM logged_model_tags WHERE model_id = $m AND tag_key = $k", ("$m", modelId), ("$k", key)) == 0)
                {
                    throw NotFound($"No tag with key '{key}' found for logged model {modelId}.");
                }
            },
            cancellationToken);

    private void RequireLoggedModelTables()
    {
        if (!_flavor!.HasLoggedModels)
        {
            // What an MLflow 2.x server answers for these endpoints; callers fall back to MLflow 2's model logging.
            throw new MlflowException(HttpStatusCode.NotFound, MlflowErrorCodes.EndpointNotFound, $"Logged models need an MLflow 3 database; '{DatabasePath}' has the MLflow {_flavor.MlflowVersion} schema ({_flavor.Revision}).");
        }
    }

    private void UpsertLoggedModelTags(string modelId, long experimentId, IReadOnlyDictionary<string, string> tags)
    {
        foreach (var tag in tags)
        {
            Execute(
                "INSERT INTO logged_model_tags (model_id, experiment_id, tag_key, tag_value) VALUES ($m, $e, $k, $v) ON CONFLICT DO UPDATE SET tag_value = excluded.tag_value",
                ("$m", modelId), ("$e", experimentId), ("$k", tag.Key), ("$v", tag.Value));
        }
    }

    private LoggedModel ReadLoggedModel(string modelId, bool allowDeleted)
    {
        var rows = Query(
            $"SELECT {LoggedModelColumns} FROM logged_models WHERE model_id = $id",
            r => (Info: new LoggedModelInfo
            {
                ModelId = r.GetString(0),
                ExperimentId = r.GetInt64(1).ToString(CultureInfo.InvariantCulture),
                Name = r.GetString(2),
                ArtifactUri = r.GetString(3),
                CreationTimestampMs = r.GetInt64(4),
                LastUpdatedTimestampMs = r.GetInt64(5),
                Status = (LoggedModelStatus)r.GetInt32(6),
                ModelType = GetString(r, 8),
                SourceRunId = GetString(r, 9),
                StatusMessage = GetString(r, 10),
            }, Stage: GetString(r, 7)),
            ("$id", modelId));
        if (rows.Count == 0 || (!allowDeleted && rows[0].Stage == LifecycleStage.Deleted))
        {
            throw NotFound($"Logged model with ID '{modelId}' not found.");
        }

        var info = rows[0].Info with
        {
            Tags = Query("SELECT tag_key, tag_value FROM logged_model_tags WHERE model_id = $id ORDER BY tag_key", r => KeyValuePair.Create(r.GetString(0), r.GetString(1)), ("$id", modelId)).ToDictionary(StringComparer.Ordinal),
        };
        var parameters = Query("SELECT param_key, param_value FROM logged_model_params WHERE model_id = $id ORDER BY param_key", r => KeyValuePair.Create(r.GetString(0), r.GetString(1)), ("$id", modelId)).ToDictionary(StringComparer.Ordinal);
        var metrics = Query(
            "SELECT metric_name, metric_value, metric_timestamp_ms, metric_step, run_id, dataset_name, dataset_digest FROM logged_model_metrics WHERE model_id = $id ORDER BY metric_name, metric_step, metric_timestamp_ms",
            r => new Metric(r.GetString(0), r.IsDBNull(1) ? double.NaN : r.GetDouble(1), r.GetInt64(2), r.GetInt64(3)) { RunId = r.GetString(4), ModelId = modelId, DatasetName = GetString(r, 5), DatasetDigest = GetString(r, 6) },
            ("$id", modelId));
        return new LoggedModel { Info = info, Data = new LoggedModelData { Params = parameters, Metrics = metrics } };
    }

    /// <summary>Logged-model filters: <c>name</c>, <c>model_type</c>, <c>status</c>, <c>source_run_id</c>, <c>tags.k</c>, <c>params.k</c> with = != LIKE ILIKE, joined by AND.</summary>
    private static string LoggedModelFilter(string? filter, out List<(string Name, object? Value)> parameters)
    {
        parameters = [];
        if (string.IsNullOrWhiteSpace(filter))
        {
            return "1 = 1";
        }

        var clauses = new List<string>();
        foreach (var clause in SplitLoggedModelFilter(filter))
        {
            var p = "$lm" + parameters.Count.ToString(CultureInfo.InvariantCulture);
            var (identifier, op, value) = clause;
            string column;
            if (identifier.StartsWith("tags.", StringComparison.OrdinalIgnoreCase))
            {
                parameters.Add((p + "k", identifier[5..].Trim('`', '"')));
                column = $"(SELECT t.tag_value FROM logged_model_tags t WHERE t.model_id = m.model_id AND t.tag_key = {p}k)";
            }
            else if (identifier.StartsWith("params.", StringComparison.OrdinalIgnoreCase))
            {
                parameters.Add((p + "k", identifier[7..].Trim('`', '"')));
                column = $"(SELECT t.param_value FROM logged_model_params t WHERE t.model_id = m.model_id AND t.param_key = {p}k)";
            }
            else
            {
                column = identifier.ToLowerInvariant() switch
                {
                    "name" => "m.name",
                    "model_type" => "m.model_type",
                    "source_run_id" => "m.source_run_id",
                    "model_id" => "m.model_id",
                    _ => throw InvalidParameter($"Invalid logged model filter key '{identifier}'. Use name, model_type, source_run_id, model_id, tags.<key> or params.<key>."),
                };
            }

            parameters.Add((p, op == "ILIKE" ? value.ToLowerInvariant() : value));
            clauses.Add(op switch
            {
                "=" or "!=" => $"{column} {op} {p}",
                "LIKE" => $"{column} LIKE {p}",
                "ILIKE" => $"LOWER({column}) LIKE {p}",
                _ => throw InvalidParameter($"Invalid comparator '{op}' in the logged model filter; use =, !=, LIKE or ILIKE."),
            });
        }

        return string.Join(" AND ", clauses);
    }

    private static List<(string Identifier, string Op, string Value)> SplitLoggedModelFilter(string filter)
    {
        var result = new List<(string, string, string)>();
        foreach (var part in System.Text.RegularExpressions.Regex.Split(filter, @"\s+AND\s+(?=(?:[^']*'[^']*')*[^']*$)", System.Text.RegularExpressions.RegexOptions.IgnoreCase, TimeSpan.FromSeconds(1)))
        {
            var match = System.Text.RegularExpressions.Regex.Match(part.Trim(), @"^(?<id>[`""]?[\w.\-`"" ]+?[`""]?)\s*(?<op>!=|=|(?i:ILIKE|LIKE))\s*'(?<value>[^']*)'$", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1));
            if (!match.Success)
            {
                throw InvalidParameter($"Invalid logged model filter clause '{part.Trim()}'. Expected <key> <comparator> '<value>'.");
            }

            result.Add((match.Groups["id"].Value.Trim(), match.Groups["op"].Value.ToUpperInvariant(), match.Groups["value"].Value));
        }

        return result;
    }

    private static string LoggedModelOrder(LoggedModelOrderBy order)
    {
        var column = order.FieldName.ToLowerInvariant() switch
        {
            "name" => "m.name",
            "creation_timestamp" or "creation_time" or "creation_timestamp_ms" => "m.creation_timestamp_ms",
            "last_updated_timestamp" or "last_updated_timestamp_ms" => "m.last_updated_timestamp_ms",
            "model_id" => "m.model_id",
            _ => throw InvalidParameter($"Invalid logged model order_by field '{order.FieldName}'. Use name, creation_timestamp, last_updated_timestamp or model_id."),
        };
        return column + (order.Ascending ? " ASC" : " DESC");
    }
}
