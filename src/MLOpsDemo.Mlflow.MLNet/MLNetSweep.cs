using System.Globalization;
using Microsoft.ML;

namespace MLOpsDemo.Mlflow.MLNet;

#pragma warning disable SA1402 // the sweep's options, trial and result types belong together

/// <summary>How <see cref="MLNetSweep.SweepAsync"/> runs a grid search.</summary>
public sealed record SweepOptions
{
    /// <summary>The metric each trial returns and the sweep compares (e.g. <c>accuracy</c>). Required.</summary>
    public required string Metric { get; init; }

    /// <summary>Whether a larger metric is better. Default true.</summary>
    public bool HigherIsBetter { get; init; } = true;

    /// <summary>The name of trial runs: <c>&lt;prefix&gt;-&lt;index&gt;</c>. Default <c>trial</c>.</summary>
    public string TrialRunNamePrefix { get; init; } = "trial";

    /// <summary>
    /// To log the best trial's model on the parent run: the context and the model options (with the input data).
    /// <see langword="null"/> logs no model.
    /// </summary>
    public MLContext? MLContext { get; init; }

    /// <summary>How the best model is logged (requires <see cref="MLContext"/>).</summary>
    public MLNetModelOptions? BestModelOptions { get; init; }
}

/// <summary>One trial of a sweep: its parameters and its nested run.</summary>
public sealed record SweepTrial
{
    /// <summary>The trial's position in the grid (0-based).</summary>
    public required int Index { get; init; }

    /// <summary>The parameter values of this trial.</summary>
    public required IReadOnlyDictionary<string, object?> Parameters { get; init; }

    /// <summary>The trial's nested run (log more to it if you like).</summary>
    public required MlflowRun Run { get; init; }

    /// <summary>A parameter value converted to <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">The type.</typeparam>
    /// <param name="name">The parameter name.</param>
    /// <returns>The value.</returns>
    public T Get<T>(string name) => Parameters.TryGetValue(name, out var value)
        ? value is T typed ? typed : (T)Convert.ChangeType(value, typeof(T), CultureInfo.InvariantCulture)!
        : throw new KeyNotFoundException($"The sweep grid has no parameter '{name}'; it has: {string.Join(", ", Parameters.Keys)}.");
}

/// <summary>What a trial returns.</summary>
/// <param name="Metric">The value of <see cref="SweepOptions.Metric"/>.</param>
/// <param name="Model">The fitted model (kept only while it is the best; logged at the end when asked).</param>
public sealed record SweepTrialResult(double Metric, ITransformer? Model = null);

/// <summary>A finished trial.</summary>
/// <param name="Index">The trial's position in the grid.</param>
/// <param name="RunId">Its nested run.</param>
/// <param name="Parameters">Its parameters.</param>
/// <param name="Metric">Its metric.</param>
public sealed record SweepTrialSummary(int Index, string RunId, IReadOnlyDictionary<string, object?> Parameters, double Metric);

/// <summary>The result of a sweep.</summary>
public sealed record SweepResult
{
    /// <summary>Every trial, in grid order.</summary>
    public required IReadOnlyList<SweepTrialSummary> Trials { get; init; }

    /// <summary>The best trial.</summary>
    public required SweepTrialSummary Best { get; init; }

    /// <summary>The best trial's model, if the trials returned models.</summary>
    public ITransformer? BestModel { get; init; }

    /// <summary>The logged best model, when <see cref="SweepOptions.MLContext"/> and <see cref="SweepOptions.BestModelOptions"/> were given.</summary>
    public MLNetModelLogResult? LoggedModel { get; init; }
}

/// <summary>
/// A grid search with MLflow's nested-run layout (as Python's hyperparameter-search autologging): every combination of
/// the grid runs as a child run of the parent (params = the combination, metric = the trial's result); the best child is
/// tagged <c>best_trial=true</c>; the parent gets <c>best_&lt;param&gt;</c> params, the <c>best_&lt;metric&gt;</c> metric, the
/// tag <c>best_run_id</c> and, when asked, the best model. (Microsoft.ML.AutoML is not used: the package feed does not serve it.)
/// </summary>
public static class MLNetSweep
{
    /// <summary>Every combination of the grid, in order (the last parameter varies fastest).</summary>
    /// <param name="grid">Parameter name → candidate values.</param>
    /// <returns>The combinations.</returns>
    public static IReadOnlyList<IReadOnlyDictionary<string, object?>> Combinations(IReadOnlyDictionary<string, IReadOnlyList<object?>> grid)
    {
        ArgumentNullException.ThrowIfNull(grid);
        var result = new List<IReadOnlyDictionary<string, object?>> { new Dictionary<string, object?>(StringComparer.Ordinal) };
        foreach (var (name, values) in grid)
        {
            if (values is null || values.Count == 0)
            {
                throw new ArgumentException($"Grid parameter '{name}' has no values; give at least one.", nameof(grid));
            }

            result = result.SelectMany(partial => values.Select(value => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?>(partial, StringComparer.Ordinal) { [name] = value })).ToList();
        }

        return result;
    }

    /// <summary>Runs <paramref name="trial"/> for every combination of <paramref name="grid"/>, each in a nested run of <paramref name="parent"/>.</summary>
    /// <param name="parent">The parent run.</param>
    /// <param name="grid">Parameter name → candidate values (at least one parameter).</param>
    /// <param name="trial">Trains and evaluates one combination; returns the metric (and the model).</param>
    /// <param name="options">The metric, its direction and how to log the best model.</param>
    /// <param name="cancellationToken">Cancels the sweep; the running trial ends KILLED.</param>
    /// <returns>All trials and the best.</returns>
    /// <remarks>A trial that throws ends FAILED and the exception ends the sweep.</remarks>
    public static async Task<SweepResult> SweepAsync(
        this MlflowRun parent,
        IReadOnlyDictionary<string, IReadOnlyList<object?>> grid,
        Func<SweepTrial, CancellationToken, Task<SweepTrialResult>> trial,
        SweepOptions options,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(trial);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Metric, nameof(options));
        if (grid is null || grid.Count == 0)
        {
            throw new ArgumentException("The grid is empty; give at least one parameter with its candidate values.", nameof(grid));
        }

        if ((options.MLContext is null) != (options.BestModelOptions is null))
        {
            throw new ArgumentException("Set both SweepOptions.MLContext and SweepOptions.BestModelOptions to log the best model, or neither.", nameof(options));
        }

        var combinations = Combinations(grid);
        var summaries = new List<SweepTrialSummary>();
        SweepTrialSummary? best = null;
        ITransformer? bestModel = null;
        await parent.FlushAsync(cancellationToken).ConfigureAwait(false);
        for (var index = 0; index < combinations.Count; index++)
        {
            var parameters = combinations[index];
            var result = await parent.Client.RunAsync(
                async run =>
                {
                    foreach (var (name, value) in parameters)
                    {
                        run.LogParam(name, value);
                    }

                    var outcome = await trial(new SweepTrial { Index = index, Parameters = parameters, Run = run }, cancellationToken).ConfigureAwait(false)
                        ?? throw new InvalidOperationException($"Sweep trial {index} returned null; return a SweepTrialResult with the metric.");
                    run.LogMetric(options.Metric, outcome.Metric);
                    return (run.RunId, outcome);
                },
                new StartRunOptions
                {
                    ExperimentId = parent.ExperimentId,
                    ParentRunId = parent.RunId,
                    RunName = string.Create(CultureInfo.InvariantCulture, $"{options.TrialRunNamePrefix}-{index}"),
                },
                cancellationToken).ConfigureAwait(false);

            var summary = new SweepTrialSummary(index, result.RunId, parameters, result.outcome.Metric);
            summaries.Add(summary);
            if (best is null || IsBetter(summary.Metric, best.Metric, options.HigherIsBetter))
            {
                best = summary;
                bestModel = result.outcome.Model;
            }
        }

        var client = parent.Client;
        await client.Runs.SetTagAsync(best!.RunId, "best_trial", "true", cancellationToken).ConfigureAwait(false);
        parent.SetTag("best_run_id", best.RunId);
        foreach (var (name, value) in best.Parameters)
        {
            parent.LogParam("best_" + name, value);
        }

        parent.LogParam("sweep_trials", summaries.Count);
        parent.LogMetric("best_" + options.Metric, best.Metric);
        MLNetModelLogResult? logged = null;
        if (options.MLContext is { } mlContext && options.BestModelOptions is { } modelOptions)
        {
            if (bestModel is null)
            {
                throw new InvalidOperationException("SweepOptions.BestModelOptions asks to log the best model, but the best trial returned no model (SweepTrialResult.Model).");
            }

            logged = await parent.LogMLNetModelAsync(mlContext, bestModel, modelOptions, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await parent.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        return new SweepResult { Trials = summaries, Best = best, BestModel = bestModel, LoggedModel = logged };
    }

    private static bool IsBetter(double candidate, double current, bool higherIsBetter) =>
        !double.IsNaN(candidate) && (double.IsNaN(current) || (higherIsBetter ? candidate > current : candidate < current));
}
