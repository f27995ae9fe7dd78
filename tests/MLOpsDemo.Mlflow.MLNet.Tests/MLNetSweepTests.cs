using Microsoft.ML;
using static MLOpsDemo.Mlflow.MLNet.Tests.Data;

namespace MLOpsDemo.Mlflow.MLNet.Tests;

[Collection(nameof(LocalStoreCollection))]
public class MLNetSweepTests
{
    [Fact]
    public void The_grid_expands_to_every_combination_in_order()
    {
        var combinations = MLNetSweep.Combinations(new Dictionary<string, IReadOnlyList<object?>> { ["a"] = [1, 2], ["b"] = ["x", "y", "z"] });

        Assert.Equal(6, combinations.Count);
        Assert.Equal([1, 1, 1, 2, 2, 2], combinations.Select(c => (int)c["a"]!));
        Assert.Equal(["x", "y", "z", "x", "y", "z"], combinations.Select(c => (string)c["b"]!));
        Assert.Throws<ArgumentException>(() => MLNetSweep.Combinations(new Dictionary<string, IReadOnlyList<object?>> { ["a"] = [] }));
    }

    [Fact]
    public async Task Each_trial_is_a_nested_run_and_the_best_is_tagged_and_logged()
    {
        using var store = new LocalStore();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Blobs(160));
        var split = ml.Data.TrainTestSplit(data, testFraction: 0.25, seed: 1);

        SweepResult result;
        string parentId;
        await using (var parent = await store.Client.StartRunAsync(new StartRunOptions { ExperimentName = "mlnet-sweep" }, Ct))
        {
            parentId = parent.RunId;
            result = await parent.SweepAsync(
                new Dictionary<string, IReadOnlyList<object?>> { ["l2"] = [0.01f, 10f], ["iterations"] = [1, 20] },
                (trial, _) =>
                {
                    var model = BinaryPipeline(ml, trial.Get<float>("l2")).Fit(split.TrainSet);
                    var metrics = ml.BinaryClassification.Evaluate(model.Transform(split.TestSet));

                    // A metric the test controls: the grid index decides the best trial deterministically.
                    return Task.FromResult(new SweepTrialResult(trial.Index == 2 ? 0.99 : metrics.Accuracy * 0.5, model));
                },
                new SweepOptions { Metric = "accuracy", MLContext = ml, BestModelOptions = new MLNetModelOptions { InputData = split.TrainSet, ArtifactPath = "best_model" } },
                Ct);
        }

        Assert.Equal(4, result.Trials.Count);
        Assert.Equal(2, result.Best.Index);
        Assert.Equal(10f, result.Best.Parameters["l2"]);
        Assert.Equal(1, result.Best.Parameters["iterations"]);
        foreach (var trial in result.Trials)
        {
            var child = await store.Client.Runs.GetAsync(trial.RunId, Ct);
            Assert.Equal(parentId, child.Data.Tags["mlflow.parentRunId"]);
            Assert.Equal($"trial-{trial.Index}", child.Info.RunName);
            Assert.Equal(trial.Metric, child.Data.Metrics.Single(m => m.Key == "accuracy").Value);
            Assert.Equal(trial == result.Best, child.Data.Tags.TryGetValue("best_trial", out var best) && best == "true");
        }

        var parentRun = await store.Client.Runs.GetAsync(parentId, Ct);
        Assert.Equal(result.Best.RunId, parentRun.Data.Tags["best_run_id"]);
        Assert.Equal("10.0", parentRun.Data.Params["best_l2"]); // Python's str() of a float, as MlflowRun.LogParam formats it
        Assert.Equal("4", parentRun.Data.Params["sweep_trials"]);
        Assert.Equal(0.99, parentRun.Data.Metrics.Single(m => m.Key == "best_accuracy").Value);
        Assert.NotNull(result.LoggedModel);
        var loaded = await store.Client.Models.LoadMLNetModelAsync(result.LoggedModel!.ModelUri, ml, Ct);
        Assert.Equal(
            MLNetModelLoggingTests.Probabilities(ml, result.BestModel!, split.TestSet),
            MLNetModelLoggingTests.Probabilities(ml, loaded.Transformer, split.TestSet));
    }
}
