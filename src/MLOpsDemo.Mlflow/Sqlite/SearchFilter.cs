using System.Globalization;
using System.Net;
using System.Text;

namespace MLOpsDemo.Mlflow.Sqlite;

/// <summary>What a filter or order-by identifier refers to.</summary>
internal enum SearchEntity
{
    /// <summary>A column of the run or experiment (<c>run_id</c>, <c>name</c>, <c>start_time</c>…).</summary>
    Attribute,

    /// <summary>The latest value of a metric.</summary>
    Metric,

    /// <summary>A param value.</summary>
    Param,

    /// <summary>A tag value.</summary>
    Tag,

    /// <summary>A dataset input's <c>name</c>, <c>digest</c> or <c>context</c>.</summary>
    Dataset,
}

/// <summary>Which search the filter belongs to (the keys and comparators differ).</summary>
internal enum SearchKind
{
    /// <summary><c>runs/search</c>.</summary>
    Runs,

    /// <summary><c>experiments/search</c>.</summary>
    Experiments,

    /// <summary><c>registered-models/search</c>.</summary>
    RegisteredModels,

    /// <summary><c>model-versions/search</c>.</summary>
    ModelVersions,

    /// <summary><c>logged-models/search</c> (MLflow's <c>search_logged_model_utils</c>).</summary>
    LoggedModels,
}

/// <summary>One <c>identifier comparator value</c> comparison of a filter.</summary>
/// <param name="Entity">The entity type.</param>
/// <param name="Key">The key: a metric/param/tag key, or the canonical attribute name (<c>start_time</c> for <c>created</c>).</param>
/// <param name="Comparator">Upper-case comparator: <c>=</c>, <c>!=</c>, <c>&lt;</c>, <c>&lt;=</c>, <c>&gt;</c>, <c>&gt;=</c>, <c>LIKE</c>, <c>ILIKE</c>, <c>IN</c>, <c>NOT IN</c>, <c>IS NULL</c>, <c>IS NOT NULL</c>.</param>
/// <param name="Value">A <see cref="string"/>, a <see cref="double"/>, a list of strings, or <see langword="null"/> for <c>IS [NOT] NULL</c>.</param>
internal sealed record FilterClause(SearchEntity Entity, string Key, string Comparator, object? Value);

/// <summary>One order-by element.</summary>
/// <param name="Entity">The entity type.</param>
/// <param name="Key">The key or canonical attribute name.</param>
/// <param name="Ascending">Whether the order is ascending.</param>
internal sealed record OrderClause(SearchEntity Entity, string Key, bool Ascending);

/// <summary>
/// MLflow's search filter grammar (LIMITS.md §9): a conjunction of comparisons, identifiers with backticks or double
/// quotes, string values in single or double quotes (no escaping), numbers, and lists. Errors are
/// <c>INVALID_PARAMETER_VALUE</c> (HTTP 400) like the server's.
/// </summary>
internal static class SearchFilter
{
    private static readonly string[] s_runStringAttributes = ["run_id", "run_name", "user_id", "status", "artifact_uri"];
    private static readonly string[] s_runNumericAttributes = ["start_time", "end_time"];
    private static readonly string[] s_experimentStringAttributes = ["name"];
    private static readonly string[] s_experimentNumericAttributes = ["creation_time", "last_update_time"];
    private static readonly string[] s_datasetKeys = ["name", "digest", "context"];
    private static readonly string[] s_loggedModelStringAttributes = ["name", "model_id", "model_type", "status", "source_run_id"];
    private static readonly string[] s_loggedModelNumericAttributes = ["creation_timestamp", "last_updated_timestamp"];

    /// <summary>Parses a filter; an empty or white-space filter gives no clauses.</summary>
    public static IReadOnlyList<FilterClause> Parse(string? filter, SearchKind kind)
    {
        if (string.IsNullOrWhiteSpace(filter))
        {
            return [];
        }

        var tokens = Tokenize(filter);
        var clauses = new List<FilterClause>();
        var i = 0;
        while (true)
        {
            clauses.Add(ParseComparison(tokens, ref i, kind, filter));
            if (i >= tokens.Count)
            {
                break;
            }

            if (!tokens[i].IsKeyword("AND"))
            {
                throw Invalid($"Invalid clause(s) in filter string: '{filter}'. Expected 'AND' between comparisons but found '{tokens[i].Text}'. MLflow filters support only AND (no OR, NOT or parentheses).");
            }

            i++;
            if (i >= tokens.Count)
            {
                throw Invalid($"Invalid filter '{filter}': it ends with 'AND'.");
            }
        }

        return clauses;
    }

    /// <summary>Parses order-by elements; naming the same field twice is an error.</summary>
    public static IReadOnlyList<OrderClause> ParseOrderBy(IReadOnlyList<string>? orderBy, SearchKind kind)
    {
        var result = new List<OrderClause>();
        if (orderBy is null)
        {
            return result;
        }

        var seen = new HashSet<(SearchEntity, string)>();
        foreach (var element in orderBy)
        {
            if (string.IsNullOrWhiteSpace(element))
            {
                throw Invalid("Invalid order_by clause ''. Use '<identifier> [ASC|DESC]'.");
            }

            var tokens = Tokenize(element);
            var i = 0;
            var (rawEntity, rawKey) = ParseIdentifier(tokens, ref i, element);
            var ascending = true;
            if (i < tokens.Count)
            {
                if (tokens[i].IsKeyword("ASC"))
                {
                    i++;
                }
                else if (tokens[i].IsKeyword("DESC"))
                {
                    ascending = false;
                    i++;
                }
            }

            if (i != tokens.Count)
            {
                throw Invalid($"Invalid order_by clause '{element}'. Use '<identifier> [ASC|DESC]'.");
            }

            var (entity, key) = Canonicalize(rawEntity, rawKey, kind, element, forOrder: true);
            if (!seen.Add((entity, key)))
            {
                throw Invalid($"order_by contains duplicate fields: '{element}'. Name each field once.");
            }

            result.Add(new OrderClause(entity, key, ascending));
        }

        return result;
    }

    /// <summary>Whether Python's <c>str.islower()</c> is true: at least one cased letter and no upper-case one.</summary>
    public static bool IsPythonLower(string value)
    {
        var cased = false;
        foreach (var c in value)
        {
            if (char.IsUpper(c))
            {
                return false;
            }

            cased |= char.IsLower(c);
        }

        return cased;
    }

    private static FilterClause ParseComparison(List<Token> tokens, ref int i, SearchKind kind, string filter)
    {
        var (rawEntity, rawKey) = ParseIdentifier(tokens, ref i, filter);
        var (entity, key) = Canonicalize(rawEntity, rawKey, kind, filter, forOrder: false);
        if (i >= tokens.Count)
        {
            throw Invalid($"Invalid filter '{filter}': a comparator and a value must follow '{Describe(entity, key)}'.");
        }

        var comparator = ParseComparator(tokens, ref i, filter);
        object? value = null;
        if (comparator is "IN" or "NOT IN")
        {
            value = ParseList(tokens, ref i, filter);
        }
        else if (comparator is not ("IS NULL" or "IS NOT NULL"))
        {
            if (i >= tokens.Count)
            {
                throw Invalid($"Invalid filter '{filter}': a value must follow '{comparator}'.");
            }

            var token = tokens[i++];
            value = token.Kind switch
            {
                TokenKind.Number => double.Parse(token.Text, NumberStyles.Float, CultureInfo.InvariantCulture),
                TokenKind.Quoted when token.Quote is '\'' or '"' => token.Text,
                _ => throw Invalid($"Invalid filter '{filter}': '{token.Raw}' is not a value. Use a number or a string in single or double quotes."),
            };
        }

        Validate(entity, key, comparator, value, kind, filter);
        return new FilterClause(entity, key, comparator, value);
    }

    private static void Validate(SearchEntity entity, string key, string comparator, object? value, SearchKind kind, string filter)
    {
        var numeric = entity == SearchEntity.Metric
            || (entity == SearchEntity.Attribute && NumericAttributes(kind).Contains(key));
        if (numeric)
        {
            if (comparator is not ("=" or "!=" or "<" or "<=" or ">" or ">="))
            {
                throw Invalid($"Invalid comparator '{comparator}' for {Describe(entity, key)} in filter '{filter}'. Numeric fields accept =, !=, <, <=, >, >=.");
            }

            if (value is not double)
            {
                throw Invalid($"Expected numeric value type for {Describe(entity, key)} in filter '{filter}', got a string. Remove the quotes.");
            }

            return;
        }

        // Logged models (search_logged_model_utils) take IN lists on every string field and no IS [NOT] NULL.
        var allowsNull = (entity is SearchEntity.Param or SearchEntity.Tag) && kind != SearchKind.LoggedModels;
        var allowsList = (entity == SearchEntity.Attribute && key == "run_id") || entity == SearchEntity.Dataset || kind == SearchKind.LoggedModels;
        var ok = comparator switch
        {
            "=" or "!=" or "LIKE" or "ILIKE" => true,
            "IN" or "NOT IN" => allowsList,
            "IS NULL" or "IS NOT NULL" => allowsNull,
            _ => false,
        };
        if (!ok)
        {
            throw Invalid($"Invalid comparator '{comparator}' for {Describe(entity, key)} in filter '{filter}'. String fields accept =, !=, LIKE, ILIKE{(allowsList ? ", IN, NOT IN" : "")}{(allowsNull ? ", IS NULL, IS NOT NULL" : "")}.");
        }

        if (comparator is "=" or "!=" or "LIKE" or "ILIKE" && value is not string)
        {
            throw Invalid($"Expected a quoted string value for {Describe(entity, key)} in filter '{filter}'. Put the value in single quotes, e.g. '{value}'.");
        }
    }

    private static string Describe(SearchEntity entity, string key) => entity switch
    {
        SearchEntity.Attribute => $"attribute '{key}'",
        SearchEntity.Metric => $"metric '{key}'",
        SearchEntity.Param => $"param '{key}'",
        SearchEntity.Tag => $"tag '{key}'",
        _ => $"dataset '{key}'",
    };

    private static (SearchEntity Entity, string Key) Canonicalize(string? rawEntity, string key, SearchKind kind, string text, bool forOrder)
    {
        SearchEntity entity;
        if (rawEntity is null)
        {
            entity = SearchEntity.Attribute;
        }
        else
        {
            entity = rawEntity.ToLowerInvariant() switch
            {
                "metrics" or "metric" when kind == SearchKind.Runs => SearchEntity.Metric,
                "params" or "param" or "parameter" or "parameters" when kind == SearchKind.Runs => SearchEntity.Param,
                "tags" or "tag" => SearchEntity.Tag,
                "attributes" or "attribute" or "attr" or "run" when kind == SearchKind.Runs => SearchEntity.Attribute,
                "metrics" or "metric" when kind == SearchKind.LoggedModels => SearchEntity.Metric,
                "params" or "param" or "parameter" or "parameters" when kind == SearchKind.LoggedModels => SearchEntity.Param,
                "attributes" or "attribute" when kind != SearchKind.Runs => SearchEntity.Attribute,
                "datasets" or "dataset" when kind == SearchKind.Runs && !forOrder => SearchEntity.Dataset,
                _ => throw Invalid(kind switch
                {
                    SearchKind.Runs => $"Invalid entity type '{rawEntity}' in '{text}'. Valid prefixes are metrics., params., tags., attributes.{(forOrder ? "" : " and datasets.")}",
                    SearchKind.LoggedModels => $"Invalid entity type '{rawEntity}' in '{text}'. Valid prefixes are metrics., params., tags. and attributes.",
                    _ => $"Invalid entity type '{rawEntity}' in '{text}'. Valid prefixes are tags. and attributes.",
                }),
            };
        }

        if (key.Length == 0)
        {
            throw Invalid($"Invalid identifier in '{text}': the key is empty.");
        }

        switch (entity)
        {
            case SearchEntity.Attribute:
                var attribute = (kind, key) switch
                {
                    (SearchKind.Runs, "created" or "Created") => "start_time",
                    (SearchKind.Runs, "run name" or "Run Name") => "run_name",
                    (SearchKind.ModelVersions, "version") => "version_number",
                    (SearchKind.ModelVersions, "source") => "source_path",
                    (SearchKind.RegisteredModels or SearchKind.ModelVersions, "creation_time") when forOrder => "creation_timestamp",
                    (SearchKind.RegisteredModels or SearchKind.ModelVersions, "last_updated_time") when forOrder => "last_updated_timestamp",
                    (SearchKind.LoggedModels, "creation_time" or "creation_timestamp_ms") => "creation_timestamp",
                    (SearchKind.LoggedModels, "last_updated_time" or "last_updated_timestamp_ms") => "last_updated_timestamp",
                    _ => key,
                };
                var valid = ValidAttributes(kind, forOrder);
                if (!valid.Contains(attribute))
                {
                    throw Invalid($"Invalid attribute key '{key}' specified in '{text}'. Valid keys are {string.Join(", ", valid.Select(v => $"'{v}'"))}.");
                }

                return (entity, attribute);
            case SearchEntity.Dataset:
                if (!s_datasetKeys.Contains(key))
                {
                    throw Invalid($"Invalid dataset key '{key}' specified in '{text}'. Valid keys are 'name', 'digest', 'context'.");
                }

                return (entity, key);
            default:
                return (entity, key);
        }
    }

    private static string[] NumericAttributes(SearchKind kind) => kind switch
    {
        SearchKind.Runs => s_runNumericAttributes,
        SearchKind.Experiments => s_experimentNumericAttributes,
        SearchKind.ModelVersions => ["version_number"],
        SearchKind.LoggedModels => s_loggedModelNumericAttributes,
        _ => [],
    };

    private static string[] ValidAttributes(SearchKind kind, bool forOrder) => (kind, forOrder) switch
    {
        (SearchKind.Runs, _) => [.. s_runStringAttributes, .. s_runNumericAttributes],
        (SearchKind.Experiments, true) => ["name", "experiment_id", "creation_time", "last_update_time"],
        (SearchKind.Experiments, false) => [.. s_experimentStringAttributes, .. s_experimentNumericAttributes],
        (SearchKind.RegisteredModels, true) => ["name", "creation_timestamp", "last_updated_timestamp", "timestamp"],
        (SearchKind.RegisteredModels, false) => ["name"],
        (SearchKind.ModelVersions, true) => ["name", "version_number", "creation_timestamp", "last_updated_timestamp", "timestamp"],
        (SearchKind.LoggedModels, _) => [.. s_loggedModelStringAttributes, .. s_loggedModelNumericAttributes],
        _ => ["name", "version_number", "run_id", "source_path", "current_stage"],
    };

    private static string ParseComparator(List<Token> tokens, ref int i, string filter)
    {
        var token = tokens[i++];
        if (token.Kind == TokenKind.Operator)
        {
            return token.Text;
        }

        if (token.Kind == TokenKind.Word)
        {
            switch (token.Text.ToUpperInvariant())
            {
                case "LIKE":
                    return "LIKE";
                case "ILIKE":
                    return "ILIKE";
                case "IN":
                    return "IN";
                case "NOT" when i < tokens.Count && tokens[i].IsKeyword("IN"):
                    i++;
                    return "NOT IN";
                case "IS" when i < tokens.Count && tokens[i].IsKeyword("NULL"):
                    i++;
                    return "IS NULL";
                case "IS" when i + 1 < tokens.Count && tokens[i].IsKeyword("NOT") && tokens[i + 1].IsKeyword("NULL"):
                    i += 2;
                    return "IS NOT NULL";
            }
        }

        throw Invalid($"Invalid comparator '{token.Raw}' in filter '{filter}'. Use =, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL or IS NOT NULL.");
    }

    private static List<string> ParseList(List<Token> tokens, ref int i, string filter)
    {
        if (i >= tokens.Count || tokens[i].Kind != TokenKind.LeftParen)
        {
            throw Invalid($"Invalid filter '{filter}': IN and NOT IN need a list such as ('a', 'b').");
        }

        i++;
        var items = new List<string>();
        while (true)
        {
            if (i >= tokens.Count || tokens[i].Kind != TokenKind.Quoted || tokens[i].Quote == '`')
            {
                throw Invalid($"Invalid filter '{filter}': list items must be quoted strings, e.g. ('a', 'b').");
            }

            items.Add(tokens[i++].Text);
            if (i < tokens.Count && tokens[i].Kind == TokenKind.Comma)
            {
                i++;
                continue;
            }

            if (i < tokens.Count && tokens[i].Kind == TokenKind.RightParen)
            {
                i++;
                return items;
            }

            throw Invalid($"Invalid filter '{filter}': the list is not closed with ')'.");
        }
    }

    /// <summary>Reads adjacent identifier pieces (bare words, `backticked`, "double-quoted") and splits at the first unquoted dot.</summary>
    private static (string? Entity, string Key) ParseIdentifier(List<Token> tokens, ref int i, string text)
    {
        if (i >= tokens.Count || tokens[i].Kind is not (TokenKind.Word or TokenKind.Quoted) || tokens[i].Quote == '\'')
        {
            throw Invalid($"Invalid filter '{text}': expected an identifier such as metrics.acc, params.lr, tags.`my key` or an attribute name at '{(i < tokens.Count ? tokens[i].Raw : "end")}'.");
        }

        var pieces = new List<Token> { tokens[i++] };
        while (i < tokens.Count && tokens[i].Start == pieces[^1].End && tokens[i].Kind is TokenKind.Word or TokenKind.Quoted && tokens[i].Quote != '\'')
        {
            pieces.Add(tokens[i++]);
        }

        string? entity = null;
        var key = new StringBuilder();
        var prefix = new StringBuilder();
        foreach (var piece in pieces)
        {
            if (entity is null && piece.Kind == TokenKind.Word)
            {
                var dot = piece.Text.IndexOf('.', StringComparison.Ordinal);
                if (dot >= 0)
                {
                    entity = prefix.Append(piece.Text.AsSpan(0, dot)).ToString();
                    key.Append(piece.Text.AsSpan(dot + 1));
                    continue;
                }
            }

            (entity is null ? prefix : key).Append(piece.Text);
        }

        if (entity is null)
        {
            // One quoted identifier such as `params.a b` or "tags.x": split when it starts with a known prefix.
            var whole = prefix.ToString();
            var dot = whole.IndexOf('.', StringComparison.Ordinal);
            if (pieces.Count == 1 && pieces[0].Kind == TokenKind.Quoted && dot > 0 && IsKnownPrefix(whole[..dot]))
            {
                return (whole[..dot], whole[(dot + 1)..]);
            }

            if (pieces.Count == 1 && pieces[0].Kind == TokenKind.Word && IsKnownPrefix(whole))
            {
                throw Invalid($"Invalid identifier '{whole}' in '{text}': a key must follow the prefix, e.g. {whole}.my_key.");
            }

            return (null, whole);
        }

        if (entity.Length == 0)
        {
            throw Invalid($"Invalid identifier in '{text}': it starts with a dot.");
        }

        return (entity, key.ToString());
    }

    private static bool IsKnownPrefix(string value) => value.ToLowerInvariant() is "metrics" or "metric" or "params" or "param" or "parameter" or "parameters"
        or "tags" or "tag" or "attributes" or "attribute" or "attr" or "run" or "datasets" or "dataset";

    private static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }

            var start = i;
            switch (c)
            {
                case '\'' or '"' or '`':
                    var end = text.IndexOf(c, i + 1);
                    while (c != '`' && end >= 0 && end + 1 < text.Length && text[end + 1] == c)
                    {
                        // A doubled quote stays inside the string, as SQL lexers (and sqlparse) read it; it is not unescaped.
                        end = text.IndexOf(c, end + 2);
                    }

                    if (end < 0)
                    {
                        throw Invalid($"Invalid filter '{text}': the quote {c} at position {i} is not closed.");
                    }

                    tokens.Add(new Token(TokenKind.Quoted, text[(i + 1)..end], c, start, end + 1, text[start..(end + 1)]));
                    i = end + 1;
                    continue;
                case '(':
                    tokens.Add(new Token(TokenKind.LeftParen, "(", '\0', start, i + 1, "("));
                    i++;
                    continue;
                case ')':
                    tokens.Add(new Token(TokenKind.RightParen, ")", '\0', start, i + 1, ")"));
                    i++;
                    continue;
                case ',':
                    tokens.Add(new Token(TokenKind.Comma, ",", '\0', start, i + 1, ","));
                    i++;
                    continue;
                case '=':
                    i += i + 1 < text.Length && text[i + 1] == '=' ? 2 : 1;
                    tokens.Add(new Token(TokenKind.Operator, "=", '\0', start, i, text[start..i]));
                    continue;
                case '!' when i + 1 < text.Length && text[i + 1] == '=':
                    i += 2;
                    tokens.Add(new Token(TokenKind.Operator, "!=", '\0', start, i, "!="));
                    continue;
                case '<' or '>':
                    i += i + 1 < text.Length && text[i + 1] == '=' ? 2 : 1;
                    tokens.Add(new Token(TokenKind.Operator, text[start..i], '\0', start, i, text[start..i]));
                    continue;
            }

            if (IsNumberStart(text, i, tokens))
            {
                i++;
                while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.' || ((text[i] is 'e' or 'E') && i + 1 < text.Length) || ((text[i] is '+' or '-') && text[i - 1] is 'e' or 'E')))
                {
                    i++;
                }

                var number = text[start..i];
                if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                {
                    throw Invalid($"Invalid filter '{text}': '{number}' is not a number.");
                }

                tokens.Add(new Token(TokenKind.Number, number, '\0', start, i, number));
                continue;
            }

            if (char.IsLetterOrDigit(c) || c is '_' or '.')
            {
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] is '_' or '.'))
                {
                    i++;
                }

                tokens.Add(new Token(TokenKind.Word, text[start..i], '\0', start, i, text[start..i]));
                continue;
            }

            throw Invalid($"Invalid filter '{text}': unexpected character '{c}' at position {i}. Quote keys that contain it with backticks, e.g. metrics.`val-loss`.");
        }

        return tokens;
    }

    private static bool IsNumberStart(string text, int i, List<Token> tokens)
    {
        // A number can only appear as a value, i.e. right after an operator.
        if (tokens.Count == 0 || tokens[^1].Kind != TokenKind.Operator)
        {
            return false;
        }

        var c = text[i];
        return char.IsAsciiDigit(c) || (c is '-' or '+' or '.' && i + 1 < text.Length && (char.IsAsciiDigit(text[i + 1]) || text[i + 1] == '.'));
    }

    private static MlflowException Invalid(string message) =>
        new(HttpStatusCode.BadRequest, MlflowErrorCodes.InvalidParameterValue, message);

    private enum TokenKind
    {
        Word,
        Quoted,
        Number,
        Operator,
        LeftParen,
        RightParen,
        Comma,
    }

    private sealed record Token(TokenKind Kind, string Text, char Quote, int Start, int End, string Raw)
    {
        public bool IsKeyword(string keyword) => Kind == TokenKind.Word && string.Equals(Text, keyword, StringComparison.OrdinalIgnoreCase);
    }
}
