using System.CommandLine;
using System.Text.Json.Nodes;
using MLOpsDemo.Mlflow.Cli.Output;
using MLOpsDemo.Mlflow.Kubernetes;
using MLOpsDemo.Mlflow.Projects;

namespace MLOpsDemo.Mlflow.Cli.Commands;

/// <summary><c>projects run</c>.</summary>
internal static class ProjectsCommands
{
    /// <summary>Builds the command group.</summary>
    /// <param name="handlers">The wiring.</param>
    /// <returns>The command.</returns>
    public static Command Build(Handlers handlers)
    {
        var command = new Command("projects", "Run MLflow projects.");
        var uri = new Argument<string>("uri") { Description = "The project: a local directory or a Git URI (with #subdirectory)." };
        var entryPoint = new Option<string>("--entry-point", "-e") { Description = "The entry point (default main).", DefaultValueFactory = _ => "main" };
        var parameters = new Option<string[]>("--param", "-P") { Description = "A parameter key=value (repeatable)." };
        var experimentName = new Option<string?>("--experiment-name", "-x") { Description = "The experiment of the run." };
        var runName = new Option<string?>("--run-name") { Description = "The run name." };
        var gitVersion = new Option<string?>("--version") { Description = "The Git commit or branch of a Git project." };
        var backendName = new Option<string>("--backend", "-b") { Description = "Where the entry point runs: local (default) or kubernetes.", DefaultValueFactory = _ => "local" };
        var backendConfig = new Option<string?>("--backend-config", "-c") { Description = "The backend's configuration: a kubernetes_config.json path or inline JSON, as for `mlflow run`." };
        var run = new Command("run", "Run a project: streams its output; the exit code follows the run (FINISHED 0, FAILED 1, KILLED 130).")
        {
            uri, entryPoint, parameters, experimentName, runName, gitVersion, backendName, backendConfig,
        };
        handlers.Set(run, async (ctx, parse, ct) =>
        {
            var parameterMap = KeyValues.ParseAll(parse.GetValue(parameters), "-P");
            var backend = CreateBackend(parse.GetValue(backendName) ?? "local", parse.GetValue(backendConfig));

            // With JSON output, stdout carries only the final document: the child's output goes to stderr.
            var childOut = ctx.Format == OutputFormat.Json ? ctx.Host.Error : ctx.Host.Out;
            var gate = new Lock();
            var options = new ProjectRunOptions
            {
                EntryPoint = parse.GetValue(entryPoint) ?? "main",
                Parameters = parameterMap,
                ExperimentName = parse.GetValue(experimentName),
                RunName = parse.GetValue(runName),
                Version = parse.GetValue(gitVersion),
                Backend = backend,
                WriteOutputToConsole = false,
                OutputReceived = line =>
                {
                    lock (gate)
                    {
                        (line.IsError ? ctx.Host.Error : childOut).WriteLine(line.Text);
                    }
                },
            };
            var result = await ctx.Client.Projects.RunAsync(parse.GetValue(uri)!, options, ct).ConfigureAwait(false);
            var exitCode = result.Status switch
            {
                RunStatus.Finished => ExitCodes.Success,
                RunStatus.Killed => ExitCodes.Cancelled,
                _ => ExitCodes.CheckFailed,
            };
            var json = new JsonObject
            {
                ["run_id"] = result.RunId,
                ["experiment_id"] = result.ExperimentId,
                ["status"] = CliJson.Status(result.Status),
                ["exit_code"] = result.ExitCode,
                ["command"] = result.Command,
            };
            ctx.Write(new CommandOutput(json).AddLine($"Run {result.RunId} ended {CliJson.Status(result.Status)} (exit code {result.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"})."));
            return exitCode;
        });
        command.Add(run);
        return command;
    }

    /// <summary>The backend named by <c>--backend</c>, configured by <c>--backend-config</c> (checked before any run).</summary>
    private static KubernetesProjectBackend? CreateBackend(string name, string? config)
    {
        switch (name)
        {
            case "local":
                return null;
            case "kubernetes" when config is null:
                throw CliException.Usage("--backend kubernetes needs --backend-config with a kubernetes_config.json path or inline JSON.");
            case "kubernetes":
                try
                {
                    return new KubernetesProjectBackend(KubernetesBackendConfig.Load(config));
                }
                catch (Exception ex) when (ex is ArgumentException or FileNotFoundException or DirectoryNotFoundException)
                {
                    throw CliException.Usage($"--backend-config: {ex.Message}");
                }

            default:
                throw CliException.Usage($"--backend '{name}' is not supported. Use local or kubernetes.");
        }
    }
}
