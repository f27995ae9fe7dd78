using MLOpsDemo.Samples;
using SampleRow = MLOpsDemo.Samples.BlobRow;

namespace MLOpsDemo.Mlflow.MLNet.Tests;

/// <summary>
/// The ONNX export of the TrainAndRegister sample's model, run with ONNX Runtime, predicts what the ML.NET model
/// predicts on the sample's data. This is the file Python's <c>mlflow.onnx</c>/<c>mlflow.pyfunc</c> run (the Python
/// kit of the CI has no onnxruntime, so the check is made here, with the same runtime).
/// </summary>
[Collection(nameof(LocalStoreCollection))]
public class OnnxRuntimeParityTests
{
    [Fact]
    public async Task The_onnx_export_run_by_onnx_runtime_predicts_what_the_mlnet_model_predicts_on_the_sample_data()
    {
        Assert.SkipWhen(OnnxRuntimeProbe.Unavailable() is not null, OnnxRuntimeProbe.Unavailable() ?? "");
        using var store = new LocalStore();
        var trained = await TrainAndRegisterTraining.RunAsync(store.Client, "onnx-parity", cancellationToken: Data.Ct);
        Assert.True(trained.OnnxExported);
        var rows = TrainAndRegisterTraining.MakeData(new Random(42), 400);

        BlobPrediction[] mlnet, onnx;
        await using (var champion = new ChampionModel<SampleRow, BlobPrediction>(store.Client, "onnx-parity", options: new ChampionModelOptions { Flavor = ServingFlavor.MLNet, PollInterval = Timeout.InfiniteTimeSpan }))
        {
            await champion.StartAsync(Data.Ct);
            mlnet = champion.Predict(rows);
        }

        // What a service (or Python's pyfunc) feeds: the features only; the label was excluded from the export.
        await using (var champion = new ChampionModel<BlobFeatures, BlobPrediction>(store.Client, "onnx-parity", options: new ChampionModelOptions { Flavor = ServingFlavor.Onnx, PollInterval = Timeout.InfiniteTimeSpan }))
        {
            var loaded = await champion.StartAsync(Data.Ct);
            Assert.True(loaded.Outcome == ChampionModelPollOutcome.Loaded, champion.LastError);
            Assert.Equal("onnx", champion.Current!.Flavor);
            onnx = champion.Predict(rows.Select(r => new BlobFeatures { X1 = r.X1, X2 = r.X2 }).ToList());
        }

        Assert.Equal(rows.Count, onnx.Length);
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal(mlnet[i].Probability, onnx[i].Probability, 1e-5f);
            Assert.Equal(mlnet[i].Score, onnx[i].Score, 1e-4f);
            Assert.Equal(mlnet[i].PredictedLabel, onnx[i].PredictedLabel);
        }

        // Not a constant: the model separates the two blobs.
        Assert.Contains(onnx, p => p.Probability > 0.9f);
        Assert.Contains(onnx, p => p.Probability < 0.1f);
    }
}
