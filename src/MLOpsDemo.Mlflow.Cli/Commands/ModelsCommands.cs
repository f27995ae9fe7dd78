using System.CommandLine;
using System.Text.Json.Nodes;
using MLOpsDemo.Mlflow.Cli.Gate;
using MLOpsDemo.Mlflow.Cli.Output;

namespace MLOpsDemo.Mlflow.Cli.Commands;

/// <summary><c>models list|show|register|download|promote</c>.</summary>
internal static class ModelsCommands
{
    /// <summary>Builds the command group.</summary>
    /// <param name="handlers">The wiring.</param>
    /// <returns>The command.</returns>
    public static Command Build(Handlers handlers)
    {
        var command = new Command("models", "Registered models: list, show, register, download, and promote behind a gate.");
        command.Add(BuildList(handlers));
        command.Add(BuildShow(handlers));
        command.Add(BuildRegister(handlers));
        command.Add(BuildDownload(handlers));
        command.Add(BuildPromote(handlers));
        command.Add(BuildAlias(handlers));
        return command;
    }

    private static Command BuildList(Handlers handlers)
    {
        var filter = new Option<string?>("--filter") { Description = "MLflow filter, e.g. \"name LIKE 'fraud-%'\"." };
        var max = new Option<int>("--max") { Description = "At most this many models (default 100).", DefaultValueFactory = _ => 100 };
        var command = new Command("list", "List registered models with their aliases.") { filter, max };
        handlers.Set(command, async (ctx, parse, ct) =>
        {
            var maxModels = parse.GetValue(max);
            if (maxModels <= 0)
            {
                throw CliException.Usage($"--max must be positive; got {maxModels}.");
            }

            var models = new List<RegisteredModel>();
            await foreach (var model in ctx.Client.ModelRegistry.SearchAsync(new SearchRegisteredModelsOptions { Filter = parse.GetValue(filter) }, ct).ConfigureAwait(false))
            {
                models.Add(model);
                if (models.Count >= maxModels)
                {
                    break;
                }
            }

            var output = new CommandOutput(new JsonObject { ["models"] = new JsonArray(models.Select(m => (JsonNode)CliJson.RegisteredModel(m)).ToArray()) });
            output.AddTable(null, ["NAME", "ALIASES", "LATEST VERSION", "UPDATED"], models.Select(m => (IReadOnlyList<string>)
            [
                m.Name,
                string.Join(", ", m.Aliases.OrderBy(a => a.Alias, StringComparer.Ordinal).Select(a => $"{a.Alias}→{a.Version}")),
                m.LatestVersions.Count == 0 ? "" : m.LatestVersions.MaxBy(v => v.VersionNumber)!.Version,
                CliJson.Time(m.LastUpdatedTimestamp),
            ]));
            ctx.Write(output);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command BuildShow(Handlers handlers)
    {
        var name = new Argument<string>("name") { Description = "The registered model name." };
        var command = new Command("show", "Show a registered model, its aliases and all its versions.") { name };
        handlers.Set(command, async (ctx, parse, ct) =>
        {
            var modelName = parse.GetValue(name)!;
            var model = await ctx.Client.ModelRegistry.GetAsync(modelName, ct).ConfigureAwait(false);
            var versions = new List<ModelVersion>();
            await foreach (var version in ctx.Client.ModelRegistry.SearchVersionsAsync(new SearchModelVersionsOptions { Filter = PromotionGate.NameFilter(modelName) }, ct).ConfigureAwait(false))
            {
                versions.Add(version);
            }

            versions.Sort((a, b) => b.VersionNumber.CompareTo(a.VersionNumber));
            versions = WithAliases(versions, model);
            var json = CliJson.RegisteredModel(model);
            json["versions"] = new JsonArray(versions.Select(v => (JsonNode)CliJson.ModelVersion(v)).ToArray());
            var output = new CommandOutput(json);
            output.AddTable($"Model {model.Name}", ["ALIAS", "VERSION"], model.Aliases.OrderBy(a => a.Alias, StringComparer.Ordinal).Select(a => (IReadOnlyList<string>)[a.Alias, a.Version]));
            output.AddTable("Versions", ["VERSION", "ALIASES", "STATUS", "RUN ID", "CREATED"], versions.Select(v => (IReadOnlyList<string>)
                [v.Version, string.Join(", ", v.Aliases), v.Status ?? "", v.RunId ?? "", CliJson.Time(v.CreationTimestamp)]));
            ctx.Write(output);
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>
    /// Fills each version's aliases from the registered model's alias list (MLflow 2.x leaves them out of version
    /// searches).
    /// </summary>
    /// <param name="versions">The versions.</param>
    /// <param name="model">Their registered model.</param>
    /// <returns>The versions with their aliases.</returns>
    internal static List<ModelVersion> WithAliases(IEnumerable<ModelVersion> versions, RegisteredModel model) =>
        versions.Select(v => v.Name != model.Name || v.Aliases.Count > 0
            ? v
            : v with { Aliases = model.Aliases.Where(a => a.Version == v.Version).Select(a => a.Alias).Order(StringComparer.Ordinal).ToList() }).ToList();

    private static Command BuildRegister(Handlers handlers)
    {
        var source = new Argument<string>("source") { Description = "The model: runs:/RUN/model, models:/<model_id> or an artifact URI." };
        var name = new Option<string>("--name", "-n") { Description = "The registered model (created when missing).", Required = true };
        var alias = new Option<string?>("--alias") { Description = "Point this alias at the new version (no gate; use 'models promote' for gated moves)." };
        var tags = new Option<string[]>("--tag") { Description = "A version tag key=value (repeatable)." };
        var description = new Option<string?>("--description") { Description = "The version's description." };
        var command = new Command("register", "Register a model version; prints the version.") { source, name, alias, tags, description };
        handlers.Set(command, async (ctx, parse, ct) =>
        {
            var modelName = parse.GetValue(name)!;
            var sourceUri = parse.GetValue(source)!;
            var tagMap = KeyValues.ParseAll(parse.GetValue(tags), "--tag");
            var registry = ctx.Client.ModelRegistry;

            string artifactSource = sourceUri;
            string? runId = null;
            string? modelId = null;
            if (sourceUri.StartsWith("runs:/", StringComparison.OrdinalIgnoreCase) || sourceUri.StartsWith("models:/", StringComparison.OrdinalIgnoreCase))
            {
                var resolved = await registry.ResolveModelUriAsync(sourceUri, ct).ConfigureAwait(false);
                runId = resolved.RunId;
                modelId = resolved.ModelId;
                artifactSource = resolved.Kind == ModelUriKind.LoggedModel ? sourceUri : resolved.ArtifactUri;
            }

            try
            {
                await registry.GetAsync(modelName, ct).ConfigureAwait(false);
            }
            catch (MlflowException ex) when (ex.ErrorCode == MlflowErrorCodes.ResourceDoesNotExist)
            {
                await registry.CreateAsync(modelName, cancellationToken: ct).ConfigureAwait(false);
            }

            var version = await registry.CreateVersionAsync(modelName, artifactSource, new CreateModelVersionOptions
            {
                RunId = runId,
                ModelId = modelId,
                Tags = tagMap.Count > 0 ? tagMap : null,
                Description = parse.GetValue(description),
            }, ct).ConfigureAwait(false);
            if (parse.GetValue(alias) is { Length: > 0 } aliasName)
            {
                await registry.SetAliasAsync(modelName, aliasName, version.Version, ct).ConfigureAwait(false);
                version = await registry.GetVersionAsync(modelName, version.Version, ct).ConfigureAwait(false);
            }

            ctx.Write(new CommandOutput(CliJson.ModelVersion(version))
            {
                PlainText = version.Version,
                Markdown = $"Registered `{modelName}` version {version.Version}.\n",
            });
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command BuildDownload(Handlers handlers)
    {
        var uri = new Argument<string>("uri") { Description = "The model URI: models:/NAME@ALIAS, models:/NAME/VERSION, models:/NAME/latest, runs:/RUN/model." };
        var destination = new Argument<string>("dest") { Description = "The local directory." };
        var command = new Command("download", "Download a model and read its MLmodel.") { uri, destination };
        handlers.Set(command, async (ctx, parse, ct) =>
        {
            var dest = Path.GetFullPath(parse.GetValue(destination)!);
            var modelUri = parse.GetValue(uri)!;
            ctx.Info($"Downloading {modelUri} …");
            var downloaded = await ctx.Client.ModelRegistry.DownloadModelAsync(modelUri, dest, ct).ConfigureAwait(false);
            var json = new JsonObject
            {
                ["uri"] = modelUri,
                ["local_path"] = downloaded.LocalPath,
                ["name"] = downloaded.Source.Name,
                ["version"] = downloaded.Source.Version,
                ["alias"] = downloaded.Source.Alias,
                ["run_id"] = downloaded.Source.RunId ?? downloaded.Model.RunId,
                ["model_id"] = downloaded.Source.ModelId ?? downloaded.Model.ModelId,
                ["artifact_uri"] = downloaded.Source.ArtifactUri,
                ["flavors"] = new JsonArray(downloaded.Model.Flavors.Keys.Order(StringComparer.Ordinal).Select(f => (JsonNode?)f).ToArray()),
            };
            var versionText = downloaded.Source.Version is { } v ? $" (version {v})" : "";
            ctx.Write(new CommandOutput(json).AddLine($"Downloaded {modelUri}{versionText} to {downloaded.LocalPath}; flavors: {string.Join(", ", downloaded.Model.Flavors.Keys)}."));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command BuildAlias(Handlers handlers)
    {
        var command = new Command("alias", "Read, set or delete an alias without a gate (e.g. mark the new version as challenger).");

        var getName = new Argument<string>("name") { Description = "The registered model." };
        var getAlias = new Argument<string>("alias") { Description = "The alias." };
        var get = new Command("get", "Print the version an alias points at; exit 4 when it is not set.") { getName, getAlias };
        handlers.Set(get, async (ctx, parse, ct) =>
        {
            var name = parse.GetValue(getName)!;
            var alias = parse.GetValue(getAlias)!;
            var version = await ctx.Client.ModelRegistry.TryGetVersionByAliasAsync(name, alias, ct).ConfigureAwait(false)
                ?? throw CliException.NotFound($"Model '{name}' has no alias '{alias}'.");
            ctx.Write(new CommandOutput(CliJson.ModelVersion(version)) { PlainText = version.Version, Markdown = $"`{name}@{alias}` is version {version.Version}.\n" });
            return ExitCodes.Success;
        });
        command.Add(get);

        var setName = new Argument<string>("name") { Description = "The registered model." };
        var setAlias = new Argument<string>("alias") { Description = "The alias." };
        var setVersion = new Argument<string>("version") { Description = "The version number, or 'latest' for the highest." };
        var set = new Command("set", "Point an alias at a version (no gate).") { setName, setAlias, setVersion };
        handlers.Set(set, async (ctx, parse, ct) =>
        {
            var name = parse.GetValue(setName)!;
            var alias = parse.GetValue(setAlias)!;
            var versionText = parse.GetValue(setVersion)!;
            var version = string.Equals(versionText, "latest", StringComparison.OrdinalIgnoreCase)
                ? await PromotionGate.GetLatestVersionAsync(ctx.Client, name, ct).ConfigureAwait(false)
                : await ctx.Client.ModelRegistry.GetVersionAsync(name, versionText, ct).ConfigureAwait(false);
            await ctx.Client.ModelRegistry.SetAliasAsync(name, alias, version.Version, ct).ConfigureAwait(false);
            var json = new JsonObject { ["name"] = name, ["alias"] = alias, ["version"] = version.Version };
            ctx.Write(new CommandOutput(json) { PlainText = version.Version, Markdown = $"`{name}@{alias}` now points at version {version.Version}.\n" });
            return ExitCodes.Success;
        });
        command.Add(set);

        var deleteName = new Argument<string>("name") { Description = "The registered model." };
        var deleteAlias = new Argument<string>("alias") { Description = "The alias." };
        var delete = new Command("delete", "Delete an alias (the version stays).") { deleteName, deleteAlias };
        handlers.Set(delete, async (ctx, parse, ct) =>
        {
            var name = parse.GetValue(deleteName)!;
            var alias = parse.GetValue(deleteAlias)!;
            var holder = await ctx.Client.ModelRegistry.TryGetVersionByAliasAsync(name, alias, ct).ConfigureAwait(false)
                ?? throw CliException.NotFound($"Model '{name}' has no alias '{alias}'.");
            await ctx.Client.ModelRegistry.DeleteAliasAsync(name, alias, ct).ConfigureAwait(false);
            var json = new JsonObject { ["name"] = name, ["alias"] = alias, ["previous_version"] = holder.Version };
            ctx.Write(new CommandOutput(json).AddLine($"Deleted alias '{alias}' of '{name}' (was version {holder.Version})."));
            return ExitCodes.Success;
        });
        command.Add(delete);
        return command;
    }

    private static Command BuildPromote(Handlers handlers)
    {
        var name = new Argument<string>("name") { Description = "The registered model." };
        var version = new Option<string?>("--version") { Description = "The candidate version (or 'latest')." };
        var fromAlias = new Option<string?>("--from-alias") { Description = "The alias naming the candidate, e.g. challenger." };
        var toAlias = new Option<string>("--to-alias") { Description = "The alias to move, e.g. champion.", Required = true };
        var require = new Option<string?>("--require") { Description = "Requirement on the candidate's source run, in MLflow's filter grammar: \"metrics.accuracy >= 0.9 and params.dataset = 'v3'\"." };
        var mustBeat = new Option<string?>("--must-beat") { Description = "An alias (e.g. champion) or version number the candidate must beat on --metric." };
        var metric = new Option<string?>("--metric") { Description = "The run metric of --must-beat." };
        var lowerIsBetter = new Option<bool>("--lower-is-better") { Description = "For --must-beat: lower values of --metric are better (loss, error)." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Decide and report, but do not move the alias." };
        var command = new Command("promote", "Move an alias to a candidate version only when the gate passes; exit 1 (alias unchanged) when refused.")
        {
            name, version, fromAlias, toAlias, require, mustBeat, metric, lowerIsBetter, dryRun,
        };
        handlers.Set(command, async (ctx, parse, ct) =>
        {
            var request = new PromotionRequest(
                parse.GetValue(name)!,
                parse.GetValue(version),
                parse.GetValue(fromAlias),
                parse.GetValue(toAlias)!,
                parse.GetValue(require),
                parse.GetValue(mustBeat),
                parse.GetValue(metric),
                parse.GetValue(lowerIsBetter),
                parse.GetValue(dryRun));
            var (json, lines, passed) = await PromotionGate.RunAsync(ctx.Client, request, ct).ConfigureAwait(false);
            var output = new CommandOutput(json);
            foreach (var line in lines)
            {
                output.AddLine(line);
            }

            ctx.Write(output);
            return passed ? ExitCodes.Success : ExitCodes.CheckFailed;
        });
        return command;
    }
}
