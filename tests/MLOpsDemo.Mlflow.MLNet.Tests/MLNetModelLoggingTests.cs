using Microsoft.ML;
using static MLOpsDemo.Mlflow.MLNet.Tests.Data;

namespace MLOpsDemo.Mlflow.MLNet.Tests;

/// <summary>Logging, registering and loading ML.NET models on the local store (MLflow 3 logged models and registry).</summary>
[Collection(nameof(LocalStoreCollection))]
public class MLNetModelLoggingTests
{
    [Fact]
    public async Task A_logged_model_has_the_three_flavors_and_loads_back_predicting_the_same()
    {
        using var store = new LocalStore();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Blobs());
        var model = BinaryPipeline(ml).Fit(data);

        MLNetModelLogResult logged;
        await using (var run = await store.Client.StartRunAsync(new StartRunOptions { ExperimentName = "mlnet-logging" }, Ct))
        {
            logged = await run.LogMLNetModelAsync(ml, model, new MLNetModelOptions { InputData = data, RegisteredModelName = "blobs" }, Ct);
        }

        Assert.True(logged.OnnxExported);
        Assert.Null(logged.Warning);
        Assert.StartsWith("models:/m-", logged.ModelUri, StringComparison.Ordinal);
        var written = logged.Logged.Model;
        Assert.Equal(["mlnet", "onnx", "python_function"], written.Flavors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("model.zip", written.GetFlavor("mlnet")!.GetString("data"));
        Assert.Equal(MLNetFlavor.CurrentMLNetVersion, written.GetFlavor("mlnet")!.GetString("mlnet_version"));
        Assert.StartsWith("6.", MLNetFlavor.CurrentMLNetVersion, StringComparison.Ordinal);
        Assert.Equal(["X1", "X2", "Label"], written.Signature!.Inputs!.Select(s => s.Name!));
        Assert.Equal(["float", "float", "boolean"], written.Signature.Inputs!.Cast<ColSpec>().Select(s => s.Type));
        Assert.Equal(["Features", "PredictedLabel", "Score", "Probability"], written.Signature.Outputs!.Select(s => s.Name!));
        Assert.Equal("dataframe", written.SavedInputExampleInfo!.Type);
        Assert.Equal("1", logged.Logged.RegisteredVersion!.Version);

        // Loaded by every kind of URI, the model predicts what the trained one predicts.
        var probe = ml.Data.LoadFromEnumerable(Blobs(count: 20, seed: 99));
        var expected = Probabilities(ml, model, probe);
        foreach (var uri in new[] { logged.ModelUri, "models:/blobs/1", $"runs:/{logged.Logged.RunId}/model" })
        {
            var loadedContext = new MLContext(seed: 2);
            var loaded = await store.Client.Models.LoadMLNetModelAsync(uri, loadedContext, Ct);
            Assert.Equal(["X1", "X2", "Label"], loaded.InputSchema.Select(c => c.Name));
            Assert.Equal(expected, Probabilities(loadedContext, loaded.Transformer, probe));
        }

        await store.Client.ModelRegistry.SetAliasAsync("blobs", "champion", "1", Ct);
        var byAlias = await store.Client.Models.LoadMLNetModelAsync("models:/blobs@champion", new MLContext(), Ct);
        Assert.Equal("1", byAlias.Source.Version);
        var engine = new MLContext().Model.CreatePredictionEngine<BlobRow, BlobPrediction>(byAlias.Transformer);
        Assert.True(engine.Predict(new BlobRow { X1 = 1.5f, X2 = 1.5f }).PredictedLabel);
        Assert.False(engine.Predict(new BlobRow { X1 = -1.5f, X2 = -1.5f }).PredictedLabel);
    }

    [Fact]
    public async Task A_pipeline_that_cannot_convert_is_logged_mlnet_only_with_a_warning_naming_the_transform()
    {
        using var store = new LocalStore();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Blobs(count: 100));
        var pipeline = ml.Transforms.Expression("X1Doubled", "x => x * 2", nameof(BlobRow.X1))
            .Append(ml.Transforms.Concatenate("Features", "X1Doubled", nameof(BlobRow.X2)))
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression(maximumNumberOfIterations: 5));
        var model = pipeline.Fit(data);

        MLNetModelLogResult logged;
        await using (var run = await store.Client.StartRunAsync(new StartRunOptions { ExperimentName = "mlnet-logging" }, Ct))
        {
            logged = await run.LogMLNetModelAsync(ml, model, new MLNetModelOptions { InputData = data }, Ct);
        }

        Assert.False(logged.OnnxExported);
        Assert.Equal("ExpressionTransformer", logged.OnnxBlockedBy);
        Assert.Contains("ExpressionTransformer", logged.Warning, StringComparison.Ordinal);
        Assert.Equal(["mlnet"], logged.Logged.Model.Flavors.Keys);
        var downloaded = await store.Client.Models.DownloadModelAsync(logged.ModelUri, Path.Combine(store.Path, "dl"), Ct);
        Assert.True(File.Exists(Path.Combine(downloaded.LocalPath, "model.zip")));
        Assert.False(File.Exists(Path.Combine(downloaded.LocalPath, "model.onnx")));
    }

    [Fact]
    public async Task Excluded_columns_leave_the_schema_the_signature_the_example_and_the_ONNX_inputs()
    {
        using var store = new LocalStore();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Blobs(100));
        var model = BinaryPipeline(ml).Fit(data);
        var directory = Path.Combine(store.Path, "saved");

        var (written, onnx, _) = await store.Client.Models.SaveMLNetModelAsync(directory, ml, model, new MLNetModelOptions { InputData = data, ExcludeColumns = ["Label"] }, Ct);

        Assert.True(onnx);
        Assert.Equal(["X1", "X2"], written.Signature!.Inputs!.Select(i => i.Name!));
        Assert.DoesNotContain("Label", await File.ReadAllTextAsync(Path.Combine(directory, "input_example.json"), Ct), StringComparison.Ordinal);
        var onnxText = System.Text.Encoding.Latin1.GetString(await File.ReadAllBytesAsync(Path.Combine(directory, "model.onnx"), Ct));
        // ML.NET's export passes every graph input through as "<input>.output": X1 is an input, Label is not.
        Assert.Contains("X1.output", onnxText, StringComparison.Ordinal);
        Assert.Equal(Occurrences(onnxText, "PredictedLabel.output"), Occurrences(onnxText, "Label.output"));
        using var zip = File.OpenRead(Path.Combine(directory, "model.zip"));
        ml.Model.Load(zip, out var schema);
        Assert.Equal(["X1", "X2"], schema.Select(c => c.Name));

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => store.Client.Models.SaveMLNetModelAsync(Path.Combine(store.Path, "other"), ml, model, new MLNetModelOptions { InputData = data, ExcludeColumns = ["Target"] }, Ct));
        Assert.Contains("Target", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Loading_a_model_without_the_mlnet_flavor_lists_its_flavors()
    {
        using var store = new LocalStore();
        var onnxFile = Path.Combine(store.Path, "model.onnx");
        await File.WriteAllBytesAsync(onnxFile, [8, 7], Ct);
        string uri;
        await using (var run = await store.Client.StartRunAsync(new StartRunOptions { ExperimentName = "mlnet-logging" }, Ct))
        {
            uri = (await store.Client.Models.LogModelAsync(run.RunId, new LogModelOptions { Flavor = new OnnxFlavor(), ModelFile = onnxFile }, Ct)).ModelUri;
        }

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => store.Client.Models.LoadMLNetModelAsync(uri, new MLContext(), Ct));
        Assert.Contains("no 'mlnet' flavor", ex.Message, StringComparison.Ordinal);
        Assert.Contains("its flavors: onnx, python_function", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Options_are_checked_before_anything_is_sent()
    {
        using var store = new LocalStore();
        var ml = new MLContext();
        var data = ml.Data.LoadFromEnumerable(Blobs(count: 10));
        var model = ml.Transforms.Concatenate("Features", "X1", "X2").Fit(data);

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => store.Client.Models.LogMLNetModelAsync("0123456789abcdef0123456789abcdef", ml, model, new MLNetModelOptions { InputData = data, InputExampleRows = -1 }, Ct));
        Assert.Contains("InputExampleRows", ex.Message, StringComparison.Ordinal);
    }

    private static int Occurrences(string text, string value) => text.Split(value).Length - 1;

    internal static float[] Probabilities(MLContext ml, ITransformer model, IDataView data) =>
        ml.Data.CreateEnumerable<BlobPrediction>(model.Transform(data), reuseRowObject: false).Select(p => p.Probability).ToArray();
}
