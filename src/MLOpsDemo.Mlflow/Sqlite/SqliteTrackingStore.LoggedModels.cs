using System.Globalization;
using System.Net;
using MLOpsDemo.Mlflow.Internal;
using MLOpsDemo.Mlflow.LoggedModels;

namespace MLOpsDemo.Mlflow.Sqlite;

/// <summary>
/// MLflow 3 logged models in the same <c>mlflow.db</c>, written as MLflow's SQL store writes them (SQLSTORE.md §4, §6.8):
/// <c>m-&lt;32 hex&gt;</c> ids, <c>&lt;experiment location&gt;/models/&lt;id&gt;/artifacts</c>, integer status
/// (1 PENDING, 2 READY, 3 FAILED), soft delete through <c>lifecycle_stage</c>, params and tags with the experiment id.
/// A database of an MLflow 2.x schema has no logged models: every call then fails with
/// <see cref="MlflowErrorCodes.EndpointNotFound"/>, as an MLflow 2.x server does, so model logging falls back to 2.x.
/// </summary>
internal sealed partial class SqliteTrackingStore : ILoggedModelStore
{
    private const string LoggedModelColumns = "model_id, experiment_id, name, artifact_location, creation_timestamp_ms, last_updated_timestamp_ms, status, model_type, source_run_id, status_message";

    public Task<LoggedModel> CreateLoggedModelAsync(string experimentId, CreateLoggedModelOptions options, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireLoggedModelTables();
                var id = ParseExperimentId(experimentId);
                var experiment = Query(
                    "SELECT lifecycle_stage, artifact_location FROM experiments WHERE experiment_id = $id",
                    r => (Stage: GetString(r, 0), Location: GetString(r, 1)),
                    ("$id", id));
                if (experiment.Count == 0)
                {
                    throw NotFound($"No Experiment with id={experimentId} exists");
                }

                if (experiment[0].Stage != LifecycleStage.Active)
                {
                    throw InvalidParameter($"The experiment {experimentId} must be in the 'active' state. Current state is {experiment[0].Stage}.");
                }

                var modelId = "m-" + Guid.NewGuid().ToString("N");
                var location = experiment[0].Location ?? ArtifactPaths.Join(ArtifactRoot, experimentId);
                var artifactLocation = ArtifactPaths.Join(ArtifactPaths.Join(ArtifactPaths.Join(location, "models"), modelId), "artifacts");
                var now = Now();
                Execute(
                    $"INSERT INTO logged_models ({LoggedModelColumns}, lifecycle_stage) VALUES ($id, $e, $name, $loc, $now, $now, 1, $type, $run, NULL, 'active')",
                    ("$id", modelId),
                    ("$e", id),
                    ("$name", string.IsNullOrEmpty(options.Name) ? RunNameGenerator.Generate() : options.Name),
                    ("$loc", artifactLocation),
                    ("$now", now),
                    ("$type", options.ModelType),
                    ("$run", options.SourceRunId));
                foreach (var param in options.Params ?? EmptyDictionary)
                {
                    Execute("INSERT INTO logged_model_params (model_id, experiment_id, param_key, param_value) VALUES ($m, $e, $k, $v)", ("$m", modelId), ("$e", id), ("$k", param.Key), ("$v", param.Value));
                }

                foreach (var tag in options.Tags ?? EmptyDictionary)
                {
                    UpsertLoggedModelTag(modelId, id, tag.Key, tag.Value);
                }

                return ReadLoggedModel(modelId);
            },
            cancellationToken);

    public Task<LoggedModel> GetLoggedModelAsync(string modelId, CancellationToken cancellationToken) =>
        RunAsync(
            _ =>
            {
                RequireLoggedModelTables();
                return ReadLoggedModel(modelId);
            },
            cancellationToken);

    public Task<LoggedModel> FinalizeLoggedModelAsync(string modelId, LoggedModelStatus status, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireLoggedModelTables();
                RequireLoggedModel(modelId);
                Execute("UPDATE logged_models SET status = $s, last_updated_timestamp_ms = $now WHERE model_id = $m", ("$s", (int)status), ("$now", Now()), ("$m", modelId));
                return ReadLoggedModel(modelId);
            },
            cancellationToken);

    public Task DeleteLoggedModelAsync(string modelId, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireLoggedModelTables();
                RequireLoggedModel(modelId);
                Execute("UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_timestamp_ms = $now WHERE model_id = $m", ("$now", Now()), ("$m", modelId));
            },
            cancellationToken);

    public Task SetLoggedModelTagsAsync(string modelId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireLoggedModelTables();
                var experimentId = RequireLoggedModel(modelId);
                foreach (var tag in tags)
                {
                    UpsertLoggedModelTag(modelId, experimentId, tag.Key, tag.Value);
                }
            },
            cancellationToken);

    public Task DeleteLoggedModelTagAsync(string modelId, string key, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireLoggedModelTables();
                RequireLoggedModel(modelId);
                if (Execute("DELETE FROM logged_model_tags WHERE model_id = $m AND tag_key = $k", ("$m", modelId), ("$k", key)) == 0)
                {
                    throw NotFound($"No tag with key '{key}' found for model with ID '{modelId}'.");
                }
            },
            cancellationToken);

    public Task<MlflowPage<LoggedModel>> SearchLoggedModelsAsync(IReadOnlyList<string> experimentIds, string? filter, IReadOnlyList<LoggedModelDatasetFilter>? datasets, IReadOnlyList<LoggedModelOrderBy>? orderBy, int maxResults, string? pageToken, CancellationToken cancellationToken) =>
        RunAsync(
            _ =>
            {
                RequireLoggedModelTables();
                var experiments = experimentIds.Select((e, i) => ("$exp" + i.ToString(CultureInfo.InvariantCulture), (object?)ParseExperimentId(e))).ToList();
                var where = LoggedModelFilter.ToSql(filter, datasets, out var parameters);
                var order = LoggedModelFilter.OrderSql(orderBy, parameters);
                var offset = LoggedModelPageToken.Decode(pageToken, experimentIds, filter, orderBy);
                var sql =
                    $"SELECT m.model_id FROM logged_models m WHERE m.experiment_id IN ({string.Join(", ", experiments.Select(p => p.Item1))}) " +
                    $"AND (m.lifecycle_stage IS NULL OR m.lifecycle_stage <> 'deleted') AND {where} ORDER BY {order} LIMIT $limit OFFSET $offset";
                var ids = Query(sql, r => r.GetString(0), [.. experiments, .. parameters, ("$limit", maxResults + 1L), ("$offset", offset)]);
                var items = ids.Take(maxResults).Select(ReadLoggedModel).ToList();
                var next = ids.Count > maxResults ? LoggedModelPageToken.Encode(offset + maxResults, experimentIds, filter, orderBy) : null;
                return new MlflowPage<LoggedModel>(items, next);
            },
            cancellationToken);

    // What an MLflow 2.x server answers for the logged-model routes (ENDPOINT_NOT_FOUND); ModelsClient then logs the 2.x way.
    private void RequireLoggedModelTables() => Schema.Require(SqliteFeature.LoggedModels, "Logged models", DatabasePath, asMissingEndpoint: true);

    /// <summary>Checks that the model exists and is not deleted; returns its experiment id.</summary>
    private long RequireLoggedModel(string modelId) =>
        Scalar("SELECT experiment_id FROM logged_models WHERE model_id = $m AND (lifecycle_stage IS NULL OR lifecycle_stage <> 'deleted')", ("$m", modelId)) is { } experiment
            ? Convert.ToInt64(experiment, CultureInfo.InvariantCulture)
            : throw NotFound($"Logged model with ID '{modelId}' not found.");

    private void UpsertLoggedModelTag(string modelId, long experimentId, string key, string value) =>
        Execute(
            "INSERT INTO logged_model_tags (model_id, experiment_id, tag_key, tag_value) VALUES ($m, $e, $k, $v) ON CONFLICT (model_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
            ("$m", modelId),
            ("$e", experimentId),
            ("$k", key),
            ("$v", value));

    private LoggedModel ReadLoggedModel(string modelId)
    {
        var rows = Query(
            $"SELECT {LoggedModelColumns} FROM logged_models WHERE model_id = $m AND (lifecycle_stage IS NULL OR lifecycle_stage <> 'deleted')",
            r => new LoggedModelInfo
            {
                ModelId = r.GetString(0),
                ExperimentId = r.GetInt64(1).ToString(CultureInfo.InvariantCulture),
                Name = r.GetString(2),
                ArtifactUri = GetString(r, 3),
                CreationTimestampMs = GetInt64(r, 4),
                LastUpdatedTimestampMs = GetInt64(r, 5),
                Status = (LoggedModelStatus)r.GetInt32(6),
                ModelType = GetString(r, 7),
                SourceRunId = GetString(r, 8),
                StatusMessage = GetString(r, 9),
            },
            ("$m", modelId));
        if (rows.Count == 0)
        {
            throw NotFound($"Logged model with ID '{modelId}' not found.");
        }

        var tags = Query("SELECT tag_key, tag_value FROM logged_model_tags WHERE model_id = $m ORDER BY tag_key", r => KeyValuePair.Create(r.GetString(0), GetString(r, 1) ?? ""), ("$m", modelId));
        var parameters = Query("SELECT param_key, param_value FROM logged_model_params WHERE model_id = $m ORDER BY param_key", r => KeyValuePair.Create(r.GetString(0), GetString(r, 1) ?? ""), ("$m", modelId));
        var metrics = Query(
            "SELECT metric_name, metric_value, metric_timestamp_ms, metric_step, run_id, dataset_name, dataset_digest FROM logged_model_metrics WHERE model_id = $m ORDER BY metric_name, metric_timestamp_ms, metric_step, run_id",
            r => new Metric(r.GetString(0), r.IsDBNull(1) ? double.NaN : r.GetDouble(1), r.GetInt64(2), r.GetInt64(3))
            {
                ModelId = modelId,
                RunId = GetString(r, 4),
                DatasetName = GetString(r, 5),
                DatasetDigest = GetString(r, 6),
            },
            ("$m", modelId));
        return new LoggedModel
        {
            Info = rows[0] with { Tags = tags.ToDictionary(StringComparer.Ordinal) },
            Data = new LoggedModelData { Params = parameters.ToDictionary(StringComparer.Ordinal), Metrics = metrics },
        };
    }
}
