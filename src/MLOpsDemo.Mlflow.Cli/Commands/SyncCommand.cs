using System.CommandLine;
using System.Text.Json.Nodes;
using MLOpsDemo.Mlflow.Cli.Output;

namespace MLOpsDemo.Mlflow.Cli.Commands;

/// <summary><c>sync SOURCE TARGET</c>: the library's idempotent offline → server copy.</summary>
internal static class SyncCommand
{
    /// <summary>Builds the command.</summary>
    /// <param name="handlers">The wiring.</param>
    /// <returns>The command.</returns>
    public static Command Build(Handlers handlers)
    {
        var source = new Argument<string>("source") { Description = "The store to read, e.g. sqlite:///mlflow.db." };
        var target = new Argument<string>("target") { Description = "The store to write, e.g. https://mlflow.example.com." };
        var experiments = new Option<string[]>("--experiment-name", "-x") { Description = "Copy only this experiment (repeatable; default: every active one)." };
        var noArtifacts = new Option<bool>("--no-artifacts") { Description = "Copy runs without their artifacts." };
        var command = new Command("sync", "Copy experiments and runs from one store to another (idempotent: copied runs are skipped next time).")
        {
            source, target, experiments, noArtifacts,
        };
        handlers.Set(command, async (ctx, parse, ct) =>
        {
            var from = ctx.CreateClient(parse.GetValue(source));
            var to = ctx.CreateClient(parse.GetValue(target));
            var names = parse.GetValue(experiments);
            var options = new SyncOptions
            {
                ExperimentNames = names is { Length: > 0 } ? names : null,
                IncludeArtifacts = !parse.GetValue(noArtifacts),
            };
            var progress = new InlineProgress(p =>
            {
                if (ctx.Verbose && p.Message is { Length: > 0 } message)
                {
                    ctx.Info(message);
                }
            });
            var result = await new MlflowSync(from, to).RunAsync(options, progress, ct).ConfigureAwait(false);
            var json = new JsonObject
            {
                ["source"] = from.TrackingUri,
                ["target"] = to.TrackingUri,
                ["experiments_created"] = result.ExperimentsCreated,
                ["runs_copied"] = result.RunsCopied,
                ["runs_skipped"] = result.RunsSkipped,
                ["metric_points_copied"] = result.MetricPointsCopied,
                ["artifacts_skipped"] = result.ArtifactsSkipped,
                ["artifacts_skipped_reason"] = result.ArtifactsSkippedReason,
                ["run_id_map"] = CliJson.Map(result.RunIdMap),
            };
            var output = new CommandOutput(json)
                .AddLine($"Synced {from.TrackingUri} → {to.TrackingUri}: {result.RunsCopied} run(s) copied, {result.RunsSkipped} already there, {result.ExperimentsCreated} experiment(s) created, {result.MetricPointsCopied} metric point(s).");
            if (result.ArtifactsSkipped)
            {
                output.AddLine($"Artifacts skipped: {result.ArtifactsSkippedReason}");
            }

            ctx.Write(output);
            return ExitCodes.Success;
        });
        return command;
    }

    private sealed class InlineProgress(Action<SyncProgress> report) : IProgress<SyncProgress>
    {
        public void Report(SyncProgress value) => report(value);
    }
}
