// Runs an MLflow project like `mlflow run`:
//   dotnet run --project samples/ProjectRunner -- samples/Projects -P alpha=0.3 -P epochs=3 --experiment-name demo
//   dotnet run --project samples/ProjectRunner -- https://github.com/org/repo.git#sub/dir -v main -e train.py
//   dotnet run --project samples/ProjectRunner -- samples/Projects --backend kubernetes --backend-config samples/KubernetesProject/kubernetes_config.json
// The tracking server comes from MLFLOW_TRACKING_URI (default: sqlite:///mlflow.db in the current folder).
using MLOpsDemo.Mlflow;
using MLOpsDemo.Mlflow.Kubernetes;
using MLOpsDemo.Mlflow.Projects;
using Microsoft.Extensions.Logging;

string? uri = null;
string entryPoint = "main";
string? version = null;
string? experimentName = null;
string? experimentId = null;
string? runName = null;
var parameters = new List<string>();
var failOnEnv = false;
var backendName = "local";
string? backendConfig = null;
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
    switch (args[i])
    {
        case "-e" or "--entry-point": entryPoint = Next(); break;
        case "-v" or "--version": version = Next(); break;
        case "-P" or "--param-list": parameters.Add(Next()); break;
        case "--experiment-name": experimentName = Next(); break;
        case "--experiment-id": experimentId = Next(); break;
        case "--run-name": runName = Next(); break;
        case "--fail-on-unsupported-env": failOnEnv = true; break;
        case "-b" or "--backend": backendName = Next(); break;
        case "-c" or "--backend-config": backendConfig = Next(); break;
        default:
            if (uri is not null || args[i].StartsWith('-'))
            {
                Console.Error.WriteLine($"Unexpected argument '{args[i]}'.");
                return Usage();
            }

            uri = args[i];
            break;
    }
}

if (uri is null)
{
    return Usage();
}

// --backend/--backend-config as in `mlflow run`: the config is a .json file or inline JSON.
ProjectBackend? backend;
switch (backendName)
{
    case "local":
        backend = null;
        break;
    case "kubernetes" when backendConfig is not null:
        try
        {
            backend = new KubernetesProjectBackend(KubernetesBackendConfig.Load(backendConfig));
        }
        catch (Exception ex) when (ex is ArgumentException or FileNotFoundException)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 2;
        }

        break;
    case "kubernetes":
        Console.Error.WriteLine("--backend kubernetes needs --backend-config kubernetes_config.json.");
        return 2;
    default:
        Console.Error.WriteLine($"Unknown backend '{backendName}'. Supported: local, kubernetes.");
        return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true; // Kill the project's process tree and end the run KILLED instead of dying here.
    cancel.Cancel();
};

// The runner's warnings on stderr, e.g. that a python_env/conda_env environment is not created (the project runs in
// the current environment). LogLevel.Information adds the runner's progress and a copy of the project's output.
using var loggerFactory = LoggerFactory.Create(logging => logging
    .SetMinimumLevel(LogLevel.Warning)
    .AddSimpleConsole(console => console.SingleLine = true)
    .AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace));
using var client = new MlflowClient();
try
{
    var result = await client.Projects.RunAsync(uri, new ProjectRunOptions
    {
        EntryPoint = entryPoint,
        Version = version,
        Parameters = ProjectRunOptions.ParseParameters(parameters),
        ExperimentName = experimentName,
        ExperimentId = experimentId,
        RunName = runName,
        FailOnUnsupportedEnvironment = failOnEnv,
        Backend = backend,
        Logger = loggerFactory.CreateLogger("MLOpsDemo.Mlflow.Projects"),
    }, cancel.Token);
    Console.WriteLine($"=== Run (ID '{result.RunId}') {result.Status} (exit code {result.ExitCode}){(result.FailureReason is null ? "" : ": " + result.FailureReason)} ===");
    return result.Succeeded ? 0 : 1;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("=== Run cancelled: it was ended KILLED ===");
    return 130;
}
catch (Exception ex) when (ex is ArgumentException or MlflowException)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 1;
}

static int Usage()
{
    Console.Error.WriteLine("usage: ProjectRunner <folder-or-git-uri[#subdir]> [-e entry] [-v version] [-P name=value]... [--experiment-name n | --experiment-id id] [--run-name n] [--fail-on-unsupported-env] [-b local|kubernetes -c kubernetes_config.json]");
    return 2;
}
