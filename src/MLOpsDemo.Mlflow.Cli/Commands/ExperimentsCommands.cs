using System.CommandLine;
using System.Text.Json.Nodes;
using MLOpsDemo.Mlflow.Cli.Output;

namespace MLOpsDemo.Mlflow.Cli.Commands;

/// <summary><c>experiments list|create|delete|restore</c>.</summary>
internal static class ExperimentsCommands
{
    /// <summary>Builds the command group.</summary>
    /// <param name="handlers">The wiring.</param>
    /// <returns>The command.</returns>
    public static Command Build(Handlers handlers)
    {
        var command = new Command("experiments", "List, create, delete and restore experiments.");

        var view = new Option<string>("--view") { Description = "active (default), deleted or all.", DefaultValueFactory = _ => "active" };
        view.AcceptOnlyFromAmong("active", "deleted", "all");
        var filter = new Option<string?>("--filter") { Description = "MLflow filter, e.g. \"name LIKE 'ci-%'\"." };
        var list = new Command("list", "List experiments.") { view, filter };
        handlers.Set(list, async (ctx, parse, ct) =>
        {
            var options = new SearchExperimentsOptions
            {
                Filter = parse.GetValue(filter),
                ViewType = parse.GetValue(view) switch { "deleted" => ViewType.DeletedOnly, "all" => ViewType.All, _ => ViewType.ActiveOnly },
            };
            var experiments = new List<Experiment>();
            await foreach (var experiment in ctx.Client.Experiments.SearchAsync(options, ct).ConfigureAwait(false))
            {
                experiments.Add(experiment);
            }

            var output = new CommandOutput(new JsonObject { ["experiments"] = new JsonArray(experiments.Select(e => (JsonNode)CliJson.Experiment(e)).ToArray()) });
            output.AddTable(null, ["ID", "NAME", "STAGE", "ARTIFACT LOCATION"], experiments.Select(e => (IReadOnlyList<string>)[e.ExperimentId, e.Name, e.LifecycleStage ?? "", e.ArtifactLocation ?? ""]));
            ctx.Write(output);
            return ExitCodes.Success;
        });
        command.Add(list);

        var createName = new Argument<string>("name") { Description = "The experiment name." };
        var artifactLocation = new Option<string?>("--artifact-location") { Description = "Where its runs store artifacts (default: the server's)." };
        var tags = new Option<string[]>("--tag") { Description = "A tag key=value (repeatable).", AllowMultipleArgumentsPerToken = false };
        var ifNotExists = new Option<bool>("--if-not-exists") { Description = "Succeed with the existing experiment when the name is taken (idempotent pipelines)." };
        var create = new Command("create", "Create an experiment; prints its id.") { createName, artifactLocation, tags, ifNotExists };
        handlers.Set(create, async (ctx, parse, ct) =>
        {
            var name = parse.GetValue(createName)!;
            var tagMap = KeyValues.ParseAll(parse.GetValue(tags), "--tag");
            Experiment? existing = null;
            if (parse.GetValue(ifNotExists))
            {
                existing = await ctx.Client.Experiments.GetByNameAsync(name, ct).ConfigureAwait(false);
            }

            var id = existing?.ExperimentId
                ?? await ctx.Client.Experiments.CreateAsync(name, parse.GetValue(artifactLocation), tagMap.Count > 0 ? tagMap : null, ct).ConfigureAwait(false);
            var experiment = existing ?? await ctx.Client.Experiments.GetAsync(id, ct).ConfigureAwait(false);
            var json = CliJson.Experiment(experiment);
            json["created"] = existing is null;
            ctx.Write(new CommandOutput(json) { PlainText = id, Markdown = $"Experiment `{name}`: {id}\n" });
            return ExitCodes.Success;
        });
        command.Add(create);

        command.Add(BuildLifecycle(handlers, "delete", "Delete an experiment (it can be restored).", deleted: true));
        command.Add(BuildLifecycle(handlers, "restore", "Restore a deleted experiment.", deleted: false));
        return command;
    }

    private static Command BuildLifecycle(Handlers handlers, string name, string description, bool deleted)
    {
        var experimentArgument = new Argument<string>("experiment") { Description = "The experiment name (or id)." };
        var command = new Command(name, description) { experimentArgument };
        handlers.Set(command, async (ctx, parse, ct) =>
        {
            var experiment = await ctx.GetExperimentAsync(parse.GetValue(experimentArgument)!, ct).ConfigureAwait(false);
            if (deleted)
            {
                await ctx.Client.Experiments.DeleteAsync(experiment.ExperimentId, ct).ConfigureAwait(false);
            }
            else
            {
                await ctx.Client.Experiments.RestoreAsync(experiment.ExperimentId, ct).ConfigureAwait(false);
            }

            var after = await ctx.Client.Experiments.GetAsync(experiment.ExperimentId, ct).ConfigureAwait(false);
            var sentence = $"Experiment '{after.Name}' ({after.ExperimentId}) is {after.LifecycleStage}.";
            ctx.Write(new CommandOutput(CliJson.Experiment(after)).AddLine(sentence));
            return ExitCodes.Success;
        });
        return command;
    }
}
