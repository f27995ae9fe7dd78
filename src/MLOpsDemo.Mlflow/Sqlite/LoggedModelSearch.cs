using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using MLOpsDemo.Mlflow.Models.Mlmodel;

namespace MLOpsDemo.Mlflow.Sqlite;

/// <summary>
/// The logged-model search grammar on SQLite (MLflow's <c>SearchLoggedModelsUtils</c>): comparisons joined by AND on the
/// attributes <c>name</c>, <c>model_id</c>, <c>model_type</c>, <c>status</c>, <c>source_run_id</c> (= != LIKE ILIKE IN NOT IN),
/// <c>creation_timestamp</c>, <c>last_updated_timestamp</c> (numeric), <c>metrics.&lt;name&gt;</c> (numeric, any logged
/// value), <c>params.&lt;key&gt;</c> and <c>tags.&lt;key&gt;</c> (= != LIKE ILIKE). The table alias is <c>m</c>.
/// </summary>
internal static class LoggedModelFilter
{
    private static readonly string[] s_stringAttributes = ["name", "model_id", "model_type", "status", "source_run_id"];

    public static string ToSql(string? filter, out List<(string Name, object? Value)> parameters)
    {
        parameters = [];
        if (string.IsNullOrWhiteSpace(filter))
        {
            return "1 = 1";
        }

        var clauses = new List<string>();
        var i = 0;
        while (true)
        {
            var (entity, key) = ReadIdentifier(filter, ref i);
            var op = ReadComparator(filter, ref i);
            var value = ReadValue(filter, ref i, op);
            clauses.Add(Render(entity, key, op, value, filter, parameters));
            SkipSpace(filter, ref i);
            if (i >= filter.Length)
            {
                break;
            }

            if (!(i + 3 < filter.Length && string.Equals(filter.Substring(i, 3), "AND", StringComparison.OrdinalIgnoreCase) && char.IsWhiteSpace(filter[i + 3])))
            {
                throw Invalid($"Invalid filter '{filter}': expected AND at position {i}. Logged-model filters join comparisons with AND only.");
            }

            i += 3;
        }

        return string.Join(" AND ", clauses);
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

    private static string Render(string entity, string key, string op, object value, string filter, List<(string Name, object? Value)> parameters)
    {
        var p = "$f" + parameters.Count.ToString(CultureInfo.InvariantCulture);
        switch (entity)
        {
            case "metrics":
                RequireNumeric(op, value, $"metric '{key}'", filter);
                parameters.Add((p + "k", key));
                parameters.Add((p, value));
                return $"EXISTS (SELECT 1 FROM logged_model_metrics x WHERE x.model_id = m.model_id AND x.metric_name = {p}k AND x.metric_value {op} {p})";
            case "params" or "tags":
                RequireString(op, value, allowList: false, $"{entity[..^1]} '{key}'", filter);
                var (table, k, v) = entity == "params" ? ("logged_model_params", "param_key", "param_value") : ("logged_model_tags", "tag_key", "tag_value");
                parameters.Add((p + "k", key));
                return $"EXISTS (SELECT 1 FROM {table} x WHERE x.model_id = m.model_id AND x.{k} = {p}k AND {Compare("x." + v, op, value, p, parameters)})";
            default:
                var column = AttributeColumn(key) ?? throw Invalid($"Invalid attribute key '{key}' in filter '{filter}'. Valid keys are {string.Join(", ", s_stringAttributes)}, creation_timestamp, last_updated_timestamp.");
                if (column is "m.creation_timestamp_ms" or "m.last_updated_timestamp_ms")
                {
                    RequireNumeric(op, value, $"attribute '{key}'", filter);
                    parameters.Add((p, value));
                    return $"{column} {op} {p}";
                }

                RequireString(op, value, allowList: true, $"attribute '{key}'", filter);
                if (column == "m.status")
                {
                    if (op is "LIKE" or "ILIKE")
                    {
                        throw Invalid($"Invalid comparator '{op}' for attribute 'status' in filter '{filter}'. Use =, !=, IN or NOT IN with READY, PENDING or FAILED.");
                    }

                    value = value is List<object> list ? list.Select(s => (object)StatusNumber((string)s, filter)).ToList() : StatusNumber((string)value, filter);
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
                foreach (var item in (List<object>)value)
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

    private static void RequireNumeric(string op, object value, string what, string filter)
    {
        if (op is not ("=" or "!=" or "<" or "<=" or ">" or ">="))
        {
            throw Invalid($"Invalid comparator '{op}' for {what} in filter '{filter}'. Numeric fields accept =, !=, <, <=, >, >=.");
        }

        if (value is not double)
        {
            throw Invalid($"Expected a numeric value for {what} in filter '{filter}'. Remove the quotes.");
        }
    }

    private static void RequireString(string op, object value, bool allowList, string what, string filter)
    {
        if (op is "IN" or "NOT IN" ? !allowList : op is not ("=" or "!=" or "LIKE" or "ILIKE"))
        {
            throw Invalid($"Invalid comparator '{op}' for {what} in filter '{filter}'. String fields accept =, !=, LIKE, ILIKE{(allowList ? ", IN, NOT IN" : "")}.");
        }

        if (op is not ("IN" or "NOT IN") && value is not string)
        {
            throw Invalid($"Expected a quoted string value for {what} in filter '{filter}'. Put the value in single quotes.");
        }
    }

    private static (string Entity, string Key) ReadIdentifier(string text, ref int i)
    {
        SkipSpace(text, ref i);
        var builder = new StringBuilder();
        string? entity = null;
        while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] is not ('=' or '!' or '<' or '>' or '('))
        {
            var c = text[i];
            if (c is '`' or '"')
            {
                var end = text.IndexOf(c, i + 1);
                if (end < 0)
                {
                    throw Invalid($"Invalid filter '{text}': unterminated {c} quote.");
                }

                builder.Append(text, i + 1, end - i - 1);
                i = end + 1;
                continue;
            }

            if (c == '.' && entity is null && IsPrefix(builder.ToString()))
            {
                entity = builder.ToString();
                builder.Clear();
                i++;
                continue;
            }

            builder.Append(c);
            i++;
        }

        if (builder.Length == 0)
        {
            throw Invalid($"Invalid filter '{text}': expected an identifier at position {i}.");
        }

        var canonical = entity?.ToLowerInvariant() switch
        {
            null or "attribute" or "attributes" => "attributes",
            "metric" or "metrics" => "metrics",
            "param" or "params" or "parameter" or "parameters" => "params",
            _ => "tags",
        };
        return (canonical, builder.ToString());
    }

    private static bool IsPrefix(string value) =>
        value.ToLowerInvariant() is "metric" or "metrics" or "param" or "params" or "parameter" or "parameters" or "tag" or "tags" or "attribute" or "attributes";

    private static string ReadComparator(string text, ref int i)
    {
        SkipSpace(text, ref i);
        var start = i;
        while (i < text.Length && text[i] is '=' or '!' or '<' or '>')
        {
            i++;
        }

        if (i > start)
        {
            var op = text[start..i];
            return op is "=" or "!=" or "<" or "<=" or ">" or ">=" ? op : throw Invalid($"Invalid comparator '{op}' in filter '{text}'.");
        }

        var word = ReadWord(text, ref i).ToUpperInvariant();
        if (word == "NOT")
        {
            var next = ReadWord(text, ref i).ToUpperInvariant();
            word = next == "IN" ? "NOT IN" : throw Invalid($"Invalid comparator 'NOT {next}' in filter '{text}'.");
        }

        return word is "LIKE" or "ILIKE" or "IN" or "NOT IN" ? word : throw Invalid($"Invalid comparator '{word}' in filter '{text}'. Use =, !=, <, <=, >, >=, LIKE, ILIKE, IN or NOT IN.");
    }

    private static string ReadWord(string text, ref int i)
    {
        SkipSpace(text, ref i);
        var start = i;
        while (i < text.Length && char.IsLetter(text[i]))
        {
            i++;
        }

        return text[start..i];
    }

    private static object ReadValue(string text, ref int i, string op)
    {
        SkipSpace(text, ref i);
        if (op is "IN" or "NOT IN")
        {
            if (i >= text.Length || text[i] != '(')
            {
                throw Invalid($"Expected a parenthesised list after {op} in filter '{text}'.");
            }

            i++;
            var items = new List<object>();
            while (true)
            {
                SkipSpace(text, ref i);
                items.Add(ReadScalar(text, ref i) is string s ? s : throw Invalid($"IN lists take quoted strings in filter '{text}'."));
                SkipSpace(text, ref i);
                if (i < text.Length && text[i] == ',')
                {
                    i++;
                    continue;
                }

                if (i < text.Length && text[i] == ')')
                {
                    i++;
                    return items;
                }

                throw Invalid($"Unterminated list in filter '{text}'.");
            }
        }

        return ReadScalar(text, ref i);
    }

    private static object ReadScalar(string text, ref int i)
    {
        if (i >= text.Length)
        {
            throw Invalid($"Invalid filter '{text}': a value is missing at the end.");
        }

        if (text[i] is '\'' or '"')
        {
            var quote = text[i];
            var end = text.IndexOf(quote, i + 1);
            if (end < 0)
            {
                throw Invalid($"Invalid filter '{text}': unterminated string.");
            }

            var value = text[(i + 1)..end];
            i = end + 1;
            return value;
        }

        var start = i;
        while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] is not (',' or ')'))
        {
            i++;
        }

        var raw = text[start..i];
        return double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw Invalid($"Invalid value '{raw}' in filter '{text}'. Quote strings; numbers are plain.");
    }

    private static void SkipSpace(string text, ref int i)
    {
        while (i < text.Length && char.IsWhiteSpace(text[i]))
        {
            i++;
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
