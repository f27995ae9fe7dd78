// The entry point of the MLproject in this folder. `mlflow run` (or `client.Projects.RunAsync`, or the ProjectRunner
// sample) starts it with MLFLOW_RUN_ID, MLFLOW_TRACKING_URI and MLFLOW_EXPERIMENT_ID set, and it logs into that run.
using System.Globalization;
using MLOpsDemo.Mlflow;

var alpha = 0.5;
var epochs = 5;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--alpha":
            alpha = double.Parse(args[i + 1], CultureInfo.InvariantCulture);
            break;
        case "--epochs":
            epochs = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            break;
        default:
            Console.Error.WriteLine($"Unknown option {args[i]}");
            return 2;
    }
}

if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MLFLOW_RUN_ID")))
{
    Console.Error.WriteLine("MLFLOW_RUN_ID is not set: run this program as an MLflow project (see samples/ProjectRunner).");
    return 2;
}

// The tracking URI and credentials come from the environment the parent handed over. StartRunAsync attaches to the
// run in MLFLOW_RUN_ID instead of creating one, and leaving the scope flushes without ending it: the parent ends it
// from the exit code.
using var client = new MlflowClient();
await using (var run = await client.StartRunAsync())
{
    Console.WriteLine($"Training with alpha={alpha.ToString(CultureInfo.InvariantCulture)} for {epochs} epochs in run {run.RunId} ({client.TrackingUri})");
    for (var epoch = 0; epoch < epochs; epoch++)
    {
        var loss = 1.0 / (1.0 + (alpha * (epoch + 1)));
        run.LogMetric("loss", loss, step: epoch);
        Console.WriteLine($"epoch {epoch}: loss={loss.ToString("F4", CultureInfo.InvariantCulture)}");
    }

    run.SetTag("trained.by", ".NET child process");
}

return 0;
