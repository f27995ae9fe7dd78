using System.Globalization;
using System.Text.RegularExpressions;
using MLOpsDemo.Mlflow.Cli.Output;
using MLOpsDemo.Mlflow.Sqlite;

namespace MLOpsDemo.Mlflow.Cli.Gate;

/// <summary>The outcome of one clause of a requirement on one run.</summary>
/// <param name="Expression">The clause, written back in filter syntax.</param>
/// <param name="Passed">Whether the run satisfies it.</param>
/// <param name="Actual">The run's value (a number, a string, or <see langword="null"/> when it has none).</param>
/// <param name="Threshold">The clause's value (a number, a string or a list).</param>
/// <param name="Reason">A sentence: the value, the comparison, the verdict.</param>
internal sealed record ClauseResult(string Expression, bool Passed, object? Actual, object? Threshold, string Reason);

/// <summary>
/// Evaluates MLflow search-filter clauses (parsed by the library's <see cref="SearchFilter"/>, the grammar the server and
/// the local store use) against one run, with the server's semantics: metrics are the latest values and compare as
/// numbers, params/tags/attributes compare as strings, LIKE is case-sensitive with % and _, ILIKE is not.
/// </summary>
internal static class RequirementEvaluator
{
    private static readonly TimeSpan s_regexTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Evaluates every clause.</summary>
    /// <param name="clauses">The clauses (a conjunction).</param>
    /// <param name="run">The run.</param>
    /// <returns>One result per clause.</returns>
    public static IReadOnlyList<ClauseResult> Evaluate(IReadOnlyList<FilterClause> clauses, Run run) =>
        clauses.Select(c => Evaluate(c, run)).ToList();

    /// <summary>Evaluates one clause.</summary>
    /// <param name="clause">The clause.</param>
    /// <param name="run">The run.</param>
    /// <returns>The result.</returns>
    public static ClauseResult Evaluate(FilterClause clause, Run run)
    {
        var expression = Describe(clause);
        switch (clause.Entity)
        {
            case SearchEntity.Metric:
            {
                var metric = run.Data.Metrics.FirstOrDefault(m => m.Key == clause.Key);
                if (metric is null)
                {
                    return new ClauseResult(expression, false, null, clause.Value, $"{expression}: the run has no metric '{clause.Key}'.");
                }

                return CompareNumbers(expression, metric.Value, clause);
            }

            case SearchEntity.Param:
                return CompareStrings(expression, run.Data.Params.TryGetValue(clause.Key, out var p) ? p : null, clause);
            case SearchEntity.Tag:
                return CompareStrings(expression, run.Data.Tags.TryGetValue(clause.Key, out var t) ? t : null, clause);
            case SearchEntity.Dataset:
            {
                var values = (run.Inputs?.DatasetInputs ?? []).Select(d => clause.Key switch
                {
                    "name" => d.Dataset.Name,
                    "digest" => d.Dataset.Digest,
                    _ => d.Tags.TryGetValue("mlflow.data.context", out var context) ? context : null,
                }).ToList();
                var match = values.Select(v => CompareStrings(expression, v, clause)).FirstOrDefault(r => r.Passed);
                return match ?? new ClauseResult(expression, false, values.Count == 0 ? null : string.Join(", ", values), clause.Value, $"{expression}: no dataset input matches ({(values.Count == 0 ? "the run has none" : string.Join(", ", values))}).");
            }

            default:
                return clause.Key switch
                {
                    "start_time" => CompareOptionalNumber(expression, run.Info.StartTime, clause),
                    "end_time" => CompareOptionalNumber(expression, run.Info.EndTime, clause),
                    "run_id" => CompareStrings(expression, run.Info.RunId, clause),
                    "run_name" => CompareStrings(expression, run.Info.RunName, clause),
                    "user_id" => CompareStrings(expression, run.Info.UserId, clause),
                    "status" => CompareStrings(expression, CliJson.Status(run.Info.Status), clause),
                    "artifact_uri" => CompareStrings(expression, run.Info.ArtifactUri, clause),
                    _ => new ClauseResult(expression, false, null, clause.Value, $"{expression}: attribute '{clause.Key}' cannot be evaluated."),
                };
        }
    }

    /// <summary>Writes a clause back in filter syntax.</summary>
    /// <param name="clause">The clause.</param>
    /// <returns>The text.</returns>
    public static string Describe(FilterClause clause)
    {
        var prefix = clause.Entity switch
        {
            SearchEntity.Metric => "metrics.",
            SearchEntity.Param => "params.",
            SearchEntity.Tag => "tags.",
            SearchEntity.Dataset => "datasets.",
            _ => "attributes.",
        };
        var key = clause.Key.All(c => char.IsLetterOrDigit(c) || c is '_' or '.') ? clause.Key : $"`{clause.Key}`";
        var value = clause.Value switch
        {
            null => "",
            double d => " " + d.ToString("R", CultureInfo.InvariantCulture),
            IEnumerable<string> list => " (" + string.Join(", ", list.Select(v => $"'{v}'")) + ")",
            var v => $" '{v}'",
        };
        return $"{prefix}{key} {clause.Comparator}{value}";
    }

    private static ClauseResult CompareOptionalNumber(string expression, long? actual, FilterClause clause) =>
        actual is { } value
            ? CompareNumbers(expression, value, clause)
            : new ClauseResult(expression, false, null, clause.Value, $"{expression}: the run has no value.");

    private static ClauseResult CompareNumbers(string expression, double actual, FilterClause clause)
    {
        var threshold = (double)clause.Value!;
        var passed = clause.Comparator switch
        {
            "=" => actual == threshold,
            "!=" => actual != threshold,
            "<" => actual < threshold,
            "<=" => actual <= threshold,
            ">" => actual > threshold,
            ">=" => actual >= threshold,
            _ => false,
        };
        return new ClauseResult(expression, passed, actual, threshold,
            $"{expression}: the value is {CliJson.Format(actual)}, {(passed ? "passes" : "fails")} (threshold {CliJson.Format(threshold)}).");
    }

    private static ClauseResult CompareStrings(string expression, string? actual, FilterClause clause)
    {
        var passed = clause.Comparator switch
        {
            "IS NULL" => actual is null,
            "IS NOT NULL" => actual is not null,
            "=" => actual is not null && string.Equals(actual, (string)clause.Value!, StringComparison.Ordinal),
            "!=" => actual is not null && !string.Equals(actual, (string)clause.Value!, StringComparison.Ordinal),
            "LIKE" => actual is not null && Like(actual, (string)clause.Value!, ignoreCase: false),
            "ILIKE" => actual is not null && Like(actual, (string)clause.Value!, ignoreCase: true),
            "IN" => actual is not null && ((IEnumerable<string>)clause.Value!).Contains(actual, StringComparer.Ordinal),
            "NOT IN" => actual is not null && !((IEnumerable<string>)clause.Value!).Contains(actual, StringComparer.Ordinal),
            _ => false,
        };
        var shown = actual is null ? "missing" : $"'{actual}'";
        return new ClauseResult(expression, passed, actual, clause.Value, $"{expression}: the value is {shown}, {(passed ? "passes" : "fails")}.");
    }

    private static bool Like(string value, string pattern, bool ignoreCase)
    {
        var regex = "^" + string.Concat(pattern.Select(c => c switch
        {
            '%' => ".*",
            '_' => ".",
            _ => Regex.Escape(c.ToString()),
        })) + "$";
        var options = RegexOptions.Singleline | RegexOptions.CultureInvariant | (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None);
        return Regex.IsMatch(value, regex, options, s_regexTimeout);
    }
}
