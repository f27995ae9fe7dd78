using System.Text.Json.Nodes;
using MLOpsDemo.Mlflow.Cli.Output;
using MLOpsDemo.Mlflow.Sqlite;

namespace MLOpsDemo.Mlflow.Cli.Gate;

/// <summary>What <c>models promote</c> was asked.</summary>
/// <param name="Name">The registered model.</param>
/// <param name="Version">The candidate version (<c>latest</c> for the highest), or <see langword="null"/>.</param>
/// <param name="FromAlias">The alias naming the candidate, or <see langword="null"/>.</param>
/// <param name="ToAlias">The alias to move.</param>
/// <param name="Require">The requirement on the candidate's source run (MLflow filter grammar), or <see langword="null"/>.</param>
/// <param name="MustBeat">A version number or alias the candidate must beat, or <see langword="null"/>.</param>
/// <param name="Metric">The metric of the must-beat comparison.</param>
/// <param name="LowerIsBetter">Whether lower values of <paramref name="Metric"/> are better.</param>
/// <param name="DryRun">Decide and report, but do not move the alias.</param>
internal sealed record PromotionRequest(string Name, string? Version, string? FromAlias, string ToAlias, string? Require, string? MustBeat, string? Metric, bool LowerIsBetter, bool DryRun);

/// <summary>
/// The promotion gate: evaluates a requirement on the candidate version's source run and a must-beat comparison with
/// the holder of an alias (or a version), then moves <see cref="PromotionRequest.ToAlias"/> only when every check
/// passes. Inputs are validated (the filter parsed) before any request.
/// </summary>
internal static class PromotionGate
{
    /// <summary>Validates the request, decides and (unless a dry run) moves the alias.</summary>
    /// <param name="client">The client.</param>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancels the work.</param>
    /// <returns>The JSON report, the human lines, and whether every check passed.</returns>
    public static async Task<(JsonObject Json, List<string> Lines, bool Passed)> RunAsync(MlflowClient client, PromotionRequest request, CancellationToken cancellationToken)
    {
        if ((request.Version is null) == (request.FromAlias is null))
        {
            throw CliException.Usage("Name the candidate with exactly one of --version V (or 'latest') and --from-alias A.");
        }

        if (request.MustBeat is not null && string.IsNullOrWhiteSpace(request.Metric))
        {
            throw CliException.Usage("--must-beat needs --metric KEY (the run metric to compare, e.g. --metric accuracy).");
        }

        if (request.MustBeat is null && (request.Metric is not null || request.LowerIsBetter))
        {
            throw CliException.Usage("--metric and --lower-is-better go with --must-beat ALIAS|VERSION.");
        }

        var clauses = CommandContext.ParseRunFilter(request.Require, "--require");

        var candidate = await ResolveCandidateAsync(client, request, cancellationToken).ConfigureAwait(false);
        var holder = await client.ModelRegistry.TryGetVersionByAliasAsync(request.Name, request.ToAlias, cancellationToken).ConfigureAwait(false);
        Run? candidateRun = null;
        if (!string.IsNullOrEmpty(candidate.RunId) && (clauses.Count > 0 || request.MustBeat is not null))
        {
            candidateRun = await client.Runs.GetAsync(candidate.RunId, cancellationToken).ConfigureAwait(false);
        }

        var checks = new JsonArray();
        var lines = new List<string>();
        var passed = true;

        foreach (var clause in clauses)
        {
            var result = candidateRun is null
                ? new ClauseResult(RequirementEvaluator.Describe(clause), false, null, clause.Value, $"{RequirementEvaluator.Describe(clause)}: version {candidate.Version} has no source run to check.")
                : RequirementEvaluator.Evaluate(clause, candidateRun);
            passed &= result.Passed;
            checks.Add(new JsonObject
            {
                ["check"] = "require",
                ["expression"] = result.Expression,
                ["candidate_value"] = ToNode(result.Actual),
                ["threshold"] = ToNode(result.Threshold),
                ["passed"] = result.Passed,
                ["reason"] = result.Reason,
            });
            lines.Add($"{(result.Passed ? "PASS" : "FAIL")} require {result.Reason}");
        }

        if (request.MustBeat is not null)
        {
            var (check, ok, line) = await MustBeatAsync(client, request, candidate, candidateRun, cancellationToken).ConfigureAwait(false);
            passed &= ok;
            checks.Add(check);
            lines.Add($"{(ok ? "PASS" : "FAIL")} must-beat {line}");
        }

        var alreadyHolder = holder is not null && holder.Version == candidate.Version;
        var promoted = false;
        string decision;
        if (!passed)
        {
            decision = "refused";
            lines.Add($"Refused: '{request.ToAlias}' stays {(holder is null ? "unset" : $"on version {holder.Version}")}.");
        }
        else if (alreadyHolder)
        {
            decision = "already_holder";
            lines.Add($"Version {candidate.Version} already holds '{request.ToAlias}'.");
        }
        else if (request.DryRun)
        {
            decision = "would_promote";
            lines.Add($"Dry run: '{request.ToAlias}' would move to version {candidate.Version} (from {(holder is null ? "unset" : $"version {holder.Version}")}).");
        }
        else
        {
            await client.ModelRegistry.SetAliasAsync(request.Name, request.ToAlias, candidate.Version, cancellationToken).ConfigureAwait(false);
            promoted = true;
            decision = "promoted";
            lines.Add($"Promoted: models:/{request.Name}@{request.ToAlias} is now version {candidate.Version} (was {(holder is null ? "unset" : $"version {holder.Version}")}).");
        }

        var json = new JsonObject
        {
            ["name"] = request.Name,
            ["candidate_version"] = candidate.Version,
            ["candidate_run_id"] = candidate.RunId,
            ["to_alias"] = request.ToAlias,
            ["previous_version"] = holder?.Version,
            ["passed"] = passed,
            ["promoted"] = promoted,
            ["dry_run"] = request.DryRun,
            ["decision"] = decision,
            ["checks"] = checks,
        };
        return (json, lines, passed);
    }

    private static async Task<ModelVersion> ResolveCandidateAsync(MlflowClient client, PromotionRequest request, CancellationToken cancellationToken)
    {
        if (request.FromAlias is { } alias)
        {
            return await client.ModelRegistry.TryGetVersionByAliasAsync(request.Name, alias, cancellationToken).ConfigureAwait(false)
                ?? throw CliException.NotFound($"Model '{request.Name}' has no alias '{alias}'. Set it first, e.g. 'dotnet mlflow models alias set {request.Name} {alias} latest'.");
        }

        if (string.Equals(request.Version, "latest", StringComparison.OrdinalIgnoreCase))
        {
            return await GetLatestVersionAsync(client, request.Name, cancellationToken).ConfigureAwait(false);
        }

        return await client.ModelRegistry.GetVersionAsync(request.Name, request.Version!, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The highest version of a registered model.</summary>
    /// <param name="client">The client.</param>
    /// <param name="name">The model.</param>
    /// <param name="cancellationToken">Cancels the search.</param>
    /// <returns>The version.</returns>
    public static async Task<ModelVersion> GetLatestVersionAsync(MlflowClient client, string name, CancellationToken cancellationToken)
    {
        // Throws RESOURCE_DOES_NOT_EXIST (exit 4) when the model does not exist.
        await client.ModelRegistry.GetAsync(name, cancellationToken).ConfigureAwait(false);
        ModelVersion? latest = null;
        await foreach (var version in client.ModelRegistry.SearchVersionsAsync(new SearchModelVersionsOptions { Filter = NameFilter(name) }, cancellationToken).ConfigureAwait(false))
        {
            if (latest is null || version.VersionNumber > latest.VersionNumber)
            {
                latest = version;
            }
        }

        return latest ?? throw CliException.NotFound($"Model '{name}' has no versions yet.");
    }

    /// <summary>A <c>name = '…'</c> filter (double quotes when the name holds a single quote).</summary>
    /// <param name="name">The model name.</param>
    /// <returns>The filter.</returns>
    public static string NameFilter(string name) => name.Contains('\'', StringComparison.Ordinal) ? $"name = \"{name}\"" : $"name = '{name}'";

    private static async Task<(JsonObject Check, bool Passed, string Line)> MustBeatAsync(MlflowClient client, PromotionRequest request, ModelVersion candidate, Run? candidateRun, CancellationToken cancellationToken)
    {
        var metric = request.Metric!;
        var target = request.MustBeat!;
        var isVersion = target.All(char.IsAsciiDigit);
        var opponent = isVersion
            ? await client.ModelRegistry.GetVersionAsync(request.Name, target, cancellationToken).ConfigureAwait(false)
            : await client.ModelRegistry.TryGetVersionByAliasAsync(request.Name, target, cancellationToken).ConfigureAwait(false);
        var candidateValue = candidateRun?.Data.Metrics.FirstOrDefault(m => m.Key == metric)?.Value;
        double? opponentValue = null;
        if (opponent is not null && !string.IsNullOrEmpty(opponent.RunId) && opponent.Version != candidate.Version)
        {
            var run = await client.Runs.GetAsync(opponent.RunId, cancellationToken).ConfigureAwait(false);
            opponentValue = run.Data.Metrics.FirstOrDefault(m => m.Key == metric)?.Value;
        }

        var better = request.LowerIsBetter ? "lower" : "higher";
        var targetName = isVersion ? $"version {target}" : $"'{target}'";
        bool passed;
        string reason;
        if (candidateValue is not { } value || !double.IsFinite(value))
        {
            passed = false;
            reason = $"version {candidate.Version} has no finite '{metric}' (run {candidate.RunId ?? "none"}).";
        }
        else if (opponent is null)
        {
            passed = true;
            reason = $"no version holds {targetName}; version {candidate.Version} ({metric} = {CliJson.Format(value)}) has nothing to beat.";
        }
        else if (opponent.Version == candidate.Version)
        {
            passed = true;
            reason = $"version {candidate.Version} is {targetName} itself.";
        }
        else if (opponentValue is not { } current || !double.IsFinite(current))
        {
            passed = true;
            reason = $"{targetName} (version {opponent.Version}) has no '{metric}'; version {candidate.Version} ({metric} = {CliJson.Format(value)}) passes.";
        }
        else
        {
            passed = request.LowerIsBetter ? value < current : value > current;
            reason = $"version {candidate.Version} {metric} = {CliJson.Format(value)} {(passed ? "beats" : "does not beat")} {targetName} (version {opponent.Version}) {metric} = {CliJson.Format(current)} ({better} is better).";
        }

        var check = new JsonObject
        {
            ["check"] = "must_beat",
            ["metric"] = metric,
            ["higher_is_better"] = !request.LowerIsBetter,
            ["opponent"] = target,
            ["opponent_version"] = opponent?.Version,
            ["opponent_value"] = CliJson.Number(opponentValue),
            ["candidate_value"] = CliJson.Number(candidateValue),
            ["passed"] = passed,
            ["reason"] = reason,
        };
        return (check, passed, reason);
    }

    private static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        double d => CliJson.Number(d),
        long l => JsonValue.Create(l),
        string s => JsonValue.Create(s),
        IEnumerable<string> list => new JsonArray(list.Select(v => (JsonNode?)v).ToArray()),
        var other => JsonValue.Create(other.ToString()),
    };
}
