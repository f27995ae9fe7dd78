using System.Text.Json;
using Microsoft.ML;
using MLOpsDemo.Mlflow.TestSupport;
using static MLOpsDemo.Mlflow.MLNet.Tests.Data;

namespace MLOpsDemo.Mlflow.MLNet.Tests;

/// <summary>
/// Against real MLflow servers and the Python client (MLFLOW_TEST_TRACKING_URI_3/2, MLFLOW_TEST_PYTHONPATH_3/2; skipped
/// visibly without them): a model logged by this library is loaded by Python's <c>mlflow.onnx.load_model</c>, its graph
/// passes <c>onnx.checker</c>, <c>mlflow.models.Model.load</c> shows the flavors and the signature, and the library
/// loads the ML.NET model back from the server predicting what the trained one predicts. onnxruntime is not installed
/// next to these Pythons, so <c>mlflow.pyfunc.load_model</c> is only checked to reach the ONNX loader (it stops at
/// <c>import onnxruntime</c>); no Python-side prediction is run.
/// </summary>
public class PythonInteropTests
{
    private const string Script = """
        import json, sys
        import mlflow, mlflow.onnx, onnx
        from mlflow.models import Model
        uri = sys.argv[1]
        graph = mlflow.onnx.load_model(uri)
        onnx.checker.check_model(graph)
        local = mlflow.artifacts.download_artifacts(uri)
        model = Model.load(local)
        pyfunc_error = ""
        try:
            mlflow.pyfunc.load_model(uri)
        except Exception as ex:
            pyfunc_error = f"{type(ex).__name__}: {ex}"
        print(json.dumps({
            "flavors": sorted(model.flavors),
            "loader": model.flavors["python_function"]["loader_module"],
            "inputs": model.signature.inputs.to_dict(),
            "outputs": model.signature.outputs.to_dict(),
            "graph_inputs": [i.name for i in graph.graph.input],
            "graph_outputs": [o.name for o in graph.graph.output],
            "example_columns": json.load(open(local + "/input_example.json"))["columns"],
            "pyfunc_error": pyfunc_error,
        }))
        """;

    [Theory]
    [InlineData(3)]
    [InlineData(2)]
    public async Task Python_loads_the_ONNX_export_and_reads_flavors_and_signature(int major)
    {
        var url = RealMlflow.SkipUnlessServer(major);
        var python = RealMlflow.SkipUnlessPython(major);
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = url });
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Blobs(120));
        var model = BinaryPipeline(ml).Fit(data);
        var name = "mlnet-interop-" + Guid.NewGuid().ToString("N")[..8];

        MLNetModelLogResult logged;
        await using (var run = await client.StartRunAsync(new StartRunOptions { ExperimentName = name }, Ct))
        {
            logged = await run.LogMLNetModelAsync(ml, model, new MLNetModelOptions { InputData = data, RegisteredModelName = name }, Ct);
        }

        Assert.True(logged.OnnxExported);
        Assert.StartsWith(major == 3 ? "models:/m-" : "runs:/", logged.ModelUri, StringComparison.Ordinal);
        var result = await python.RunAsync(Script, [$"models:/{name}/1"], new Dictionary<string, string> { ["MLFLOW_TRACKING_URI"] = url }, cancellationToken: Ct);
        Assert.True(result.ExitCode == 0, result.StandardError);
        using var json = JsonDocument.Parse(result.LastLine);
        var root = json.RootElement;
        Assert.Equal(["mlnet", "onnx", "python_function"], root.GetProperty("flavors").EnumerateArray().Select(f => f.GetString()!));
        Assert.Equal("mlflow.onnx", root.GetProperty("loader").GetString());
        Assert.Equal(["X1", "X2", "Label"], root.GetProperty("inputs").EnumerateArray().Select(i => i.GetProperty("name").GetString()!));
        Assert.Equal(["float", "float", "boolean"], root.GetProperty("inputs").EnumerateArray().Select(i => i.GetProperty("type").GetString()!));
        Assert.Contains(root.GetProperty("outputs").EnumerateArray(), o => o.GetProperty("name").GetString() == "Probability");
        Assert.Equal(["X1", "X2", "Label"], root.GetProperty("graph_inputs").EnumerateArray().Select(i => i.GetString()!));
        Assert.Contains("Probability.output", root.GetProperty("graph_outputs").EnumerateArray().Select(o => o.GetString()!));
        Assert.Equal(["X1", "X2", "Label"], root.GetProperty("example_columns").EnumerateArray().Select(i => i.GetString()!));
        Assert.Contains("onnxruntime", root.GetProperty("pyfunc_error").GetString(), StringComparison.Ordinal);

        // The library loads the ML.NET model back from the server: same predictions.
        var loaded = await client.Models.LoadMLNetModelAsync($"models:/{name}/1", ml, Ct);
        Assert.Equal(MLNetModelLoggingTests.Probabilities(ml, model, data), MLNetModelLoggingTests.Probabilities(ml, loaded.Transformer, data));

        // With the label excluded, the graph Python runs takes the features only (what a caller has at prediction time).
        await using (var run = await client.StartRunAsync(new StartRunOptions { ExperimentName = name }, Ct))
        {
            await run.LogMLNetModelAsync(ml, model, new MLNetModelOptions { InputData = data, ExcludeColumns = ["Label"], RegisteredModelName = name }, Ct);
        }

        var excluded = await python.RunAsync(Script, [$"models:/{name}/2"], new Dictionary<string, string> { ["MLFLOW_TRACKING_URI"] = url }, cancellationToken: Ct);
        Assert.True(excluded.ExitCode == 0, excluded.StandardError);
        using var excludedJson = JsonDocument.Parse(excluded.LastLine);
        Assert.Equal(["X1", "X2"], excludedJson.RootElement.GetProperty("graph_inputs").EnumerateArray().Select(i => i.GetString()!));
        Assert.Equal(["X1", "X2"], excludedJson.RootElement.GetProperty("inputs").EnumerateArray().Select(i => i.GetProperty("name").GetString()!));
    }

    [Fact]
    public async Task A_model_logged_by_Python_without_the_mlnet_flavor_gives_an_error_listing_its_flavors()
    {
        var url = RealMlflow.SkipUnlessServer(3);
        var python = RealMlflow.SkipUnlessPython(3);
        const string LogFromPython = """
            import sys, mlflow
            from mlflow.pyfunc import PythonModel
            class Echo(PythonModel):
                def predict(self, context, model_input):
                    return model_input
            mlflow.set_experiment(sys.argv[1])
            with mlflow.start_run():
                info = mlflow.pyfunc.log_model(name="model", python_model=Echo(), pip_requirements=["mlflow"])
            print(info.model_uri)
            """;
        var experiment = "mlnet-python-" + Guid.NewGuid().ToString("N")[..8];
        var result = await python.RunAsync(LogFromPython, [experiment], new Dictionary<string, string> { ["MLFLOW_TRACKING_URI"] = url }, cancellationToken: Ct);
        Assert.True(result.ExitCode == 0, result.StandardError);
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = url });

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => client.Models.LoadMLNetModelAsync(result.LastLine, new MLContext(), Ct));
        Assert.Contains("its flavors: python_function", ex.Message, StringComparison.Ordinal);
    }
}
