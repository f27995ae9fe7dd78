using System.Globalization;
using Microsoft.ML;
using MLOpsDemo.Mlflow;
using MLOpsDemo.Mlflow.MLNet;

namespace MLOpsDemo.Samples;

/// <summary>What one TrainAndRegister run produced.</summary>
/// <param name="RunId">The tracked run (ended FINISHED).</param>
/// <param name="Accuracy">The accuracy on the held-out quarter of the data (the <c>accuracy</c> metric).</param>
/// <param name="ModelUri">Where the MLflow model was logged (<c>runs:/…/model</c> or <c>models:/m-…</c>).</param>
/// <param name="OnnxExported">Whether the model also carries the ONNX export (flavors <c>onnx</c> + <c>python_function</c>).</param>
/// <param name="RegisteredVersion">The registered model version, or <see langword="null"/> when the store has no registry.</param>
/// <param name="Promotion">The champion decision, or <see langword="null"/> when nothing was registered.</param>
/// <param name="RegistryUnavailable">Why registration was skipped, when it was.</param>
public sealed record TrainAndRegisterResult(
    string RunId,
    double Accuracy,
    string ModelUri,
    bool OnnxExported,
    string? RegisteredVersion,
    PromotionResult? Promotion,
    string? RegistryUnavailable);

/// <summary>One row of the sample's data set: two features and the class.</summary>
public sealed class BlobRow
{
    /// <summary>The first feature.</summary>
    public float X1 { get; set; }

    /// <summary>The second feature.</summary>
    public float X2 { get; set; }

    /// <summary>The class.</summary>
    public bool Label { get; set; }
}

/// <summary>
/// The TrainAndRegister sample's code (linked into the ML.NET package's tests, which run exactly this): an ML.NET
/// logistic regression (SGD, calibrated) trained on two Gaussian blobs (fixed seed) with MLflow autologging, evaluated
/// on a held-out quarter, logged as an MLflow model (mlnet + ONNX flavors, signature, input example), registered, and
/// promoted to the alias <see cref="Alias"/> only when its <see cref="Metric"/> beats the current holder's.
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

    /// <summary>Trains, logs, registers under <paramref name="modelName"/> and promotes when better.</summary>
    /// <param name="client">Where to track and register.</param>
    /// <param name="modelName">The registered model name.</param>
    /// <param name="learningRate">SGD's initial learning rate (positive).</param>
    /// <param name="epochs">SGD's number of passes over the data (at least 1).</param>
    /// <param name="cancellationToken">Cancels the work; the run then ends KILLED.</param>
    /// <returns>What was trained, logged, registered and decided.</returns>
    public static async Task<TrainAndRegisterResult> RunAsync(MlflowClient client, string modelName, double learningRate = 0.5, int epochs = 40, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentOutOfRangeException.ThrowIfLessThan(epochs, 1);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(learningRate);
        var options = new StartRunOptions
        {
            ExperimentName = ExperimentName,
            RunName = string.Create(CultureInfo.InvariantCulture, $"sgd-lr{learningRate}-e{epochs}"),
        };
        var (runId, accuracy, modelUri, onnx, version, unavailable) = await client.RunAsync(
            async run =>
            {
                var ml = new MLContext(seed: Seed);
                var data = ml.Data.LoadFromEnumerable(MakeData(new Random(Seed), Samples));
                var split = ml.Data.TrainTestSplit(data, testFraction: 0.25, seed: Seed);
                run.LogParams(new Dictionary<string, string>
                {
                    ["n_samples"] = Samples.ToString(CultureInfo.InvariantCulture),
                    ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
                });

                // The pipeline is plain ML.NET; autologging records its settings, the training time, ML.NET's
                // messages and the evaluation metrics (accuracy, auc, f1_score, log_loss…).
                var pipeline = ml.Transforms.Concatenate("Features", nameof(BlobRow.X1), nameof(BlobRow.X2))
                    .Append(ml.BinaryClassification.Trainers.SgdCalibrated(numberOfIterations: epochs, learningRate: learningRate));
                ITransformer model;
                double accuracy;
                await using (var autolog = ml.AutologToMlflow(run))
                {
                    model = autolog.Fit(pipeline, split.TrainSet);
                    accuracy = autolog.LogEvaluation(ml.BinaryClassification.Evaluate(model.Transform(split.TestSet))).Accuracy;
                }

                var modelOptions = new MLNetModelOptions
                {
                    InputData = split.TrainSet,
                    ExcludeColumns = [nameof(BlobRow.Label)],
                    ArtifactPath = ArtifactPath,
                    RegisteredModelName = modelName,
                    ModelType = "classifier",
                };
                try
                {
                    var logged = await run.LogMLNetModelAsync(ml, model, modelOptions, cancellationToken);
                    return (run.RunId, accuracy, logged.ModelUri, logged.OnnxExported, logged.Logged.RegisteredVersion?.Version, (string?)null);
                }
                catch (NotSupportedException ex)
                {
                    // A tracking store without a model registry: log the model without registering it.
                    var logged = await run.LogMLNetModelAsync(ml, model, modelOptions with { RegisteredModelName = null }, cancellationToken);
                    return (run.RunId, accuracy, logged.ModelUri, logged.OnnxExported, (string?)null, ex.Message);
                }
            },
            options,
            cancellationToken);

        // Promote after the run has ended, so that the decision reads its final metrics.
        var promotion = version is null
            ? null
            : await client.ModelRegistry.PromoteAsync(modelName, version, Alias, Metric, higherIsBetter: true, cancellationToken);
        return new TrainAndRegisterResult(runId, accuracy, modelUri, onnx, version, promotion, unavailable);
    }

    /// <summary>Two Gaussian blobs (σ = 1): class true around (1, 1), class false around (-1, -1), alternating.</summary>
    /// <param name="random">The random source (seeded for reproducible data).</param>
    /// <param name="count">How many rows.</param>
    /// <returns>The rows.</returns>
    public static List<BlobRow> MakeData(Random random, int count)
    {
        ArgumentNullException.ThrowIfNull(random);
        var rows = new List<BlobRow>(count);
        for (var i = 0; i < count; i++)
        {
            var label = i % 2 == 1;
            var center = label ? 1.0 : -1.0;
            rows.Add(new BlobRow { X1 = (float)(center + Gaussian(random)), X2 = (float)(center + Gaussian(random)), Label = label });
        }

        return rows;
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble())) * Math.Cos(2.0 * Math.PI * random.NextDouble());
}
