using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MLOpsDemo.Mlflow.Cli.Output;

namespace MLOpsDemo.Mlflow.Cli.Commands;

/// <summary><c>runs list|show|compare|create|log|end</c>.</summary>
internal static class RunsCommands
{
    /// <summary>Builds the command group.</summary>
    /// <param name="handlers">The wiring.</param>
    /// <returns>The command.</returns>
    public static Command Build(Handlers handlers)
    {
        var command = new Command("runs", "List, show, compare, create, log to and end runs.");
        command.Add(BuildList(handlers));
        command.Add(BuildShow(handlers));
        command.Add(BuildCompare(handlers));
        command.Add(BuildCreate(handlers));
        command.Add(BuildLog(handlers));
        command.Add(BuildEnd(handlers));
        return command;
    }

    private static Command BuildList(Handlers handlers)
    {
        var experimentName = new Option<string>("--experiment-name", "-x") { Description = "The experiment.", Required = true };
        var filter = new Option<string?>("--filter") { Description = "MLflow search filter, e.g. \"metrics.accuracy > 0.9 and params.dataset = 'v3'\"." };
        var orderBy = new Option<string[]>("--order-by") { Description = "Order, e.g. \"metrics.accuracy DESC\" (repeatable)." };
        var max = new Option<int>("--max") { Description = "At most this many runs (default 100).", DefaultValueFactory = _ => 100 };
        var command = new Command("list", "Search the runs of an experiment.") { experimentName, filter, orderBy, max };
        handlers.Set(command, async (ctx, parse, ct) =>
        {
            var maxRuns = parse.GetValue(max);
            if (maxRuns <= 0)
            {
                throw CliException.Usage($"--max must be positive; got {maxRuns}.");
            }

            var filterText = parse.GetValue(filter);
            CommandContext.ParseRunFilter(filterText, "--filter");
            var experiment = await ctx.GetExperimentAsync(parse.GetValue(experimentName)!, ct).ConfigureAwait(false);
            var options = new SearchRunsOptions
            {
                ExperimentIds = [experiment.ExperimentId],
                Filter = filterText,
                OrderBy = parse.GetValue(orderBy) is { Length: > 0 } order ? order : null,
                PageSize = Math.Min(maxRuns, 1000),
            };
            var runs = new List<Run>();
            await foreach (var run in ctx.Client.Runs.SearchAsync(options, ct).ConfigureAwait(false))
            {
                runs.Add(run);
                if (runs.Count >= maxRuns)
                {
                    break;
                }
            }

            var output = new CommandOutput(new JsonObject { ["runs"] = new JsonArray(runs.Select(r => (JsonNode)CliJson.Run(r)).ToArray()) });
            output.AddTable(null, ["RUN ID", "NAME", "STATUS", "START", "METRICS"], runs.Select(r => (IReadOnlyList<string>)
            [
                r.Info.RunId,
                r.Info.RunName ?? "",
                CliJson.Status(r.Info.Status),
                CliJson.Time(r.Info.StartTime),
                string.Join(", ", r.Data.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => $"{m.Key}={CliJson.Format(m.Value)}")),
            ]));
            ctx.Write(output);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command BuildShow(Handlers handlers)
    {
        var runId = new Argument<string>("run") { Description = "The run id." };
        var command = new Command("show", "Show a run: info, params, latest metrics and tags.") { runId };
        handlers.Set(command, async (ctx, parse, ct) =>
        {
            var run = await ctx.Client.Runs.GetAsync(parse.GetValue(runId)!, ct).ConfigureAwait(false);
            var output = new CommandOutput(CliJson.Run(run));
            output.AddTable($"Run {run.Info.RunId}", ["FIELD", "VALUE"],
            [
                ["name", run.Info.RunName ?? ""],
                ["experiment_id", run.Info.ExperimentId],
                ["status", CliJson.Status(run.Info.Status)],
                ["start_time", CliJson.Time(run.Info.StartTime)],
                ["end_time", CliJson.Time(run.Info.EndTime)],
                ["artifact_uri", run.Info.ArtifactUri ?? ""],
            ]);
            output.AddTable("Params", ["KEY", "VALUE"], run.Data.Params.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (IReadOnlyList<string>)[p.Key, p.Value]));
            output.AddTable("Metrics", ["KEY", "VALUE", "STEP"], run.Data.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => (IReadOnlyList<string>)[m.Key, CliJson.Format(m.Value), m.Step.ToString(CultureInfo.InvariantCulture)]));
            output.AddTable("Tags", ["KEY", "VALUE"], run.Data.Tags.Where(t => !t.Key.StartsWith("mlflow.", StringComparison.Ordinal)).OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => (IReadOnlyList<string>)[t.Key, t.Value]));
            ctx.Write(output);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command BuildCompare(Handlers handlers)
    {
        var runIds = new Argument<string[]>("runs") { Description = "Two or more run ids.", Arity = new ArgumentArity(2, 100) };
        var command = new Command("compare", "Params and latest metrics of runs side by side; '*' marks the rows that differ.") { runIds };
        handlers.Set(command, async (ctx, parse, ct) =>
        {
            var runs = new List<Run>();
            foreach (var id in parse.GetValue(runIds)!)
            {
                runs.Add(await ctx.Client.Runs.GetAsync(id, ct).ConfigureAwait(false));
            }

            var paramKeys = runs.SelectMany(r => r.Data.Params.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
            var metricKeys = runs.SelectMany(r => r.Data.Metrics.Select(m => m.Key)).Distinct().Order(StringComparer.Ordinal).ToList();
            var paramRows = paramKeys.Select(key => (Key: key, Values: runs.Select(r => r.Data.Params.TryGetValue(key, out var v) ? v : null).ToList())).ToList();
            var metricRows = metricKeys.Select(key => (Key: key, Values: runs.Select(r => r.Data.Metrics.FirstOrDefault(m => m.Key == key)?.Value).ToList())).ToList();

            var json = new JsonObject
            {
                ["runs"] = new JsonArray(runs.Select(r => (JsonNode)new JsonObject { ["run_id"] = r.Info.RunId, ["run_name"] = r.Info.RunName, ["status"] = CliJson.Status(r.Info.Status) }).ToArray()),
                ["params"] = new JsonArray(paramRows.Select(row => (JsonNode)new JsonObject
                {
                    ["key"] = row.Key,
                    ["values"] = new JsonArray(row.Values.Select(v => (JsonNode?)v).ToArray()),
                    ["differs"] = row.Values.Distinct().Count() > 1,
                }).ToArray()),
                ["metrics"] = new JsonArray(metricRows.Select(row => (JsonNode)new JsonObject
                {
                    ["key"] = row.Key,
                    ["values"] = new JsonArray(row.Values.Select(CliJson.Number).ToArray()),
                    ["differs"] = row.Values.Distinct().Count() > 1,
                }).ToArray()),
            };
            var columns = new List<string> { "", "KEY" };
            columns.AddRange(runs.Select(r => r.Info.RunName is { Length: > 0 } name ? $"{name} ({r.Info.RunId[..Math.Min(8, r.Info.RunId.Length)]})" : r.Info.RunId));
            var output = new CommandOutput(json);
            output.AddTable("Params", columns, paramRows.Select(row => (IReadOnlyList<string>)[row.Values.Distinct().Count() > 1 ? "*" : "", row.Key, .. row.Values.Select(v => v ?? "-")]));
            output.AddTable("Metrics", columns, metricRows.Select(row => (IReadOnlyList<string>)[row.Values.Distinct().Count() > 1 ? "*" : "", row.Key, .. row.Values.Select(v => v is null ? "-" : CliJson.Format(v))]));
            ctx.Write(output);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command BuildCreate(Handlers handlers)
    {
        var experimentName = new Option<string>("--experiment-name", "-x") { Description = "The experiment (created when missing).", Required = true };
        var name = new Option<string?>("--name") { Description = "The run name." };
        var tags = new Option<string[]>("--tag") { Description = "A tag key=value (repeatable)." };
        var command = new Command("create", "Start a run (status RUNNING); prints its id (--output json: the run).") { experimentName, name, tags };
        handlers.Set(command, async (ctx, parse, ct) =>
        {
            var tagMap = KeyValues.ParseAll(parse.GetValue(tags), "--tag");
            var experiment = await ctx.Client.Experiments.GetOrCreateAsync(parse.GetValue(experimentName)!, ct).ConfigureAwait(false);
            var run = await ctx.Client.Runs.CreateAsync(experiment.ExperimentId, new CreateRunOptions { RunName = parse.GetValue(name), Tags = tagMap }, ct).ConfigureAwait(false);
            ctx.Write(new CommandOutput(CliJson.Run(run)) { PlainText = run.Info.RunId, Markdown = $"Run `{run.Info.RunId}` started in experiment `{experiment.Name}`.\n" });
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command BuildLog(Handlers handlers)
    {
        var runId = new Argument<string>("run") { Description = "The run id." };
        var metrics = new Option<string[]>("--metric", "-m") { Description = "A metric key=value or key=value@step (repeatable)." };
        var parameters = new Option<string[]>("--param", "-p") { Description = "A param key=value (repeatable)." };
        var tags = new Option<string[]>("--tag", "-t") { Description = "A tag key=value (repeatable)." };
        var fromFile = new Option<string[]>("--from-file") { Description = "Metrics from a JSON file ({\"accuracy\": 0.93} or {\"metrics\":{…},\"params\":{…},\"tags\":{…}}) or a CSV file (key,value[,step] lines) (repeatable)." };
        var command = new Command("log", "Log metrics, params and tags to a run in one batch.") { runId, metrics, parameters, tags, fromFile };
        handlers.Set(command, async (ctx, parse, ct) =>
        {
            var id = parse.GetValue(runId)!;
            var timestamp = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds();
            var metricList = new List<Metric>();
            foreach (var item in parse.GetValue(metrics) ?? [])
            {
                metricList.Add(ParseMetric(item, timestamp));
            }

            var paramMap = KeyValues.ParseAll(parse.GetValue(parameters), "--param");
            var tagMap = KeyValues.ParseAll(parse.GetValue(tags), "--tag");
            foreach (var file in parse.GetValue(fromFile) ?? [])
            {
                await ReadFileAsync(file, timestamp, metricList, paramMap, tagMap, ct).ConfigureAwait(false);
            }

            if (metricList.Count == 0 && paramMap.Count == 0 && tagMap.Count == 0)
            {
                throw CliException.Usage("Nothing to log. Give --metric, --param, --tag or --from-file.");
            }

            await ctx.Client.Runs.LogBatchAsync(id, metricList, paramMap, tagMap, ct).ConfigureAwait(false);
            var json = new JsonObject
            {
                ["run_id"] = id,
                ["metrics"] = new JsonArray(metricList.Select(m => (JsonNode)new JsonObject { ["key"] = m.Key, ["value"] = CliJson.Number(m.Value), ["step"] = m.Step, ["timestamp"] = m.Timestamp }).ToArray()),
                ["params"] = CliJson.Map(paramMap),
                ["tags"] = CliJson.Map(tagMap),
            };
            ctx.Write(new CommandOutput(json).AddLine($"Logged {metricList.Count} metric(s), {paramMap.Count} param(s) and {tagMap.Count} tag(s) to run {id}."));
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Parses <c>key=value[@step]</c>.</summary>
    /// <param name="item">The item.</param>
    /// <param name="timestamp">The timestamp to give it.</param>
    /// <returns>The metric.</returns>
    internal static Metric ParseMetric(string item, long timestamp)
    {
        var (key, text) = KeyValues.Parse(item, "--metric");
        long step = 0;
        var at = text.LastIndexOf('@');
        if (at >= 0)
        {
            if (!long.TryParse(text[(at + 1)..], NumberStyles.Integer, CultureInfo.InvariantCulture, out step))
            {
                throw CliException.Usage($"--metric '{item}': the step after '@' must be an integer, e.g. {key}=0.93@10.");
            }

            text = text[..at];
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            throw CliException.Usage($"--metric '{item}': '{text}' is not a number. Write e.g. {key}=0.93 or {key}=0.93@10.");
        }

        return new Metric(key, value, timestamp, step);
    }

    private static async Task ReadFileAsync(string path, long timestamp, List<Metric> metrics, Dictionary<string, string> parameters, Dictionary<string, string> tags, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            throw CliException.Usage($"--from-file '{path}' does not exist.");
        }

        var text = await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        if (path.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
        {
            var lineNumber = 0;
            foreach (var raw in text.Split('\n'))
            {
                lineNumber++;
                var line = raw.Trim();
                if (line.Length == 0 || line.StartsWith('#'))
                {
                    continue;
                }

                var cells = line.Split(',').Select(c => c.Trim()).ToArray();
                if (cells.Length is < 2 or > 3)
                {
                    throw CliException.Usage($"{path}:{lineNumber}: expected key,value[,step]; got '{line}'.");
                }

                if (!double.TryParse(cells[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    if (lineNumber == 1)
                    {
                        continue; // A header line such as key,value,step.
                    }

                    throw CliException.Usage($"{path}:{lineNumber}: '{cells[1]}' is not a number.");
                }

                long step = 0;
                if (cells.Length == 3 && !long.TryParse(cells[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out step))
                {
                    throw CliException.Usage($"{path}:{lineNumber}: the step '{cells[2]}' is not an integer.");
                }

                metrics.Add(new Metric(cells[0], value, timestamp, step));
            }

            return;
        }

        JsonObject root;
        try
        {
            root = JsonNode.Parse(text) as JsonObject ?? throw CliException.Usage($"{path}: expected a JSON object such as {{\"accuracy\": 0.93}}.");
        }
        catch (JsonException ex)
        {
            throw CliException.Usage($"{path} is not valid JSON: {ex.Message}");
        }

        var sectioned = root.ContainsKey("metrics") || root.ContainsKey("params") || root.ContainsKey("tags");
        var metricObject = sectioned ? root["metrics"] as JsonObject : root;
        foreach (var (key, node) in metricObject ?? [])
        {
            if (node is JsonValue v && v.TryGetValue<double>(out var value))
            {
                metrics.Add(new Metric(key, value, timestamp));
            }
            else
            {
                throw CliException.Usage($"{path}: metric '{key}' is not a number.");
            }
        }

        if (sectioned)
        {
            foreach (var (key, node) in root["params"] as JsonObject ?? [])
            {
                parameters[key] = ToText(node);
            }

            foreach (var (key, node) in root["tags"] as JsonObject ?? [])
            {
                tags[key] = ToText(node);
            }
        }
    }

    private static string ToText(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : node?.ToJsonString() ?? "";

    private static Command BuildEnd(Handlers handlers)
    {
        var runId = new Argument<string>("run") { Description = "The run id." };
        var status = new Option<string>("--status") { Description = "FINISHED (default), FAILED or KILLED.", DefaultValueFactory = _ => "FINISHED" };
        status.AcceptOnlyFromAmong(StringComparer.OrdinalIgnoreCase, "FINISHED", "FAILED", "KILLED");
        var command = new Command("end", "End a run with a status.") { runId, status };
        handlers.Set(command, async (ctx, parse, ct) =>
        {
            var runStatus = parse.GetValue(status)!.ToUpperInvariant() switch
            {
                "FAILED" => RunStatus.Failed,
                "KILLED" => RunStatus.Killed,
                _ => RunStatus.Finished,
            };
            var info = await ctx.Client.Runs.SetTerminatedAsync(parse.GetValue(runId)!, runStatus, cancellationToken: ct).ConfigureAwait(false);
            ctx.Write(new CommandOutput(CliJson.RunInfo(info)).AddLine($"Run {info.RunId} ended {CliJson.Status(info.Status)}."));
            return ExitCodes.Success;
        });
        return command;
    }
}
