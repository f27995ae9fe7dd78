using Microsoft.ML;
using MLOpsDemo.Samples;

namespace MLOpsDemo.Mlflow.MLNet.Tests.Samples;

/// <summary>
/// The TrainAndRegister sample's code (linked from samples/TrainAndRegister) on the zero-config local store, then what
/// samples/ModelService does with the result: load <c>models:/…@champion</c>'s mlnet flavor and predict with a
/// PredictionEngine.
/// </summary>
[Collection(nameof(LocalStoreCollection))]
public class TrainAndRegisterTests
{
    private const string ModelName = "samples-classifier";

    [Fact]
    public async Task Champion_moves_only_to_a_better_model_and_the_served_model_predicts_what_was_trained()
    {
        using var store = new LocalStore();
        var client = store.Client;

        // Two SGD passes with a large step: a weaker model, first holder of the alias.
        var weak = await TrainAndRegisterTraining.RunAsync(client, ModelName, learningRate: 5, epochs: 2, cancellationToken: Data.Ct);
        Assert.Equal("1", weak.RegisteredVersion);
        Assert.Equal(PromotionDecision.PromotedNoCurrentHolder, weak.Promotion!.Decision);
        Assert.True(weak.OnnxExported);

        var trained = await TrainAndRegisterTraining.RunAsync(client, ModelName, cancellationToken: Data.Ct);
        Assert.True(trained.Accuracy > weak.Accuracy, $"trained {trained.Accuracy} vs weak {weak.Accuracy}");
        Assert.True(trained.Accuracy > 0.85, $"accuracy {trained.Accuracy}");
        Assert.Equal("2", trained.RegisteredVersion);
        Assert.Equal(PromotionDecision.PromotedBeatsCurrent, trained.Promotion!.Decision);

        // Same data, same seeds: a tie, which keeps the holder.
        var again = await TrainAndRegisterTraining.RunAsync(client, ModelName, cancellationToken: Data.Ct);
        Assert.Equal(trained.Accuracy, again.Accuracy);
        Assert.Equal(PromotionDecision.KeptCurrentNotBetter, again.Promotion!.Decision);
        Assert.Equal("2", (await client.ModelRegistry.GetVersionByAliasAsync(ModelName, TrainAndRegisterTraining.Alias, Data.Ct)).Version);

        // Autologging recorded the pipeline, the duration and the evaluation.
        var run = await client.Runs.GetAsync(trained.RunId, Data.Ct);
        Assert.Equal(RunStatus.Finished, run.Info.Status);
        Assert.Equal("SgdCalibratedTrainer", run.Data.Params["estimator"]);
        Assert.Equal("40", run.Data.Params["sgdcalibratedtrainer__number_of_iterations"]);
        Assert.Equal("0.5", run.Data.Params["sgdcalibratedtrainer__learning_rate"]);
        Assert.Contains(run.Data.Metrics, m => m.Key == "accuracy" && m.Value == trained.Accuracy);
        Assert.Contains(run.Data.Metrics, m => m.Key == "auc");
        Assert.Contains(run.Data.Metrics, m => m.Key == "training_duration_seconds");

        // What ModelService does: the champion's mlnet flavor in a PredictionEngine.
        var ml = new MLContext();
        var champion = await client.Models.LoadMLNetModelAsync($"models:/{ModelName}@{TrainAndRegisterTraining.Alias}", ml, Data.Ct);
        Assert.Equal("2", champion.Source.Version);
        Assert.Equal(["mlnet", "onnx", "python_function"], champion.Model.Flavors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["X1", "X2"], champion.Model.Signature!.Inputs!.Select(i => i.Name!));
        var engine = ml.Model.CreatePredictionEngine<BlobRow, BlobPrediction>(champion.Transformer);
        Assert.True(engine.Predict(new BlobRow { X1 = 1.5f, X2 = 1.5f }).Probability > 0.9);
        Assert.True(engine.Predict(new BlobRow { X1 = -1.5f, X2 = -1.5f }).Probability < 0.1);

        // The held-out accuracy recomputed from the served model is the logged one.
        var data = ml.Data.LoadFromEnumerable(TrainAndRegisterTraining.MakeData(new Random(42), 400));
        var test = new MLContext(seed: 42).Data.TrainTestSplit(data, testFraction: 0.25, seed: 42).TestSet;
        Assert.Equal(trained.Accuracy, ml.BinaryClassification.Evaluate(champion.Transformer.Transform(test)).Accuracy, 10);
    }

    [Fact]
    public void The_generated_data_is_the_same_for_the_same_seed_and_balanced()
    {
        var a = TrainAndRegisterTraining.MakeData(new Random(42), 100);
        var b = TrainAndRegisterTraining.MakeData(new Random(42), 100);

        Assert.Equal(a.Select(r => (r.X1, r.X2, r.Label)), b.Select(r => (r.X1, r.X2, r.Label)));
        Assert.Equal(50, a.Count(r => r.Label));
    }

    public sealed class BlobPrediction
    {
        public float Probability { get; set; }
    }
}
