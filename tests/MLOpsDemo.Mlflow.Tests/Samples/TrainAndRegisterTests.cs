using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLOpsDemo.Mlflow.Tests.Integration;
using MLOpsDemo.Samples;

namespace MLOpsDemo.Mlflow.Tests.Samples;

/// <summary>
/// The TrainAndRegister sample's code (linked from samples/TrainAndRegister) on the zero-config local store, then what
/// samples/ModelService does with the result: resolve <c>models:/…@champion</c>, download it, run it in ONNX Runtime.
/// </summary>
[Collection(nameof(WorkingDirectoryCollection))]
public class TrainAndRegisterTests
{
    private const string ModelName = "samples-classifier";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Champion_moves_only_to_a_better_model_and_the_served_model_computes_the_trained_one()
    {
        SkipUnlessOnnxRuntimeLoads();
        using var cwd = new TempWorkingDirectory();
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = "sqlite:///mlflow.db" });

        // Untrained (all weights 0: every probability 0.5, so every row is class 1): 50 %, first holder of the alias.
        var untrained = await TrainAndRegisterTraining.RunAsync(client, ModelName, epochs: 0, cancellationToken: Ct);
        Assert.Equal(0.5, untrained.Accuracy);
        Assert.Equal("1", untrained.RegisteredVersion);
        Assert.Equal(PromotionDecision.PromotedNoCurrentHolder, untrained.Promotion!.Decision);

        var trained = await TrainAndRegisterTraining.RunAsync(client, ModelName, cancellationToken: Ct);
        Assert.True(trained.Accuracy > 0.85, $"accuracy {trained.Accuracy}");
        Assert.Equal("2", trained.RegisteredVersion);
        Assert.Equal(PromotionDecision.PromotedBeatsCurrent, trained.Promotion!.Decision);
        Assert.Equal("1", trained.Promotion.PreviousVersion);

        // Same data, same seed: a tie, which keeps the holder.
        var again = await TrainAndRegisterTraining.RunAsync(client, ModelName, cancellationToken: Ct);
        Assert.Equal(trained.Accuracy, again.Accuracy);
        Assert.Equal("3", again.RegisteredVersion);
        Assert.Equal(PromotionDecision.KeptCurrentNotBetter, again.Promotion!.Decision);
        Assert.Equal("2", (await client.ModelRegistry.GetVersionByAliasAsync(ModelName, TrainAndRegisterTraining.Alias, Ct)).Version);

        var run = await client.Runs.GetAsync(trained.RunId, Ct);
        Assert.Equal(RunStatus.Finished, run.Info.Status);
        Assert.Equal("0.5", run.Data.Params["learning_rate"]);
        Assert.Equal("40", run.Data.Params["epochs"]);
        Assert.Contains(run.Data.Metrics, m => m.Key == "accuracy" && m.Value == trained.Accuracy);
        Assert.Contains(run.Data.Metrics, m => m.Key == "loss" && m.Step == 39);

        // What ModelService does at start-up.
        var model = await client.Models.DownloadModelAsync($"models:/{ModelName}@{TrainAndRegisterTraining.Alias}", Path.Combine(cwd.Path, "served"), Ct);
        Assert.Equal("2", model.Source.Version);
        Assert.Equal(trained.RunId, model.Model.RunId);
        Assert.Contains("onnx", model.Model.Flavors.Keys);
        Assert.Contains("python_function", model.Model.Flavors.Keys);
        var inputSpec = Assert.IsType<TensorSpec>(Assert.Single(model.Model.Signature!.Inputs!));
        Assert.Equal("input", inputSpec.Name);
        Assert.Equal([-1L, 2L], inputSpec.Shape);

        using var session = new InferenceSession(model.GetDataPath()!);
        float[][] rows = [[1f, 1f], [-1f, -1f], [0.5f, -0.2f]];
        var input = new DenseTensor<float>(rows.SelectMany(r => r).ToArray(), [rows.Length, 2]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", input)]);
        var probabilities = results.Single(r => r.Name == "probability").AsTensor<float>();
        for (var i = 0; i < rows.Length; i++)
        {
            var w = trained.Weights;
            var expected = TrainAndRegisterTraining.Sigmoid((w[0] * rows[i][0]) + (w[1] * rows[i][1]) + w[2]);
            Assert.Equal(expected, probabilities[i, 0], 5);
        }

        Assert.True(probabilities[0, 0] > 0.9 && probabilities[1, 0] < 0.1, "the champion separates the two blobs");
    }

    [Fact]
    public void The_generated_data_is_the_same_for_the_same_seed_and_balanced()
    {
        var (x1, y1) = TrainAndRegisterTraining.MakeData(new Random(42), 100);
        var (x2, y2) = TrainAndRegisterTraining.MakeData(new Random(42), 100);

        Assert.Equal(x1, x2);
        Assert.Equal(y1, y2);
        Assert.Equal(50, y1.Count(label => label == 1));
    }

    private static void SkipUnlessOnnxRuntimeLoads()
    {
        try
        {
            _ = OrtEnv.Instance();
        }
        catch (TypeInitializationException ex) when (ex.InnerException is DllNotFoundException or EntryPointNotFoundException)
        {
            Assert.Skip($"ONNX Runtime's native library does not load on this machine: {ex.InnerException.Message}");
        }
        catch (DllNotFoundException ex)
        {
            Assert.Skip($"ONNX Runtime's native library does not load on this machine: {ex.Message}");
        }
    }
}
