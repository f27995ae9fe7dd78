// QuickStart: train a tiny logistic regression by gradient descent and track it in MLflow with the fluent API.
//
//   MLFLOW_TRACKING_URI=http://localhost:5000 dotnet run --project samples/QuickStart
//
// Without MLFLOW_TRACKING_URI the client uses the local store sqlite:///mlflow.db (as MLflow 3 does) when this
// build supports it.
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MLOpsDemo.Mlflow;

const int Samples = 200;
const int Epochs = 60;
const double LearningRate = 0.2;
const int Seed = 42;

MlflowClient client;
try
{
    client = new MlflowClient();
}
catch (NotSupportedException ex)
{
    Console.Error.WriteLine($"""
        No usable MLflow tracking store: {ex.Message}
        Start a server and point the sample at it, for example:
          mlflow server --host 127.0.0.1 --port 5000
          MLFLOW_TRACKING_URI=http://127.0.0.1:5000 dotnet run --project samples/QuickStart
        """);
    return 1;
}

using (client)
{
    var (x, y) = TwoBlobs(Samples, Seed);
    MlflowRun run;
    try
    {
        run = await client.StartRunAsync(new StartRunOptions
        {
            ExperimentName = "quickstart",
            Description = "Logistic regression by gradient descent on two Gaussian blobs (MLOpsDemo.Mlflow QuickStart).",
            Tags = new Dictionary<string, string> { ["model.family"] = "logistic-regression" },
        });
    }
    catch (Exception ex) when (ex is HttpRequestException or MlflowException)
    {
        Console.Error.WriteLine($"Could not start a run on {client.TrackingUri}: {ex.Message}\nIs the MLflow server running? Check MLFLOW_TRACKING_URI.");
        return 1;
    }

    await using (run)
    {
        run.LogParams(new { learning_rate = LearningRate, epochs = Epochs, n_samples = Samples, seed = Seed, optimizer = "batch-gd" });
        await run.LogInputAsync(
            new Dataset
            {
                Name = "two-blobs",
                Digest = Digest(x, y),
                SourceType = "code",
                Source = """{"tags": {"mlflow.source.name": "samples/QuickStart/Program.cs"}}""",
                Profile = $$"""{"num_rows": {{Samples}}, "num_elements": {{Samples * 3}}}""",
            },
            context: "training");

        // Batch gradient descent on the mean log-loss.
        double w0 = 0, w1 = 0, b = 0, finalLoss = 0, finalAccuracy = 0;
        for (var epoch = 0; epoch < Epochs; epoch++)
        {
            double g0 = 0, g1 = 0, gb = 0, loss = 0;
            var correct = 0;
            for (var i = 0; i < Samples; i++)
            {
                var p = Sigmoid((w0 * x[i, 0]) + (w1 * x[i, 1]) + b);
                var error = p - y[i];
                g0 += error * x[i, 0];
                g1 += error * x[i, 1];
                gb += error;
                loss -= (y[i] * Math.Log(p + 1e-12)) + ((1 - y[i]) * Math.Log(1 - p + 1e-12));
                correct += (p >= 0.5 ? 1 : 0) == (int)y[i] ? 1 : 0;
            }

            w0 -= LearningRate * g0 / Samples;
            w1 -= LearningRate * g1 / Samples;
            b -= LearningRate * gb / Samples;

            // Non-blocking: the points are queued and sent in batches in the background.
            finalLoss = loss / Samples;
            finalAccuracy = (double)correct / Samples;
            run.LogMetric("train/loss", finalLoss, step: epoch);
            run.LogMetric("train/accuracy", finalAccuracy, step: epoch);
        }

        var weights = JsonSerializer.Serialize(new Dictionary<string, double> { ["w0"] = w0, ["w1"] = w1, ["b"] = b }, QuickStartJson.Default.DictionaryStringDouble);
        await LogModelAsync(client, run, weights);

        Console.WriteLine($"Run {run.RunId} in experiment {run.ExperimentId}: loss {finalLoss:F4}, accuracy {finalAccuracy:P1}, weights {weights}");
        Console.WriteLine(client.TrackingUri.StartsWith("http", StringComparison.OrdinalIgnoreCase)
            ? $"See it at {client.TrackingUri.TrimEnd('/')}/#/experiments/{run.ExperimentId}/runs/{run.RunId}"
            : $"See it with: mlflow ui --backend-store-uri {client.TrackingUri}");
    }
}

return 0;

static async Task LogModelAsync(MlflowClient client, MlflowRun run, string weights)
{
    var dir = Directory.CreateTempSubdirectory("quickstart-model-").FullName;
    try
    {
        await File.WriteAllTextAsync(Path.Combine(dir, "weights.json"), weights);
        await client.Artifacts.LogArtifactsAsync(run.RunId, dir, "model");
        Console.WriteLine("Logged the model weights as the artifact model/weights.json.");
    }
    catch (NotSupportedException)
    {
        // Artifact upload is not available in this build: keep the weights on the run as a tag instead.
        run.SetTag("model.weights", weights);
        Console.WriteLine("Artifacts are not available in this build; stored the weights in the tag model.weights.");
    }
    finally
    {
        Directory.Delete(dir, recursive: true);
    }
}

static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

// Two Gaussian blobs (σ = 1) centred on (-1, -1) and (1.5, 1); half the points each; fixed seed.
static (double[,] X, double[] Y) TwoBlobs(int n, int seed)
{
    var random = new Random(seed);
    var x = new double[n, 2];
    var y = new double[n];
    for (var i = 0; i < n; i++)
    {
        var label = i % 2;
        var (cx, cy) = label == 0 ? (-1.0, -1.0) : (1.5, 1.0);
        x[i, 0] = cx + Gaussian(random);
        x[i, 1] = cy + Gaussian(random);
        y[i] = label;
    }

    return (x, y);
}

static double Gaussian(Random random) =>
    Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

static string Digest(double[,] x, double[] y)
{
    var text = new StringBuilder();
    for (var i = 0; i < y.Length; i++)
    {
        text.Append(CultureInfo.InvariantCulture, $"{x[i, 0]:R},{x[i, 1]:R},{y[i]:R};");
    }

    return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..8];
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, double>))]
internal sealed partial class QuickStartJson : System.Text.Json.Serialization.JsonSerializerContext;
