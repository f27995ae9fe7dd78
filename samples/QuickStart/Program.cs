// QuickStart: train a tiny logistic regression by gradient descent and track it in MLflow with the fluent API.
//
//   dotnet run --project samples/QuickStart                                               # zero config: ./mlflow.db + ./mlruns
//   MLFLOW_TRACKING_URI=http://127.0.0.1:5000 dotnet run --project samples/QuickStart     # an MLflow server
//
// Without MLFLOW_TRACKING_URI the client uses the local store sqlite:///mlflow.db in the current directory (as MLflow 3
// does) and stores artifacts under ./mlruns/<experiment id>/<run id>/artifacts.
using System.Globalization;
using MLOpsDemo.Mlflow;
using QuickStart;

using var client = new MlflowClient();
var local = !client.TrackingUri.StartsWith("http", StringComparison.OrdinalIgnoreCase);
Console.WriteLine($"Tracking to {client.TrackingUri}{(local ? " (local store; set MLFLOW_TRACKING_URI to use a server)" : "")}");

QuickStartResult result;
try
{
    result = await QuickStartTraining.TrainAsync(client);
}
catch (Exception ex) when (!local && ex is HttpRequestException or MlflowException)
{
    Console.Error.WriteLine($"""
        Could not track the run on {client.TrackingUri}: {ex.Message}
        Is the MLflow server running? Start one with `mlflow server --host 127.0.0.1 --port 5000`, or unset
        MLFLOW_TRACKING_URI to log into ./mlflow.db instead.
        """);
    return 1;
}

Console.WriteLine(string.Create(
    CultureInfo.InvariantCulture,
    $"Run {result.RunId} in experiment {result.ExperimentId} ({QuickStartTraining.ExperimentName}): loss {result.Loss:F4}, accuracy {result.Accuracy:P1}"));
Console.WriteLine($"Model weights {result.Weights.ToJsonString()} logged as the artifact {QuickStartTraining.WeightsArtifact}");
if (local)
{
    var run = await client.Runs.GetAsync(result.RunId);
    var artifacts = run.Info.ArtifactUri is { } uri && uri.StartsWith("file:", StringComparison.Ordinal) ? new Uri(uri).LocalPath : run.Info.ArtifactUri;
    Console.WriteLine($"""
        Artifacts: {artifacts}
        Browse the run (Python MLflow 3, from this directory):
          mlflow ui --backend-store-uri {client.TrackingUri}
          mlflow server --backend-store-uri {client.TrackingUri}
        Log to a tracking server instead:
          MLFLOW_TRACKING_URI=http://127.0.0.1:5000 dotnet run --project samples/QuickStart
        """);
}
else
{
    Console.WriteLine($"See it at {client.TrackingUri.TrimEnd('/')}/#/experiments/{result.ExperimentId}/runs/{result.RunId}");
}

return 0;
