using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using MLOpsDemo.Mlflow.Cli.Output;

namespace MLOpsDemo.Mlflow.Cli.Commands;

/// <summary><c>report RUN</c>: a summary of a run for a pipeline's step summary or a pull-request comment.</summary>
internal static class ReportCommand
{
    private static readonly string[] s_lowerIsBetterHints = ["loss", "error", "err", "mse", "rmse", "mae", "mape", "perplexity"];

    /// <summary>Builds the command.</summary>
    /// <param name="handlers">The wiring.</param>
    /// <returns>The command.</returns>
    public static Command Build(Handlers handlers)
    {
        var target = new Argument<string>("run") { Description = "A run id, or a model URI (models:/NAME@ALIAS, models:/NAME/VERSION) whose source run to report." };
        var lowerIsBetter = new Option<string[]>("--lower-is-better") { Description = "Metrics whose best value is the lowest (repeatable). Default: keys containing loss, error, mse, rmse, mae, mape or perplexity." };
        var command = new Command("report", "Summarize a run (params, final and best metrics, registered versions, UI link); --output markdown for $GITHUB_STEP_SUMMARY.")
        {
            target, lowerIsBetter,
        };
        handlers.Set(command, async (ctx, parse, ct) =>
        {
            var runId = await ResolveRunIdAsync(ctx, parse.GetValue(target)!, ct).ConfigureAwait(false);
            var lower = new HashSet<string>(parse.GetValue(lowerIsBetter) ?? [], StringComparer.Ordinal);
            var run = await ctx.Client.Runs.GetAsync(runId, ct).ConfigureAwait(false);
            var experiment = await ctx.Client.Experiments.GetAsync(run.Info.ExperimentId, ct).ConfigureAwait(false);

            var metrics = new List<MetricSummary>();
            foreach (var latest in run.Data.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal))
            {
                var higherIsBetter = !lower.Contains(latest.Key) && !s_lowerIsBetterHints.Any(h => latest.Key.Contains(h, StringComparison.OrdinalIgnoreCase));
                var history = new List<Metric>();
                await foreach (var point in ctx.Client.Runs.GetMetricHistoryAsync(runId, latest.Key, cancellationToken: ct).ConfigureAwait(false))
                {
                    history.Add(point);
                }

                var finite = history.Where(p => double.IsFinite(p.Value)).ToList();
                var best = finite.Count == 0 ? null : higherIsBetter ? finite.MaxBy(p => p.Value) : finite.MinBy(p => p.Value);
                metrics.Add(new MetricSummary(latest.Key, latest.Value, latest.Step, best?.Value, best?.Step, higherIsBetter, history.Count));
            }

            var versions = new List<ModelVersion>();
            try
            {
                await foreach (var version in ctx.Client.ModelRegistry.SearchVersionsAsync(new SearchModelVersionsOptions { Filter = $"run_id = '{runId}'" }, ct).ConfigureAwait(false))
                {
                    versions.Add(version);
                }
            }
            catch (NotSupportedException)
            {
                // A store without a model registry: no versions to list.
            }

            foreach (var name in versions.Select(v => v.Name).Distinct(StringComparer.Ordinal).ToList())
            {
                var model = await ctx.Client.ModelRegistry.GetAsync(name, ct).ConfigureAwait(false);
                versions = ModelsCommands.WithAliases(versions, model);
            }

            versions.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name) is var byName and not 0 ? byName : a.VersionNumber.CompareTo(b.VersionNumber));
            var link = RunLink(ctx.Client.TrackingUri, run.Info);
            var duration = run.Info.StartTime is { } start ? (run.Info.EndTime ?? TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds()) - start : (long?)null;

            var tables = new List<OutputTable>
            {
                new(null, ["FIELD", "VALUE"],
                [
                    ["run", run.Info.RunId],
                    ["name", run.Info.RunName ?? ""],
                    ["experiment", $"{experiment.Name} ({experiment.ExperimentId})"],
                    ["status", CliJson.Status(run.Info.Status)],
                    ["duration", FormatDuration(duration)],
                    ["link", link ?? ""],
                ]),
                new("Params", ["PARAM", "VALUE"], run.Data.Params.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (IReadOnlyList<string>)[p.Key, p.Value]).ToList()),
                new("Metrics", ["METRIC", "FINAL", "STEP", "BEST", "BEST STEP"], metrics.Select(m => (IReadOnlyList<string>)
                    [m.Key, CliJson.Format(m.Final), m.FinalStep.ToString(CultureInfo.InvariantCulture), CliJson.Format(m.Best), m.BestStep?.ToString(CultureInfo.InvariantCulture) ?? "", ]).ToList()),
                new("Registered model versions", ["MODEL", "VERSION", "ALIASES", "STATUS"], versions.Select(v => (IReadOnlyList<string>)[v.Name, v.Version, string.Join(", ", v.Aliases), v.Status ?? ""]).ToList()),
            };
            var markdown = ToMarkdown(run, experiment, link, duration, tables);
            var json = new JsonObject
            {
                ["run"] = CliJson.Run(run),
                ["experiment_name"] = experiment.Name,
                ["duration_ms"] = duration,
                ["link"] = link,
                ["metrics"] = new JsonArray(metrics.Select(m => (JsonNode)new JsonObject
                {
                    ["key"] = m.Key,
                    ["final"] = CliJson.Number(m.Final),
                    ["final_step"] = m.FinalStep,
                    ["best"] = CliJson.Number(m.Best),
                    ["best_step"] = m.BestStep,
                    ["higher_is_better"] = m.HigherIsBetter,
                    ["points"] = m.Points,
                }).ToArray()),
                ["registered_versions"] = new JsonArray(versions.Select(v => (JsonNode)CliJson.ModelVersion(v)).ToArray()),
                ["markdown"] = markdown,
            };
            var output = new CommandOutput(json) { Markdown = markdown };
            output.Tables.AddRange(tables);
            ctx.Write(output);
            return ExitCodes.Success;
        });
        return command;
    }

    private static async Task<string> ResolveRunIdAsync(CommandContext ctx, string target, CancellationToken cancellationToken)
    {
        if (!target.StartsWith("models:/", StringComparison.OrdinalIgnoreCase) && !target.StartsWith("runs:/", StringComparison.OrdinalIgnoreCase))
        {
            return target;
        }

        var resolved = await ctx.Client.ModelRegistry.ResolveModelUriAsync(target, cancellationToken).ConfigureAwait(false);
        if (resolved.RunId is { Length: > 0 } runId)
        {
            return runId;
        }

        if (resolved.Name is not null && resolved.Version is not null)
        {
            var version = await ctx.Client.ModelRegistry.GetVersionAsync(resolved.Name, resolved.Version, cancellationToken).ConfigureAwait(false);
            if (version.RunId is { Length: > 0 } versionRun)
            {
                return versionRun;
            }
        }

        throw CliException.NotFound($"'{target}' has no source run to report.");
    }

    /// <summary>The MLflow UI link of a run when the tracking URI is a server.</summary>
    /// <param name="trackingUri">The (redacted) tracking URI.</param>
    /// <param name="info">The run.</param>
    /// <returns>The link, or <see langword="null"/> for a local store.</returns>
    internal static string? RunLink(string trackingUri, RunInfo info) =>
        trackingUri.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || trackingUri.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
            ? $"{trackingUri.TrimEnd('/')}/#/experiments/{info.ExperimentId}/runs/{info.RunId}"
            : null;

    private static string FormatDuration(long? milliseconds) => milliseconds switch
    {
        null => "",
        < 60_000 => string.Create(CultureInfo.InvariantCulture, $"{milliseconds.Value / 1000.0:0.0} s"),
        var ms => string.Create(CultureInfo.InvariantCulture, $"{ms.Value / 60_000} min {ms.Value % 60_000 / 1000} s"),
    };

    private static string ToMarkdown(Run run, Experiment experiment, string? link, long? duration, List<OutputTable> tables)
    {
        var text = new StringBuilder();
        var title = run.Info.RunName is { Length: > 0 } name ? name : run.Info.RunId;
        text.Append("## MLflow run `").Append(title).Append("`\n\n");
        var runCell = link is null ? $"`{run.Info.RunId}`" : $"[`{run.Info.RunId}`]({link})";
        text.Append("| | |\n|---|---|\n");
        text.Append("| Run | ").Append(runCell).Append(" |\n");
        text.Append("| Experiment | ").Append(Renderer.EscapeMarkdown(experiment.Name)).Append(" (").Append(experiment.ExperimentId).Append(") |\n");
        text.Append("| Status | ").Append(CliJson.Status(run.Info.Status)).Append(" |\n");
        text.Append("| Duration | ").Append(FormatDuration(duration)).Append(" |\n\n");
        foreach (var table in tables.Skip(1))
        {
            Renderer.AppendMarkdownTable(text, table);
        }

        return text.ToString();
    }

    private sealed record MetricSummary(string Key, double Final, long FinalStep, double? Best, long? BestStep, bool HigherIsBetter, int Points);
}
