using System.Text.Json.Nodes;
using MLOpsDemo.Mlflow.TestSupport;

namespace MLOpsDemo.Mlflow.Cli.Tests;

/// <summary>What one in-process <c>dotnet mlflow</c> invocation printed and returned.</summary>
/// <param name="ExitCode">The exit code.</param>
/// <param name="Out">Standard output.</param>
/// <param name="Error">Standard error.</param>
public sealed record CliResult(int ExitCode, string Out, string Error)
{
    /// <summary>Stdout parsed as JSON.</summary>
    public JsonNode Json => JsonNode.Parse(Out) ?? throw new InvalidOperationException("stdout is JSON null");

    /// <summary>Fails unless the exit code is <paramref name="expected"/>, showing both streams.</summary>
    /// <param name="expected">The expected exit code.</param>
    /// <returns>This result.</returns>
    public CliResult Expect(int expected)
    {
        Assert.True(ExitCode == expected, $"exit code {ExitCode}, expected {expected}\nstdout:\n{Out}\nstderr:\n{Error}");
        return this;
    }

    /// <summary>Fails unless the exit code is 0.</summary>
    /// <returns>This result.</returns>
    public CliResult Ok() => Expect(0);
}

/// <summary>
/// A tracking store to run commands against: <c>local</c> (a new <c>mlflow.db</c> in a temporary folder), or <c>3</c> /
/// <c>2</c> (the real MLflow 3.11 / 2.22 servers of <c>MLFLOW_TEST_TRACKING_URI_3/_2</c>; the test skips visibly when unset).
/// </summary>
public sealed class CliTarget : IDisposable
{
    private readonly Dictionary<string, string> _environment;

    private CliTarget(string name, string trackingUri, string folder)
    {
        Name = name;
        TrackingUri = trackingUri;
        Folder = folder;
        _environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["CI"] = "true",
        };
    }

    /// <summary>The target's name.</summary>
    public string Name { get; }

    /// <summary>Whether it is the local store.</summary>
    public bool IsLocal => Name == "local";

    /// <summary>The tracking URI passed with <c>--tracking-uri</c>.</summary>
    public string TrackingUri { get; }

    /// <summary>A temporary folder owned by the test.</summary>
    public string Folder { get; }

    /// <summary>Opens a target; skips the test when a real server is asked for and not configured.</summary>
    /// <param name="name">local, 3 or 2.</param>
    /// <returns>The target.</returns>
    public static CliTarget Open(string name)
    {
        var folder = Directory.CreateTempSubdirectory("mlflow-cli-tests-").FullName;
        var uri = name switch
        {
            "local" => "sqlite:///" + Path.Combine(folder, "mlflow.db"),
            "3" => RealMlflow.SkipUnlessServer(3),
            "2" => RealMlflow.SkipUnlessServer(2),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Use local, 3 or 2."),
        };
        return new CliTarget(name, uri, folder);
    }

    /// <summary>A name unique to this test run.</summary>
    /// <param name="prefix">A readable prefix.</param>
    /// <returns>The name.</returns>
    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    /// <summary>Sets an environment variable for the commands.</summary>
    /// <param name="name">The variable.</param>
    /// <param name="value">The value.</param>
    /// <returns>This target.</returns>
    public CliTarget WithVariable(string name, string value)
    {
        _environment[name] = value;
        return this;
    }

    /// <summary>Runs <c>dotnet mlflow --tracking-uri URI args…</c> in-process.</summary>
    /// <param name="args">The arguments.</param>
    /// <returns>The result.</returns>
    public Task<CliResult> RunAsync(params string[] args) => RunRawAsync(["--tracking-uri", TrackingUri, .. args]);

    /// <summary>Runs <c>dotnet mlflow args…</c> in-process, without adding the tracking URI.</summary>
    /// <param name="args">The arguments.</param>
    /// <returns>The result.</returns>
    public async Task<CliResult> RunRawAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var host = new CliHost(output, error, name => _environment.TryGetValue(name, out var v) ? v : null, IsTerminal: false);
        var code = await MlflowCli.InvokeAsync(args, host, TestContext.Current.CancellationToken);
        return new CliResult(code, output.ToString(), error.ToString());
    }

    /// <summary>Creates an experiment (artifacts inside <see cref="Folder"/> for the local store) and returns its name.</summary>
    /// <param name="prefix">The name prefix.</param>
    /// <returns>The experiment name.</returns>
    public async Task<string> CreateExperimentAsync(string prefix = "cli")
    {
        var name = Unique(prefix);
        var args = new List<string> { "experiments", "create", name };
        if (IsLocal)
        {
            args.AddRange(["--artifact-location", Path.Combine(Folder, "artifacts")]);
        }

        (await RunAsync([.. args])).Ok();
        return name;
    }

    /// <summary>Creates a finished run with metrics and params; returns its id.</summary>
    /// <param name="experiment">The experiment name.</param>
    /// <param name="runName">The run name.</param>
    /// <param name="log">The <c>runs log</c> arguments (e.g. <c>--metric accuracy=0.9</c>).</param>
    /// <returns>The run id.</returns>
    public async Task<string> CreateRunAsync(string experiment, string runName, params string[] log)
    {
        var runId = (await RunAsync("runs", "create", "--experiment-name", experiment, "--name", runName)).Ok().Out.Trim();
        if (log.Length > 0)
        {
            (await RunAsync(["runs", "log", runId, .. log])).Ok();
        }

        (await RunAsync("runs", "end", runId)).Ok();
        return runId;
    }

    /// <summary>
    /// Creates a run whose artifacts hold a minimal MLflow model at <c>model/</c> (an MLmodel file), registers it
    /// under <paramref name="model"/> and returns the run id and the new version.
    /// </summary>
    /// <param name="experiment">The experiment.</param>
    /// <param name="model">The registered model name.</param>
    /// <param name="alias">An alias for the new version, or <see langword="null"/>.</param>
    /// <param name="log">The <c>runs log</c> arguments.</param>
    /// <returns>The run id and version.</returns>
    public async Task<(string RunId, string Version)> CreateRegisteredRunAsync(string experiment, string model, string? alias, params string[] log)
    {
        var runId = await CreateRunAsync(experiment, Unique("run"), log);
        var modelDir = Directory.CreateDirectory(Path.Combine(Folder, "model-" + runId)).FullName;
        await File.WriteAllTextAsync(Path.Combine(modelDir, "MLmodel"), $"""
            artifact_path: model
            flavors:
              python_function:
                loader_module: cli_tests
            mlflow_version: 2.22.0
            run_id: {runId}
            """, TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(modelDir, "weights.txt"), "0.5 0.25", TestContext.Current.CancellationToken);
        (await RunAsync("artifacts", "upload", runId, modelDir, "--artifact-path", "model")).Ok();
        var args = new List<string> { "models", "register", $"runs:/{runId}/model", "--name", model };
        if (alias is not null)
        {
            args.AddRange(["--alias", alias]);
        }

        var version = (await RunAsync([.. args, "--output", "json"])).Ok().Json["version"]!.GetValue<string>();
        return (runId, version);
    }

    /// <summary>The version an alias points at, or <see langword="null"/>.</summary>
    /// <param name="model">The model.</param>
    /// <param name="alias">The alias.</param>
    /// <returns>The version.</returns>
    public async Task<string?> AliasVersionAsync(string model, string alias)
    {
        var json = (await RunAsync("models", "show", model, "--output", "json")).Ok().Json;
        return json["aliases"]![alias]?.GetValue<string>();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A file still open by SQLite's pool on some platforms; the temp folder is cleaned by the OS later.
        }
    }
}
