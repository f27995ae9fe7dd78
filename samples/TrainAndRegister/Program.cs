// TrainAndRegister: train an ML.NET logistic regression (SGD) with MLflow autologging, log it as an MLflow model (the
// mlnet flavor plus an ONNX export Python loads), register it and move the "champion" alias to it only if its accuracy
// beats the current champion's. Zero-config: with no MLFLOW_TRACKING_URI it uses ./mlflow.db (the local registry
// included); set MLFLOW_TRACKING_URI for a server.
//
//   dotnet run --project samples/TrainAndRegister [-- <registered-model-name> [<learning-rate> [<epochs>]]]
//
// The code is in TrainAndRegisterTraining.cs (the tests run it too).
using System.Globalization;
using MLOpsDemo.Mlflow;
using MLOpsDemo.Samples;

var modelName = args.Length > 0 ? args[0] : "quickstart-classifier";
var learningRate = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 0.5;
var epochs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 40;

using var client = new MlflowClient();
Console.WriteLine($"Tracking URI: {client.TrackingUri}");
var result = await TrainAndRegisterTraining.RunAsync(client, modelName, learningRate, epochs);
Console.WriteLine(string.Create(
    CultureInfo.InvariantCulture,
    $"Run {result.RunId}: accuracy {result.Accuracy:P1} (ML.NET SGD logistic regression, held-out quarter); ONNX export: {(result.OnnxExported ? "yes" : "no")}."));
Console.WriteLine($"Logged the model: {result.ModelUri}");

if (result.RegisteredVersion is null)
{
    Console.WriteLine($"Not registered: {result.RegistryUnavailable}");
    Console.WriteLine("Registration needs a store with a model registry (an MLflow server, or sqlite:/// in this library's current version).");
    return 0;
}

Console.WriteLine($"Registered {modelName} version {result.RegisteredVersion}.");
var promotion = result.Promotion!;
Console.WriteLine(promotion.Promoted
    ? $"Promoted: models:/{modelName}@{TrainAndRegisterTraining.Alias} is now version {result.RegisteredVersion}. {promotion.Reason}"
    : $"Kept the current champion: {promotion.Reason}");
Console.WriteLine($"Serve it with: dotnet run --project samples/ModelService -- --Model:Name={modelName}");
return 0;
