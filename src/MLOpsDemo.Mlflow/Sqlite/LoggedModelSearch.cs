using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using MLOpsDemo.Mlflow.Models.Mlmodel;

namespace MLOpsDemo.Mlflow.Sqlite;

/// <summary>
/// Renders a logged-model search as SQL over the table alias <c>m</c>. The filter is parsed by the shared
/// <see cref="SearchFilter"/> grammar (<see cref="SearchKind.LoggedModels"/>): comparisons joined by AND on the attributes
/// <c>name</c>, <c>model_id</c>, <c>model_type</c>, <c>status</c>, <c>source_run_id</c> (= != LIKE ILIKE IN NOT IN),
/// <c>creation_timestamp</c>, <c>last_updated_timestamp</c> (numeric), <c>metrics.&lt;name&gt;</c> (numeric),
/// <c>params.&lt;key&gt;</c> and <c>tags.&lt;key&gt;</c> (= != LIKE ILIKE IN NOT IN).
/// </summary>
/// <remarks>
/// With datasets (<see cref="SearchLoggedModelsOptions.Datasets"/>), a metric comparison only considers values logged
/// for one of them (name, and digest when given); without metric comparisons the model needs some metric on one of them
/// (MLflow's SQL store; checked with Python MLflow 3.11 on <c>sqlite:///</c>).
/// A metric comparison matches a model when <em>any</em> value logged for that key matches, which is what MLflow's
/// SQL store does (<c>_apply_filter_string_datasets_search_logged_models</c> joins every <c>logged_model_metrics</c>
/// row of the key; checked against MLflow 3.11: a model that logged acc = 0.5 then 0.9 matches both
/// <c>metrics.acc &lt; 0.6</c> and <c>metrics.acc &gt; 0.8</c>). Ordering by a metric uses the latest value.
/// </remarks>
internal static class LoggedModelFilter
{
    public static string ToSql(string? filter, IReadOnlyList<LoggedModelDatasetFilter>? datasets, out List<(string Name, object? Value)> parameters)
    {
        parameters = [];
        var clauses = SearchFilter.Parse(filter, SearchKind.LoggedModels);
        var onDatasets = DatasetSql(datasets, parameters);
        var sql = new List<string>(clauses.Count + 1);
        foreach (var clause in clauses)
        {
            sql.Add(Render(clause, filter!, onDatasets, parameters));
        }

        if (onDatasets is not null && !clauses.Any(c => c.Entity == SearchEntity.Metric))
        {
            sql.Add($"EXISTS (SELECT 1 FROM logged_model_metrics x WHERE x.model_id = m.model_id AND {onDatasets})");
        }

        return sql.Count == 0 ? "1 = 1" : string.Join(" AND ", sql);
    }

    // (x.dataset_name = … [AND x.dataset_digest = …]) OR …, or null without datasets.
    private static string? DatasetSql(IReadOnlyList<LoggedModelDatasetFilter>? datasets, List<(string Name, object? Value)> parameters)
    {
        if (datasets is not { Count: > 0 })
        {
            return null;
        }

        var any = new List<string>(datasets.Count);
        foreach (var dataset in datasets)
        {
            if (string.IsNullOrEmpty(dataset?.DatasetName))
            {
                throw Invalid("`dataset_name` in the `datasets` clause must be specified.");
            }

            var p = "$d" + parameters.Count.ToString(CultureInfo.InvariantCulture);
            parameters.Add((p + "n", dataset.DatasetName));
            var condition = $"x.dataset_name = {p}n";
            if (dataset.DatasetDigest is not null)
            {
                parameters.Add((p + "d", dataset.DatasetDigest));
                condition += $" AND x.dataset_digest = {p}d";
            }

            any.Add("(" + condition + ")");
        }

        return "(" + string.Join(" OR ", any) + ")";
    }

    public static string OrderSql(IReadOnlyList<LoggedModelOrderBy>? orderBy, List<(string Name, object? Value)> parameters)
    {
        var parts = new List<string>();
        var hasCreation = false;
        foreach (var item in orderBy ?? [])
        {
            var direction = item.Ascending ? " ASC" : " DESC";
            var field = item.FieldName ?? "";
            var dot = field.IndexOf('.', StringComparison.Ordinal);
            if (dot < 0 || field.StartsWith("attributes.", StringComparison.Ordinal))
            {
                var column = AttributeColumn(dot < 0 ? field : field[(dot + 1)..])
                    ?? throw Invalid($"Invalid order by field name '{field}'. Use name, model_id, model_type, status, source_run_id, creation_timestamp, last_updated_timestamp or metrics.<name>.");
                hasCreation |= column == "m.creation_timestamp_ms";
                parts.Add(column + direction);
                continue;
            }

            if (!field.StartsWith("metrics.", StringComparison.Ordinal) || dot == field.Length - 1)
            {
                throw Invalid($"Invalid order by field name '{field}': only attributes and `metrics.<name>` are allowed.");
            }

            // The model's latest value of the metric (on the given dataset); models without one come last either way.
            var p = "$o" + parameters.Count.ToString(CultureInfo.InvariantCulture);
            parameters.Add((p, field[(dot + 1)..]));
            var dataset = "";
            if (item.DatasetName is not null)
            {
                parameters.Add((p + "n", item.DatasetName));
                dataset += $" AND x.dataset_name = {p}n";
            }

            if (item.DatasetDigest is not null)
            {
                parameters.Add((p + "d", item.DatasetDigest));
                dataset += $" AND x.dataset_digest = {p}d";
            }

            var value = $"(SELECT x.metric_value FROM logged_model_metrics x WHERE x.model_id = m.model_id AND x.metric_name = {p}{dataset} ORDER BY x.metric_timestamp_ms DESC, x.metric_step DESC LIMIT 1)";
            parts.Add($"{value} IS NULL ASC");
            parts.Add(value + direction);
        }

        if (!hasCreation)
        {
            parts.Add("m.creation_timestamp_ms DESC");
        }

        parts.Add("m.model_id ASC");
        return string.Join(", ", parts);
    }

    private static string? AttributeColumn(string name) => name switch
    {
        "name" => "m.name",
        "model_id" => "m.model_id",
        "model_type" => "m.model_type",
        "status" => "m.status",
        "source_run_id" => "m.source_run_id",
        "creation_timestamp" or "creation_time" or "creation_timestamp_ms" => "m.creation_timestamp_ms",
        "last_updated_timestamp" or "last_updated_time" or "last_updated_timestamp_ms" => "m.last_updated_timestamp_ms",
        _ => null,
    };

    private static string Render(FilterClause clause, string filter, string? onDatasets, List<(string Name, object? Value)> parameters)
    {
        var p = "$f" + parameters.Count.ToString(CultureInfo.InvariantCulture);
        var (op, key, value) = (clause.Comparator, clause.Key, clause.Value!);
        switch (clause.Entity)
        {
            case SearchEntity.Metric:
                parameters.Add((p + "k", key));
                parameters.Add((p, value));
                return $"EXISTS (SELECT 1 FROM logged_model_metrics x WHERE x.model_id = m.model_id AND x.metric_name = {p}k AND x.metric_value {op} {p}{(onDatasets is null ? "" : " AND " + onDatasets)})";
            case SearchEntity.Param or SearchEntity.Tag:
                var (table, k, v) = clause.Entity == SearchEntity.Param ? ("logged_model_params", "param_key", "param_value") : ("logged_model_tags", "tag_key", "tag_value");
                parameters.Add((p + "k", key));
                return $"EXISTS (SELECT 1 FROM {table} x WHERE x.model_id = m.model_id AND x.{k} = {p}k AND {Compare("x." + v, op, value, p, parameters)})";
            default:
                var column = AttributeColumn(key)!;
                if (value is double)
                {
                    parameters.Add((p, value));
                    return $"{column} {op} {p}";
                }

                if (column == "m.status")
                {
                    if (op is "LIKE" or "ILIKE")
                    {
                        throw Invalid($"Invalid comparator '{op}' for attribute 'status' in filter '{filter}'. Use =, !=, IN or NOT IN with READY, PENDING or FAILED.");
                    }

                    value = value is IReadOnlyList<string> list ? list.Select(s => (object)StatusNumber(s, filter)).ToList() : StatusNumber((string)value, filter);
                }

                return Compare(column, op, value, p, parameters);
        }
    }

    private static long StatusNumber(string status, string filter) => status.ToUpperInvariant() switch
    {
        "LOGGED_MODEL_STATUS_UNSPECIFIED" or "UNSPECIFIED" => 0,
        "LOGGED_MODEL_PENDING" or "PENDING" => 1,
        "LOGGED_MODEL_READY" or "READY" => 2,
        "LOGGED_MODEL_UPLOAD_FAILED" or "UPLOAD_FAILED" or "FAILED" => 3,
        _ => throw Invalid($"Invalid status '{status}' in filter '{filter}'. Use READY, PENDING or FAILED."),
    };

    private static string Compare(string column, string op, object value, string p, List<(string Name, object? Value)> parameters)
    {
        switch (op)
        {
            case "IN" or "NOT IN":
                var names = new List<string>();
                foreach (var item in (System.Collections.IEnumerable)value)
                {
                    var name = p + "_" + names.Count.ToString(CultureInfo.InvariantCulture);
                    parameters.Add((name, item));
                    names.Add(name);
                }

                return $"{column} {op} ({string.Join(", ", names)})";
            case "ILIKE":
                parameters.Add((p, ((string)value).ToLowerInvariant()));
                return $"LOWER({column}) LIKE {p}";
            default:
                parameters.Add((p, value));
                return $"{column} {op} {p}";
        }
    }

    private static MlflowException Invalid(string message) => SqliteTrackingStore.InvalidParameter(message);
}

/// <summary>
/// MLflow's logged-model page token: base64 of the JSON <c>{"experiment_ids": […], "filter_string": …, "order_by": […],
/// "offset": N}</c> (Python's <c>SearchLoggedModelsPaginationToken</c>). A token only continues the search it came from.
/// </summary>
internal static class LoggedModelPageToken
{
    public static string Encode(long offset, IReadOnlyList<string> experimentIds, string? filter, IReadOnlyList<LoggedModelOrderBy>? orderBy)
    {
        var json = new PythonJson().Object(
        [
            ("experiment_ids", experimentIds.Cast<object?>().ToList()),
            ("filter_string", NormalizeFilter(filter)),
            ("order_by", OrderKey(orderBy)),
            ("offset", offset),
        ]).ToString();
        return Convert.ToBase64String(Encoding.UTF8.GetBytes(json));
    }

    public static long Decode(string? token, IReadOnlyList<string> experimentIds, string? filter, IReadOnlyList<LoggedModelOrderBy>? orderBy)
    {
        if (string.IsNullOrEmpty(token))
        {
            return 0;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(Convert.FromBase64String(token));
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            throw Invalid($"Invalid page token '{token}': {ex.Message} Pass the next_page_token of an earlier search unchanged.");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("offset", out var offsetElement) || !offsetElement.TryGetInt64(out var offset) || offset < 0)
            {
                throw Invalid($"Invalid page token '{token}': it has no offset. Pass the next_page_token of an earlier search unchanged.");
            }

            var tokenExperiments = root.TryGetProperty("experiment_ids", out var e) && e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().Select(x => x.ToString()).ToList() : [];
            if (!tokenExperiments.SequenceEqual(experimentIds))
            {
                throw Invalid($"Experiment IDs in the page token do not match the requested experiment IDs. Expected: [{string.Join(", ", experimentIds)}]. Found: [{string.Join(", ", tokenExperiments)}].");
            }

            var tokenFilter = root.TryGetProperty("filter_string", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
            if (tokenFilter != NormalizeFilter(filter))
            {
                throw Invalid($"Filter string in the page token does not match the requested filter string. Expected: {filter}. Found: {tokenFilter}.");
            }

            var tokenOrder = root.TryGetProperty("order_by", out var o) && o.ValueKind == JsonValueKind.Array ? new PythonJson().Value(o).ToString() : "null";
            if (tokenOrder != new PythonJson().Value(OrderKey(orderBy)).ToString())
            {
                throw Invalid("Order by in the page token does not match the requested order by. Repeat the search with the same order_by.");
            }

            return offset;
        }
    }

    private static string? NormalizeFilter(string? filter) => string.IsNullOrEmpty(filter) ? null : filter;

    private static List<object?>? OrderKey(IReadOnlyList<LoggedModelOrderBy>? orderBy) =>
        orderBy is not { Count: > 0 }
            ? null
            : orderBy.Select(o => (object?)new OrderedTree(
                [
                    ("field_name", o.FieldName),
                    ("ascending", o.Ascending),
                    ("dataset_name", o.DatasetName),
                    ("dataset_digest", o.DatasetDigest),
                ])).ToList();

    private static MlflowException Invalid(string message) => new(HttpStatusCode.BadRequest, MlflowErrorCodes.InvalidParameterValue, message);
}
