using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using MLOpsDemo.Mlflow;

namespace QuickStart;

/// <summary>What one QuickStart training run produced.</summary>
/// <param name="RunId">The run's id.</param>
/// <param name="ExperimentId">The id of the <c>quickstart</c> experiment.</param>
/// <param name="Loss">The final mean log-loss.</param>
/// <param name="Accuracy">The final training accuracy.</param>
/// <param name="Weights">The model (w0, w1, b), also logged as the artifact <see cref="QuickStartTraining.WeightsArtifact"/>.</param>
public sealed record QuickStartResult(string RunId, string ExperimentId, double Loss, double Accuracy, JsonObject Weights);

/// <summary>
/// The QuickStart's training code: a logistic regression trained by batch gradient descent on two Gaussian blobs,
/// tracked with the fluent run API (params, a dataset input, per-epoch metrics, the weights as a JSON artifact).
/// </summary>
public static class QuickStartTraining
{
    /// <summary>The experiment the run goes to (created if missing).</summary>
    public const string ExperimentName = "quickstart";

    /// <summary>The run-relative path of the weights artifact.</summary>
    public const string WeightsArtifact = "model/weights.json";

    private const int Samples = 200;
    private const double LearningRate = 0.2;
    private const int Seed = 42;

    /// <summary>Trains the model in a new run of <see cref="ExperimentName"/> and ends the run FINISHED.</summary>
    /// <param name="client">Where to track the run.</param>
    /// <param name="epochs">How many epochs of gradient descent (one metric step each).</param>
    /// <param name="cancellationToken">Cancels the training; the run then ends KILLED.</param>
    /// <returns>The run id and the trained model.</returns>
    public static async Task<QuickStartResult> TrainAsync(MlflowClient client, int epochs = 60, CancellationToken cancellationToken = default)
    {
        var (x, y) = TwoBlobs(Samples, Seed);
        var startOptions = new StartRunOptions
        {
            ExperimentName = ExperimentName,
            Description = "Logistic regression by gradient descent on two Gaussian blobs (MLOpsDemo.Mlflow QuickStart).",
            Tags = new Dictionary<string, string> { ["model.family"] = "logistic-regression" },
        };

        return await client.RunAsync(
            async run =>
            {
                run.LogParams(new { learning_rate = LearningRate, epochs, n_samples = Samples, seed = Seed, optimizer = "batch-gd" });
                await run.LogInputAsync(
                    new Dataset
                    {
                        Name = "two-blobs",
                        Digest = Digest(x, y),
                        SourceType = "code",
                        Source = """{"tags": {"mlflow.source.name": "samples/QuickStart/QuickStartTraining.cs"}}""",
                        Profile = $$"""{"num_rows": {{Samples}}, "num_elements": {{Samples * 3}}}""",
                    },
                    context: "training",
                    cancellationToken: cancellationToken);

                // Batch gradient descent on the mean log-loss.
                double w0 = 0, w1 = 0, b = 0, finalLoss = 0, finalAccuracy = 0;
                for (var epoch = 0; epoch < epochs; epoch++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
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

                var weights = new JsonObject { ["w0"] = w0, ["w1"] = w1, ["b"] = b };
                await run.LogJsonAsync(weights, WeightsArtifact, cancellationToken);
                return new QuickStartResult(run.RunId, run.ExperimentId, finalLoss, finalAccuracy, weights);
            },
            startOptions,
            cancellationToken);
    }

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    // Two Gaussian blobs (σ = 1) centred on (-1, -1) and (1.5, 1); half the points each; fixed seed.
    private static (double[,] X, double[] Y) TwoBlobs(int n, int seed)
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

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static string Digest(double[,] x, double[] y)
    {
        var text = new StringBuilder();
        for (var i = 0; i < y.Length; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"{x[i, 0]:R},{x[i, 1]:R},{y[i]:R};");
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..8];
    }
}
