using System.Buffers;
using System.Net;
using Microsoft.Data.Sqlite;
using MLOpsDemo.Mlflow.Fluent;
using MLOpsDemo.Mlflow.Internal;
using MLOpsDemo.Mlflow.Stores;

namespace MLOpsDemo.Mlflow.Sqlite;

internal sealed partial class SqliteTrackingStore
{
    private const int MaxHistoryCursors = 64;

    /// <summary>Where each metric-history page token this store handed out continues: the last row of the page before it.</summary>
    private readonly Dictionary<(string RunId, string Key, long Offset), HistoryRow> _historyCursors = new();

    public Task LogMetricAsync(string runId, string key, double value, long timestamp, long? step, string? modelId, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                var experimentId = RequireActiveRun(runId);
                var metric = new Metric(key, value, timestamp, step ?? 0) { ModelId = modelId };
                InsertMetrics(runId, [metric]);
                if (modelId is not null)
                {
                    InsertLoggedModelMetric(runId, experimentId, metric);
                }
            },
            cancellationToken);

    public Task LogParamAsync(string runId, string key, string value, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireActiveRun(runId);
                InsertParams(runId, [new(key, value)]);
            },
            cancellationToken);

    public Task SetTagAsync(string runId, string key, string value, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireActiveRun(runId);
                UpsertRunTag(runId, key, value);
            },
            cancellationToken);

    public Task DeleteTagAsync(string runId, string key, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireActiveRun(runId);
                if (Execute("DELETE FROM tags WHERE run_uuid = $id AND key = $key", ("$id", runId), ("$key", key)) == 0)
                {
                    throw NotFound($"No tag with name: {key} in run with id {runId}");
                }
            },
            cancellationToken);

    public Task LogBatchAsync(string runId, IReadOnlyList<Metric> metrics, IReadOnlyList<KeyValuePair<string, string>> parameters, IReadOnlyList<KeyValuePair<string, string>> tags, CancellationToken cancellationToken)
    {
        var duplicates = parameters.GroupBy(p => p.Key, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0)
        {
            throw InvalidParameter($"Duplicate parameter keys have been submitted: [{string.Join(", ", duplicates.Select(d => $"'{d}'"))}]. Please ensure the request contains only one param value per param key.");
        }

        Action<SqliteConnection> work = _ =>
            {
                var experimentId = RequireActiveRun(runId);
                InsertParams(runId, parameters);
                InsertMetrics(runId, metrics);
                foreach (var metric in metrics is MetricPoints ? [] : metrics)
                {
                    if (metric.ModelId is not null)
                    {
                        InsertLoggedModelMetric(runId, experimentId, metric);
                    }
                }

                foreach (var tag in tags)
                {
                    UpsertRunTag(runId, tag.Key, tag.Value);
                }
            };

        // A batch that fills at least one multi-row INSERT refers only to rows checked above in the same transaction
        // (the run, its experiment, and each logged model), so it runs without SQLite's foreign-key checks: no
        // statement journal then (see WriteWithoutForeignKeyChecksAsync).
        return metrics.Count >= MetricRowsPerInsert
            ? WriteWithoutForeignKeyChecksAsync(work, cancellationToken)
            : WriteAsync(work, cancellationToken);
    }

    public Task LogInputsAsync(string runId, IReadOnlyList<DatasetInput> datasets, IReadOnlyList<ModelInput>? models, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                var experimentId = RequireActiveRun(runId);
                if (datasets.Count > 0)
                {
                    Require(SqliteFeature.DatasetInputs, "Logging dataset inputs");
                }

                var seen = new HashSet<(string, string)>();
                foreach (var input in datasets)
                {
                    var dataset = input.Dataset;
                    if (!seen.Add((dataset.Name, dataset.Digest)))
                    {
                        continue;
                    }

                    var datasetId = Scalar(
                        "SELECT dataset_uuid FROM datasets WHERE experiment_id = $e AND name = $name AND digest = $digest",
                        ("$e", experimentId),
                        ("$name", dataset.Name),
                        ("$digest", dataset.Digest)) as string;
                    if (datasetId is null)
                    {
                        datasetId = Guid.NewGuid().ToString("N");
                        Execute(
                            """
                            INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, dataset_source_type, dataset_source, dataset_schema, dataset_profile)
                            VALUES ($id, $e, $name, $digest, $type, $source, $schema, $profile)
                            """,
                            ("$id", datasetId),
                            ("$e", experimentId),
                            ("$name", dataset.Name),
                            ("$digest", dataset.Digest),
                            ("$type", dataset.SourceType),
                            ("$source", dataset.Source),
                            ("$schema", dataset.Schema),
                            ("$profile", dataset.Profile));
                    }

                    var exists = Scalar(
                        "SELECT input_uuid FROM inputs WHERE source_type = 'DATASET' AND source_id = $d AND destination_type = 'RUN' AND destination_id = $r",
                        ("$d", datasetId),
                        ("$r", runId)) is not null;
                    if (exists)
                    {
                        continue;
                    }

                    var inputId = Guid.NewGuid().ToString("N");
                    Execute(
                        "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id) VALUES ($i, 'DATASET', $d, 'RUN', $r)",
                        ("$i", inputId),
                        ("$d", datasetId),
                        ("$r", runId));
                    foreach (var tag in input.Tags)
                    {
                        Execute("INSERT OR REPLACE INTO input_tags (input_uuid, name, value) VALUES ($i, $name, $value)", ("$i", inputId), ("$name", tag.Key), ("$value", tag.Value));
                    }
                }

                foreach (var model in models ?? [])
                {
                    RequireLoggedModels("Logging model inputs");
                    Execute(
                        "INSERT OR IGNORE INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id, step) VALUES ($i, 'RUN_INPUT', $r, 'MODEL_INPUT', $m, 0)",
                        ("$i", Guid.NewGuid().ToString("N")),
                        ("$r", runId),
                        ("$m", model.ModelId));
                }
            },
            cancellationToken);

    public Task LogOutputsAsync(string runId, IReadOnlyList<ModelOutput> models, CancellationToken cancellationToken) =>
        WriteAsync(
            _ =>
            {
                RequireActiveRun(runId);
                RequireLoggedModels("Logging model outputs");
                foreach (var model in models)
                {
                    Execute(
                        "INSERT OR IGNORE INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id, step) VALUES ($i, 'RUN_OUTPUT', $r, 'MODEL_OUTPUT', $m, $s)",
                        ("$i", Guid.NewGuid().ToString("N")),
                        ("$r", runId),
                        ("$m", model.ModelId),
                        ("$s", model.Step));
                }
            },
            cancellationToken);

    /// <summary>
    /// A page of a metric's history, ordered by timestamp, step and value as MLflow's store orders it (the NaN flag breaks
    /// the last ties, so the order is total). The page tokens are MLflow's offset tokens, byte for byte. Reading on from a
    /// token this store handed out seeks to the row after the last one returned (kept in <see cref="_historyCursors"/>)
    /// instead of counting <c>OFFSET</c> rows again, so enumerating a history of 1,000,000 points costs one pass, not the
    /// 40 ever longer ones offset paging needs; an unknown token (another process's, a forgotten one) falls back to the offset.
    /// </summary>
    public Task<MlflowPage<Metric>> GetMetricHistoryAsync(string runId, string metricKey, int maxResults, string? pageToken, CancellationToken cancellationToken)
    {
        var offset = PageToken.Decode(pageToken);
        return RunAsync(
            _ =>
            {
                if (Scalar("SELECT 1 FROM runs WHERE run_uuid = $id", ("$id", runId)) is null)
                {
                    throw RunNotFound(runId);
                }

                const string Select = "SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = $id AND key = $key";
                const string Order = " ORDER BY timestamp, step, value, is_nan LIMIT $limit";
                var rows = offset > 0 && TakeHistoryCursor(runId, metricKey, offset) is { } after
                    ? Query(
                        Select + " AND (timestamp, step) >= ($t, $s) AND (timestamp, step, value, is_nan) > ($t, $s, $v, $n)" + Order,
                        ReadHistoryRow,
                        ("$id", runId),
                        ("$key", metricKey),
                        ("$t", after.Timestamp),
                        ("$s", after.Step),
                        ("$v", after.StoredValue),
                        ("$n", after.IsNan),
                        ("$limit", maxResults + 1L))
                    : Query(
                        Select + Order + " OFFSET $offset",
                        ReadHistoryRow,
                        ("$id", runId),
                        ("$key", metricKey),
                        ("$limit", maxResults + 1L),
                        ("$offset", offset));
                if (rows.Count <= maxResults)
                {
                    return new MlflowPage<Metric>(rows.ConvertAll(r => r.Metric), null);
                }

                rows.RemoveAt(maxResults);
                var next = offset + maxResults;
                RememberHistoryCursor(runId, metricKey, next, rows[^1]);
                return new MlflowPage<Metric>(rows.ConvertAll(r => r.Metric), PageToken.Encode(next));
            },
            cancellationToken);
    }

    private static HistoryRow ReadHistoryRow(SqliteDataReader r)
    {
        var isNan = r.GetInt64(4);
        var stored = r.GetDouble(1);
        return new HistoryRow(new Metric(r.GetString(0), isNan == 1 ? double.NaN : stored, r.GetInt64(2), r.GetInt64(3)), stored, isNan);
    }

    private HistoryRow? TakeHistoryCursor(string runId, string key, long offset)
    {
        lock (_historyCursors)
        {
            return _historyCursors.Remove((runId, key, offset), out var row) ? row : null;
        }
    }

    private void RememberHistoryCursor(string runId, string key, long offset, HistoryRow last)
    {
        lock (_historyCursors)
        {
            if (_historyCursors.Count >= MaxHistoryCursors)
            {
                _historyCursors.Clear(); // abandoned enumerations: their next pages fall back to the offset
            }

            _historyCursors[(runId, key, offset)] = last;
        }
    }

    /// <summary>A history row as returned, with the stored value and NaN flag the next page seeks after.</summary>
    private sealed record HistoryRow(Metric Metric, double StoredValue, long IsNan)
    {
        public long Timestamp => Metric.Timestamp;

        public long Step => Metric.Step;
    }

    public Task<IReadOnlyList<Metric>> GetMetricHistoryBulkIntervalAsync(IReadOnlyList<string> runIds, string metricKey, long? startStep, long? endStep, int maxResults, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<Metric>>(
            _ =>
            {
                var result = new List<Metric>();
                foreach (var runId in runIds)
                {
                    if (Scalar("SELECT 1 FROM runs WHERE run_uuid = $id", ("$id", runId)) is null)
                    {
                        throw RunNotFound(runId);
                    }

                    result.AddRange(Query(
                        """
                        SELECT key, value, timestamp, step, is_nan FROM metrics
                        WHERE run_uuid = $id AND key = $key AND ($start IS NULL OR step >= $start) AND ($end IS NULL OR step <= $end)
                        ORDER BY step, timestamp, value LIMIT $limit
                        """,
                        r => new Metric(r.GetString(0), r.GetInt64(4) == 1 ? double.NaN : r.GetDouble(1), r.GetInt64(2), r.GetInt64(3)) { RunId = runId },
                        ("$id", runId),
                        ("$key", metricKey),
                        ("$start", startStep),
                        ("$end", endStep),
                        ("$limit", (long)maxResults)));
                }

                return result;
            },
            cancellationToken);

    public async Task<ArtifactListing> ListArtifactsAsync(string runId, string? path, string? pageToken, CancellationToken cancellationToken)
    {
        var rows = await RunAsync(_ => Query("SELECT artifact_uri FROM runs WHERE run_uuid = $id", r => GetString(r, 0), ("$id", runId)), cancellationToken).ConfigureAwait(false);
        var root = rows.Count == 0 ? throw RunNotFound(runId) : rows[0] ?? "";
        var local = ArtifactPaths.ToLocalPath(root)
            ?? throw new MlflowException(HttpStatusCode.NotImplemented, MlflowErrorCodes.NotImplemented, $"The artifacts of run {runId} are at '{root}', which is not a local directory; list them through an MLflow server (http://…) instead of the local store.");
        var relative = string.IsNullOrEmpty(path) ? "" : path.Trim('/');
        if (relative.Split('/').Any(s => s is ".." or "."))
        {
            throw InvalidParameter($"Invalid artifact path '{path}': it must be a relative path without '.' or '..' segments.");
        }

        var directory = relative.Length == 0 ? local : Path.Combine(local, relative.Replace('/', Path.DirectorySeparatorChar));
        var files = new List<ArtifactFileInfo>();
        if (Directory.Exists(directory))
        {
            foreach (var entry in new DirectoryInfo(directory).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                var entryPath = relative.Length == 0 ? entry.Name : relative + "/" + entry.Name;
                files.Add(entry is FileInfo file
                    ? new ArtifactFileInfo { Path = entryPath, IsDirectory = false, FileSize = file.Length }
                    : new ArtifactFileInfo { Path = entryPath, IsDirectory = true });
            }
        }

        return new ArtifactListing(root, files, null);
    }

    private void RequireLoggedModels(string what) => Require(SqliteFeature.LoggedModels, what);

    /// <summary>
    /// Refuses a value longer than the file's column declares, as the MLflow release that created it would (params
    /// hold 500 characters before MLflow 2.8, run tags 5000 before 2.17); SQLite itself would store it.
    /// </summary>
    private void CheckLength(string table, string column, string value, string what, string raisedIn)
    {
        if (Schema.MaxLength(table, column) is { } max && value.Length > max && MlflowValidation.CodePointLength(value) is var length && length > max)
        {
            throw InvalidParameter($"{what} has a value of {length} characters; '{DatabasePath}' has {Schema.Description}, whose {table}.{column} holds at most {max} (MLflow {raisedIn} raised the limit). Shorten the value, or upgrade the file with 'mlflow db upgrade' if every program that uses it runs MLflow {raisedIn} or newer.");
        }
    }

    private void InsertParams(string runId, IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        if (parameters.Count == 0)
        {
            return;
        }

        var conflicts = new List<string>();
        foreach (var param in parameters)
        {
            var existing = Query("SELECT value FROM params WHERE run_uuid = $id AND key = $key", r => r.GetString(0), ("$id", runId), ("$key", param.Key));
            if (existing.Count == 0)
            {
                CheckLength("params", "value", param.Value, $"Param '{param.Key}'", "2.8");
                Execute("INSERT INTO params (key, value, run_uuid) VALUES ($key, $value, $id)", ("$key", param.Key), ("$value", param.Value), ("$id", runId));
            }
            else if (existing[0] != param.Value)
            {
                conflicts.Add($"Param with key='{param.Key}' was already logged with value='{existing[0]}' for run ID='{runId}'. Attempted logging new value '{param.Value}'.");
            }
        }

        if (conflicts.Count > 0)
        {
            throw InvalidParameter("Changing param values is not allowed. " + string.Join(" ", conflicts));
        }
    }

    /// <summary>
    /// Inserts metric points inside the current transaction with prepared, reused statements: the history rows
    /// (exact duplicates ignored) 100 per multi-row INSERT and the rest one by one, then, once per key and batch, the
    /// latest value where (step, timestamp, value) is strictly greater than the stored one.
    /// </summary>
    private void InsertMetrics(string runId, IReadOnlyList<Metric> metrics)
    {
        if (metrics.Count == 0)
        {
            return;
        }

        var db = _connection!.Handle!;
        var many = _insertMetrics ??= new MetricInsertStatement(db, MetricRowsPerInsert);
        var one = _insertMetric ??= new MetricInsertStatement(db, 1);
        var upsert = _upsertLatestMetric ??= PrepareUpsertLatest();
        upsert.Transaction = _transaction;

        var rented = ArrayPool<SanitizedPoint>.Shared.Rent(metrics.Count);
        try
        {
            var points = rented.AsSpan(0, metrics.Count);
            if (metrics is MetricPoints batch)
            {
                var source = batch.AsSpan();
                for (var i = 0; i < source.Length; i++)
                {
                    var (value, isNan) = Sanitize(source[i].Value);
                    points[i] = new SanitizedPoint(source[i].Key, value, source[i].Timestamp, source[i].Step, isNan);
                }
            }
            else
            {
                for (var i = 0; i < points.Length; i++)
                {
                    var metric = metrics[i];
                    var (value, isNan) = Sanitize(metric.Value);
                    points[i] = new SanitizedPoint(metric.Key, value, metric.Timestamp, metric.Step, isNan);
                }
            }

            var done = 0;
            for (; done + many.Rows <= points.Length; done += many.Rows)
            {
                many.Execute(runId, points.Slice(done, many.Rows));
            }

            for (; done < points.Length; done++)
            {
                one.Execute(runId, points.Slice(done, 1));
            }

            // latest_metrics: the greatest (step, timestamp, value) of each key in this batch, then one upsert per key.
            string? lastKey = null;
            var lastIndex = -1;
            var latest = new Dictionary<string, int>(StringComparer.Ordinal);
            for (var i = 0; i < points.Length; i++)
            {
                ref readonly var point = ref points[i];
                int best;
                if (ReferenceEquals(point.Key, lastKey))
                {
                    best = lastIndex;
                }
                else if (!latest.TryGetValue(point.Key, out best))
                {
                    best = -1;
                }

                if (best < 0 || (point.Step, point.Timestamp, point.Value).CompareTo((points[best].Step, points[best].Timestamp, points[best].Value)) > 0)
                {
                    best = i;
                    latest[point.Key] = i;
                }

                lastKey = point.Key;
                lastIndex = best;
            }

            var u = upsert.Parameters;
            u[5].Value = runId;
            foreach (var index in latest.Values)
            {
                ref readonly var best = ref points[index];
                u[0].Value = best.Key;
                u[1].Value = best.Value;
                u[2].Value = best.Timestamp;
                u[3].Value = best.Step;
                u[4].Value = best.IsNan ? 1 : 0;
                upsert.ExecuteNonQuery();
            }
        }
        finally
        {
            ArrayPool<SanitizedPoint>.Shared.Return(rented, clearArray: true);
        }
    }

    private SqliteCommand PrepareUpsertLatest()
    {
        var command = _connection!.CreateCommand();
        command.CommandText = """
            INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES ($k, $v, $t, $s, $n, $r)
            ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp, step = excluded.step, is_nan = excluded.is_nan
            WHERE (excluded.step, excluded.timestamp, excluded.value) > (latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)
            """;
        foreach (var name in (string[])["$k", "$v", "$t", "$s", "$n", "$r"])
        {
            Parameter(command, name);
        }

        return command;
    }

    private void InsertLoggedModelMetric(string runId, long experimentId, Metric metric)
    {
        RequireLoggedModels("Logging a metric with a model id");
        if (Scalar("SELECT 1 FROM logged_models WHERE model_id = $m", ("$m", metric.ModelId)) is null)
        {
            throw NotFound($"Logged model with ID '{metric.ModelId}' not found.");
        }

        var (value, _) = Sanitize(metric.Value);
        string? datasetId = null;
        if (metric.DatasetName is not null && metric.DatasetDigest is not null)
        {
            datasetId = Scalar(
                "SELECT dataset_uuid FROM datasets WHERE experiment_id = $e AND name = $n AND digest = $d",
                ("$e", experimentId),
                ("$n", metric.DatasetName),
                ("$d", metric.DatasetDigest)) as string;
        }

        Execute(
            """
            INSERT OR REPLACE INTO logged_model_metrics (model_id, metric_name, metric_timestamp_ms, metric_step, metric_value, experiment_id, run_id, dataset_uuid, dataset_name, dataset_digest)
            VALUES ($m, $k, $t, $s, $v, $e, $r, $du, $dn, $dd)
            """,
            ("$m", metric.ModelId),
            ("$k", metric.Key),
            ("$t", metric.Timestamp),
            ("$s", metric.Step),
            ("$v", value),
            ("$e", experimentId),
            ("$r", runId),
            ("$du", datasetId),
            ("$dn", metric.DatasetName),
            ("$dd", metric.DatasetDigest));
    }
}
