#pragma warning disable xUnit1051 // the README examples are copied as written (no cancellation tokens)
using Microsoft.ML;
using static MLOpsDemo.Mlflow.MLNet.Tests.Data;

namespace MLOpsDemo.Mlflow.MLNet.Tests;

/// <summary>The examples of src/MLOpsDemo.Mlflow.MLNet/README.md, as written there, on the local store.</summary>
[Collection(nameof(LocalStoreCollection))]
public class ReadmeExamplesTests
{
    [Fact]
    public async Task Getting_started_logging_loading_and_sweep_examples_run()
    {
        using var store = new LocalStore();
        var client = store.Client;
        var rows = Blobs(200);

        // Getting started
        await using var run = await client.StartRunAsync(new StartRunOptions { ExperimentName = "churn" });
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(rows);
        var split = ml.Data.TrainTestSplit(data, testFraction: 0.25, seed: 1);
        var pipeline = ml.Transforms.Concatenate("Features", "X1", "X2")
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression());

        ITransformer model;
        await using (var autolog = ml.AutologToMlflow(run, new MLNetAutologOptions { LogModel = true }))
        {
            model = autolog.Fit(pipeline, split.TrainSet);
            autolog.LogEvaluation(ml.BinaryClassification.Evaluate(model.Transform(split.TestSet)));
        }

        // Model logging
        var logged = await run.LogMLNetModelAsync(ml, model, new MLNetModelOptions
        {
            InputData = split.TrainSet,
            ExcludeColumns = ["Label"],
            RegisteredModelName = "churn",
        });
        Assert.True(logged.OnnxExported);

        // Loading
        await client.ModelRegistry.SetAliasAsync("churn", "champion", logged.Logged.RegisteredVersion!.Version, Ct);
        var champion = await client.Models.LoadMLNetModelAsync("models:/churn@champion", ml);
        var engine = ml.Model.CreatePredictionEngine<BlobRow, BlobPrediction>(champion.Transformer);
        Assert.True(engine.Predict(new BlobRow { X1 = 2, X2 = 2 }).PredictedLabel);

        // Serving
        await using var served = new ChampionModel<BlobRow, BlobPrediction>(client, "churn", "champion", new ChampionModelOptions
        {
            PollInterval = TimeSpan.FromSeconds(30),
            Flavor = ServingFlavor.Auto,
        });
        var firstCheck = await served.StartAsync();
        Assert.Equal(ChampionModelPollOutcome.Loaded, firstCheck.Outcome);
        Assert.True(served.Predict(new BlobRow { X1 = 2, X2 = 2 }).PredictedLabel);
        Assert.Equal(("1", "mlnet"), (served.Current!.Version, served.Current.Flavor));

        // Sweep
        var result = await run.SweepAsync(
            new Dictionary<string, IReadOnlyList<object?>> { ["l2"] = [0.01f, 0.1f, 1f], ["iterations"] = [10, 50] },
            (trial, ct) =>
            {
                var model = ml.Transforms.Concatenate("Features", "X1", "X2")
                    .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression(l2Regularization: trial.Get<float>("l2"), maximumNumberOfIterations: trial.Get<int>("iterations")))
                    .Fit(split.TrainSet);
                var accuracy = ml.BinaryClassification.Evaluate(model.Transform(split.TestSet)).Accuracy;
                return Task.FromResult(new SweepTrialResult(accuracy, model));
            },
            new SweepOptions { Metric = "accuracy", MLContext = ml, BestModelOptions = new MLNetModelOptions { InputData = split.TrainSet } });
        Assert.Equal(6, result.Trials.Count);
        Assert.NotNull(result.LoggedModel);
    }

    [Fact]
    public async Task Autologging_without_a_run_example_runs()
    {
        using var store = new LocalStore();
        var client = store.Client;
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 200).Select(i => new BlobRow { X1 = i % 2 == 0 ? 2 : -2, X2 = (i % 7) - 3, Label = i % 2 == 0 }));
        var split = ml.Data.TrainTestSplit(data, testFraction: 0.25, seed: 1);
        var pipeline = ml.Transforms.Concatenate("Features", "X1", "X2")
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression());

        await using (var autolog = ml.AutologToMlflow(client, new MLNetAutologOptions { RunOptions = new StartRunOptions { ExperimentName = "churn" } }))
        {
            var first = await autolog.FitAsync(pipeline, split.TrainSet);                              // starts run A
            autolog.LogEvaluation(ml.BinaryClassification.Evaluate(first.Transform(split.TestSet)));   // into run A
            var second = await autolog.FitAsync(pipeline, data);                                       // ends A, starts run B
        }                                                                                               // ends B

        var experiment = await client.Experiments.GetByNameAsync("churn", Ct);
        var runs = await client.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = [experiment!.ExperimentId] }, Ct).ToListAsync(Ct);
        Assert.Equal(2, runs.Count);
        Assert.All(runs, r => Assert.Equal(RunStatus.Finished, r.Info.Status));
        Assert.Single(runs, r => r.Data.Metrics.Any(m => m.Key == "accuracy"));
    }
}
