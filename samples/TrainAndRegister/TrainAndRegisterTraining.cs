using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLOpsDemo.Mlflow;

namespace MLOpsDemo.Samples;

/// <summary>What one TrainAndRegister run produced.</summary>
/// <param name="RunId">The tracked run (ended FINISHED).</param>
/// <param name="Accuracy">The training accuracy, computed by ONNX Runtime on the exported model.</param>
/// <param name="Weights">The C# model: w0, w1 and the bias.</param>
/// <param name="ModelUri">Where the MLflow model was logged (<c>runs:/…/model</c> or <c>models:/m-…</c>).</param>
/// <param name="RegisteredVersion">The registered model version, or <see langword="null"/> when the store has no registry.</param>
/// <param name="Promotion">The champion decision, or <see langword="null"/> when nothing was registered.</param>
/// <param name="RegistryUnavailable">Why registration was skipped, when it was.</param>
public sealed record TrainAndRegisterResult(
    string RunId,
    double Accuracy,
    IReadOnlyList<double> Weights,
    string ModelUri,
    string? RegisteredVersion,
    PromotionResult? Promotion,
    string? RegistryUnavailable);

/// <summary>
/// The TrainAndRegister sample's code (linked into the unit tests, which run exactly this): a logistic regression
/// trained by batch gradient descent on two Gaussian blobs (fixed seed), exported to ONNX, checked with ONNX Runtime,
/// logged as an MLflow model (onnx flavor + signature), registered, and promoted to the alias
/// <see cref="Alias"/> only when its <see cref="Metric"/> beats the current holder's.
/// </summary>
public static class TrainAndRegisterTraining
{
    /// <summary>The experiment the runs go to (created if missing).</summary>
    public const string ExperimentName = "train-and-register";

    /// <summary>The alias that marks the model to serve.</summary>
    public const string Alias = "champion";

    /// <summary>The run metric that decides promotion (higher is better).</summary>
    public const string Metric = "accuracy";

    /// <summary>The model's path inside the run's artifacts.</summary>
    public const string ArtifactPath = "model";

    private const int Samples = 400;
    private const int Seed = 42;

    /// <summary>Trains, exports, logs, registers under <paramref name="modelName"/> and promotes when better.</summary>
    /// <param name="client">Where to track and register.</param>
    /// <param name="modelName">The registered model name.</param>
    /// <param name="learningRate">The gradient descent step.</param>
    /// <param name="epochs">How many epochs (0 gives the untrained model: 50 % accuracy).</param>
    /// <param name="cancellationToken">Cancels the work; the run then ends KILLED.</param>
    /// <returns>What was trained, logged, registered and decided.</returns>
    public static async Task<TrainAndRegisterResult> RunAsync(MlflowClient client, string modelName, double learningRate = 0.5, int epochs = 40, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var (x, y) = MakeData(new Random(Seed), Samples);
        var workDirectory = Directory.CreateTempSubdirectory("train-and-register-");
        try
        {
            var options = new StartRunOptions
            {
                ExperimentName = ExperimentName,
                RunName = string.Create(CultureInfo.InvariantCulture, $"logreg-lr{learningRate}-e{epochs}"),
            };
            var (runId, accuracy, weights, modelUri, version, unavailable) = await client.RunAsync(
                async run =>
                {
                    run.LogParams(new Dictionary<string, string>
                    {
                        ["learning_rate"] = learningRate.ToString(CultureInfo.InvariantCulture),
                        ["epochs"] = epochs.ToString(CultureInfo.InvariantCulture),
                        ["n_samples"] = Samples.ToString(CultureInfo.InvariantCulture),
                        ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
                        ["model"] = "logistic_regression",
                    });

                    var w = Train(x, y, learningRate, epochs, run, cancellationToken);

                    // Export to ONNX; ONNX Runtime must compute what the C# model computes.
                    var modelFile = Path.Combine(workDirectory.FullName, "model.onnx");
                    await File.WriteAllBytesAsync(modelFile, OnnxLogisticRegression.Write([(float)w[0], (float)w[1]], (float)w[2]), cancellationToken);
                    var accuracy = EvaluateWithOnnxRuntime(modelFile, x, y, w);
                    run.LogMetric(Metric, accuracy);
                    await run.FlushAsync(cancellationToken);

                    var logOptions = new LogModelOptions
                    {
                        ArtifactPath = ArtifactPath,
                        Flavor = new OnnxFlavor(),
                        ModelFile = modelFile,
                        Signature = new ModelSignature
                        {
                            Inputs = [new TensorSpec("float32", [-1, 2], "input")],
                            Outputs = [new TensorSpec("float32", [-1, 1], "probability")],
                        },
                        InputExample = new ModelInputExample("[[1.0, 1.0], [-1.0, -1.0]]"),
                        RegisteredModelName = modelName,
                    };
                    try
                    {
                        var logged = await client.Models.LogModelAsync(run.RunId, logOptions, cancellationToken);
                        return (run.RunId, accuracy, w, logged.ModelUri, logged.RegisteredVersion?.Version, (string?)null);
                    }
                    catch (NotSupportedException ex)
                    {
                        // A tracking store without a model registry: the model files are logged under the run's
                        // artifacts all the same (registration is the last step of LogModelAsync).
                        return (run.RunId, accuracy, w, $"runs:/{run.RunId}/{ArtifactPath}", (string?)null, ex.Message);
                    }
                },
                options,
                cancellationToken);

            // Promote after the run has ended, so that the decision reads its final metrics.
            var promotion = version is null
                ? null
                : await client.ModelRegistry.PromoteAsync(modelName, version, Alias, Metric, higherIsBetter: true, cancellationToken);
            return new TrainAndRegisterResult(runId, accuracy, weights, modelUri, version, promotion, unavailable);
        }
        finally
        {
            workDirectory.Delete(recursive: true);
        }
    }

    /// <summary>The logistic function.</summary>
    /// <param name="z">The logit.</param>
    /// <returns>1 / (1 + e^-z).</returns>
    public static double Sigmoid(double z) => 1.0 / (1.0 + Math.Exp(-z));

    /// <summary>Two Gaussian blobs (σ = 1): class 1 around (1, 1), class 0 around (-1, -1), alternating.</summary>
    /// <param name="random">The random source (seeded for reproducible data).</param>
    /// <param name="count">How many rows.</param>
    /// <returns>The features [count, 2] and the 0/1 labels.</returns>
    public static (double[,] Features, double[] Labels) MakeData(Random random, int count)
    {
        ArgumentNullException.ThrowIfNull(random);
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

    // Batch gradient descent on the mean log-loss; one "loss" metric point per epoch (queued, sent in the background).
    private static double[] Train(double[,] x, double[] y, double learningRate, int epochs, MlflowRun run, CancellationToken cancellationToken)
    {
        double w0 = 0, w1 = 0, b = 0;
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double g0 = 0, g1 = 0, gb = 0, loss = 0;
            for (var i = 0; i < y.Length; i++)
            {
                var p = Sigmoid((w0 * x[i, 0]) + (w1 * x[i, 1]) + b);
                var error = p - y[i];
                g0 += error * x[i, 0];
                g1 += error * x[i, 1];
                gb += error;
                loss -= (y[i] * Math.Log(p + 1e-12)) + ((1 - y[i]) * Math.Log(1 - p + 1e-12));
            }

            w0 -= learningRate * g0 / y.Length;
            w1 -= learningRate * g1 / y.Length;
            b -= learningRate * gb / y.Length;
            run.LogMetric("loss", loss / y.Length, step: epoch);
        }

        return [w0, w1, b];
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble())) * Math.Cos(2.0 * Math.PI * random.NextDouble());

    // Runs the exported model in ONNX Runtime, checks every probability against the C# model and returns the accuracy.
    private static double EvaluateWithOnnxRuntime(string modelFile, double[,] x, double[] y, double[] w)
    {
        using var session = new InferenceSession(modelFile);
        var count = y.Length;
        var input = new DenseTensor<float>([count, 2]);
        for (var i = 0; i < count; i++)
        {
            input[i, 0] = (float)x[i, 0];
            input[i, 1] = (float)x[i, 1];
        }

        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
        var probabilities = results.First(r => r.Name == "probability").AsTensor<float>();
        var correct = 0;
        for (var i = 0; i < count; i++)
        {
            var expected = Sigmoid((w[0] * x[i, 0]) + (w[1] * x[i, 1]) + w[2]);
            if (Math.Abs(expected - probabilities[i, 0]) > 1e-4)
            {
                throw new InvalidOperationException($"ONNX Runtime computed {probabilities[i, 0]} for row {i}; the C# model computed {expected}. The ONNX export is wrong.");
            }

            correct += (probabilities[i, 0] >= 0.5 ? 1 : 0) == (int)y[i] ? 1 : 0;
        }

        return (double)correct / count;
    }
}
