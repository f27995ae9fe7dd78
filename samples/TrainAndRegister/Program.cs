// TrainAndRegister: train a logistic regression, export it as ONNX, log it as an MLflow model, register it and move
// the "champion" alias to it only if its accuracy beats the current champion's. Zero-config: with no
// MLFLOW_TRACKING_URI it uses ./mlflow.db (the local registry works too).
//
//   dotnet run --project samples/TrainAndRegister [-- <registered-model-name> <learning-rate>]
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLOpsDemo.Mlflow;
using MLOpsDemo.Samples;

var modelName = args.Length > 0 ? args[0] : "quickstart-classifier";
var learningRate = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 0.5;
const int Epochs = 40;

// Two Gaussian blobs, fixed seed: class 1 around (1, 1), class 0 around (-1, -1).
var random = new Random(42);
var (features, labels) = MakeData(random, 400);

using var client = new MlflowClient();
Console.WriteLine($"Tracking URI: {client.TrackingUri}");
await using var run = await client.StartRunAsync(new StartRunOptions { ExperimentName = "train-and-register", RunName = $"logreg-lr{learningRate.ToString(CultureInfo.InvariantCulture)}" });
run.LogParams(new Dictionary<string, string>
{
    ["learning_rate"] = learningRate.ToString(CultureInfo.InvariantCulture),
    ["epochs"] = Epochs.ToString(CultureInfo.InvariantCulture),
    ["model"] = "logistic_regression",
});

double w0 = 0, w1 = 0, b = 0;
for (var epoch = 0; epoch < Epochs; epoch++)
{
    double g0 = 0, g1 = 0, gb = 0, loss = 0;
    for (var i = 0; i < labels.Length; i++)
    {
        var p = Sigmoid((w0 * features[i, 0]) + (w1 * features[i, 1]) + b);
        var error = p - labels[i];
        g0 += error * features[i, 0];
        g1 += error * features[i, 1];
        gb += error;
        loss -= (labels[i] * Math.Log(p + 1e-12)) + ((1 - labels[i]) * Math.Log(1 - p + 1e-12));
    }

    w0 -= learningRate * g0 / labels.Length;
    w1 -= learningRate * g1 / labels.Length;
    b -= learningRate * gb / labels.Length;
    run.LogMetric("loss", loss / labels.Length, step: epoch);
}

// Export to ONNX and check that ONNX Runtime computes what the C# model computes.
var onnx = OnnxLogisticRegression.Write([(float)w0, (float)w1], (float)b);
var directory = Directory.CreateTempSubdirectory("train-and-register-");
var modelFile = Path.Combine(directory.FullName, "model.onnx");
await File.WriteAllBytesAsync(modelFile, onnx);
var accuracy = Evaluate(modelFile, features, labels, (w0, w1, b));
run.LogMetric("accuracy", accuracy);
await run.FlushAsync();
Console.WriteLine($"Trained: accuracy {accuracy:P1} (weights {w0:F3}, {w1:F3}, bias {b:F3}); ONNX Runtime agrees with the C# model.");

var logged = await client.Models.LogModelAsync(run.RunId, new LogModelOptions
{
    ArtifactPath = "model",
    Flavor = new OnnxFlavor(),
    ModelFile = modelFile,
    Signature = new ModelSignature
    {
        Inputs = [new TensorSpec("float32", [-1, 2], "input")],
        Outputs = [new TensorSpec("float32", [-1, 1], "probability")],
    },
    InputExample = new ModelInputExample("[[1.0, 1.0], [-1.0, -1.0]]"),
    RegisteredModelName = modelName,
});
var version = logged.RegisteredVersion?.Version ?? throw new InvalidOperationException("The model was not registered.");
Console.WriteLine($"Logged {logged.ModelUri} and registered {modelName} version {version}.");

var promotion = await client.ModelRegistry.PromoteAsync(modelName, version, alias: "champion", metric: "accuracy", higherIsBetter: true);
Console.WriteLine(promotion.Promoted
    ? $"Promoted: models:/{modelName}@champion is now version {version}. {promotion.Reason}"
    : $"Kept the current champion: {promotion.Reason}");
Console.WriteLine($"Serve it with: dotnet run --project samples/ModelService (Model:Name={modelName}, Model:Alias=champion)");
directory.Delete(recursive: true);
return 0;

static double Sigmoid(double z) => 1.0 / (1.0 + Math.Exp(-z));

static (double[,] Features, double[] Labels) MakeData(Random random, int count)
{
    var x = new double[count, 2];
    var y = new double[count];
    for (var i = 0; i < count; i++)
    {
        var label = i % 2;
        var center = label == 1 ? 1.0 : -1.0;
        x[i, 0] = center + Gaussian(random);
        x[i, 1] = center + Gaussian(random);
        y[i] = label;
    }

    return (x, y);
}

static double Gaussian(Random random) =>
    Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble())) * Math.Cos(2.0 * Math.PI * random.NextDouble());

static double Evaluate(string modelFile, double[,] features, double[] labels, (double W0, double W1, double B) model)
{
    using var session = new InferenceSession(modelFile);
    var count = labels.Length;
    var input = new DenseTensor<float>([count, 2]);
    for (var i = 0; i < count; i++)
    {
        input[i, 0] = (float)features[i, 0];
        input[i, 1] = (float)features[i, 1];
    }

    using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
    var probabilities = results.First(r => r.Name == "probability").AsTensor<float>();
    var correct = 0;
    for (var i = 0; i < count; i++)
    {
        var expected = Sigmoid((model.W0 * features[i, 0]) + (model.W1 * features[i, 1]) + model.B);
        if (Math.Abs(expected - probabilities[i, 0]) > 1e-4)
        {
            throw new InvalidOperationException($"ONNX Runtime computed {probabilities[i, 0]} for row {i}; the C# model computed {expected}.");
        }

        correct += (probabilities[i, 0] >= 0.5 ? 1 : 0) == (int)labels[i] ? 1 : 0;
    }

    return (double)correct / count;
}
