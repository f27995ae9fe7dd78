using System.Globalization;
using MLOpsDemo.Mlflow.Internal;
using MLOpsDemo.Mlflow.Registry;

namespace MLOpsDemo.Mlflow;

public partial class ModelRegistryClient
{
    /// <summary>
    /// Moves <paramref name="alias"/> to <paramref name="version"/> only if the candidate is better: its run's
    /// <paramref name="metric"/> must strictly beat the value of the version that holds the alias now (ties keep the
    /// holder). With no holder, or a holder without the metric, the candidate is promoted; a candidate without the
    /// metric never is. Meant for a CI step: check <see cref="PromotionResult.Promoted"/> and print
    /// <see cref="PromotionResult.Reason"/>. The metric is the run's latest value (for versions made from an MLflow 3
    /// logged model without a run, the logged model's metric).
    /// </summary>
    /// <param name="name">The registered model name.</param>
    /// <param name="version">The candidate version.</param>
    /// <param name="alias">The alias to move.</param>
    /// <param name="metric">The metric key to compare.</param>
    /// <param name="higherIsBetter">Whether a higher value is better (accuracy) or a lower one (loss).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The decision and the values that led to it.</returns>
    public virtual async Task<PromotionResult> PromoteAsync(string name, string version, string alias = "champion", string metric = "accuracy", bool higherIsBetter = true, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateName(name, nameof(name));
        RegistryValidation.ValidateVersion(version, nameof(version));
        RegistryValidation.ValidateAlias(alias, nameof(alias), forSet: true);
        MlflowValidation.ValidateKey(metric, "metric", nameof(metric));

        var candidate = await GetVersionAsync(name, version, cancellationToken).ConfigureAwait(false);
        var holder = await TryGetVersionByAliasAsync(name, alias, cancellationToken).ConfigureAwait(false);
        var candidateValue = await GetMetricAsync(candidate, metric, cancellationToken).ConfigureAwait(false);
        var result = new PromotionResult
        {
            Decision = PromotionDecision.KeptCandidateHasNoMetric,
            Name = name,
            Alias = alias,
            Metric = metric,
            CandidateVersion = candidate.Version,
            CandidateValue = candidateValue,
            PreviousVersion = holder?.Version,
            Reason = "",
        };

        if (holder is not null && holder.Version == candidate.Version)
        {
            return result with { Decision = PromotionDecision.KeptAlreadyHolder, Reason = $"Version {candidate.Version} already holds '{alias}'." };
        }

        if (candidateValue is not { } value || !double.IsFinite(value))
        {
            return result with { Reason = $"Version {candidate.Version} has no finite '{metric}' value (run {candidate.RunId ?? "none"}); '{alias}' stays {(holder is null ? "unset" : "on version " + holder.Version)}." };
        }

        if (holder is null)
        {
            await SetAliasAsync(name, alias, candidate.Version, cancellationToken).ConfigureAwait(false);
            return result with { Decision = PromotionDecision.PromotedNoCurrentHolder, Reason = $"No version held '{alias}'; version {candidate.Version} ({metric} = {Format(value)}) is promoted." };
        }

        var holderValue = await GetMetricAsync(holder, metric, cancellationToken).ConfigureAwait(false);
        result = result with { PreviousValue = holderValue };
        if (holderValue is not { } current || !double.IsFinite(current))
        {
            await SetAliasAsync(name, alias, candidate.Version, cancellationToken).ConfigureAwait(false);
            return result with { Decision = PromotionDecision.PromotedCurrentHasNoMetric, Reason = $"Version {holder.Version} holding '{alias}' has no '{metric}'; version {candidate.Version} ({metric} = {Format(value)}) is promoted." };
        }

        var beats = higherIsBetter ? value > current : value < current;
        if (!beats)
        {
            return result with { Decision = PromotionDecision.KeptCurrentNotBetter, Reason = $"Version {candidate.Version} ({metric} = {Format(value)}) does not beat version {holder.Version} ({metric} = {Format(current)}, {(higherIsBetter ? "higher" : "lower")} is better); '{alias}' stays on version {holder.Version}." };
        }

        await SetAliasAsync(name, alias, candidate.Version, cancellationToken).ConfigureAwait(false);
        return result with { Decision = PromotionDecision.PromotedBeatsCurrent, Reason = $"Version {candidate.Version} ({metric} = {Format(value)}) beats version {holder.Version} ({metric} = {Format(current)}); '{alias}' moved to version {candidate.Version}." };
    }

    private async Task<double?> GetMetricAsync(ModelVersion version, string metric, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(version.RunId))
        {
            var run = await _client.Runs.GetAsync(version.RunId, cancellationToken).ConfigureAwait(false);
            return run.Data.Metrics.FirstOrDefault(m => m.Key == metric)?.Value;
        }

        var modelId = version.ModelId ?? LoggedModelIdFromSource(version.Source);
        if (modelId is not null)
        {
            var model = await _client.LoggedModels.GetAsync(modelId, cancellationToken).ConfigureAwait(false);
            return model.Data.Metrics.Where(m => m.Key == metric).MaxBy(m => (m.Step, m.Timestamp))?.Value;
        }

        return null;
    }

    private static string Format(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
