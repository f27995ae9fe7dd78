using Microsoft.ML;
using static MLOpsDemo.Mlflow.MLNet.Tests.Data;

namespace MLOpsDemo.Mlflow.MLNet.Tests;

/// <summary>The saved directory compared with what Python's mlflow.onnx.save_model writes (TestData/python-onnx-reference).</summary>
[Collection(nameof(LocalStoreCollection))]
public class MLmodelContentTests
{
    private static readonly string Reference = Path.Combine(AppContext.BaseDirectory, "TestData", "python-onnx-reference");

    [Fact]
    public async Task The_onnx_and_python_function_flavors_have_the_keys_and_values_Python_writes()
    {
        using var store = new LocalStore();
        var python = await MlflowModel.LoadAsync(Path.Combine(Reference, "MLmodel"), Ct);
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Blobs(count: 60));
        var model = BinaryPipeline(ml).Fit(data);
        var directory = Path.Combine(store.Path, "saved");

        var (written, onnx, _) = await store.Client.Models.SaveMLNetModelAsync(directory, ml, model, new MLNetModelOptions { InputData = data, PythonVersion = "3.11.2" }, Ct);

        Assert.True(onnx);
        var ours = await MlflowModel.LoadAsync(directory, Ct);
        Assert.Equal(written.ToYaml(), ours.ToYaml());
        foreach (var flavor in new[] { "onnx", "python_function" })
        {
            Assert.Equal(python.GetFlavor(flavor)!.Config.Keys.Order(StringComparer.Ordinal), ours.GetFlavor(flavor)!.Config.Keys.Order(StringComparer.Ordinal));
        }

        var (pyOnnx, ourOnnx) = (python.GetFlavor("onnx")!, ours.GetFlavor("onnx")!);
        Assert.Equal(pyOnnx.GetString("data"), ourOnnx.GetString("data"));
        Assert.Null(ourOnnx.Config["code"]);
        Assert.Null(ourOnnx.Config["onnx_session_options"]);
        Assert.Equal((IEnumerable<object?>)pyOnnx.Config["providers"]!, (IEnumerable<object?>)ourOnnx.Config["providers"]!);
        var (pyFunc, ourFunc) = (python.GetFlavor("python_function")!, ours.GetFlavor("python_function")!);
        Assert.Equal("mlflow.onnx", ourFunc.GetString("loader_module"));
        Assert.Equal(pyFunc.GetString("data"), ourFunc.GetString("data"));
        Assert.Equal(pyFunc.GetString("python_version"), ourFunc.GetString("python_version"));
        var (pyEnv, ourEnv) = ((IReadOnlyDictionary<string, object?>)pyFunc.Config["env"]!, (IReadOnlyDictionary<string, object?>)ourFunc.Config["env"]!);
        Assert.Equal(pyEnv.OrderBy(e => e.Key), ourEnv.OrderBy(e => e.Key));

        // The env files Python writes, with the same top-level keys and the python version they claim.
        foreach (var file in new[] { "conda.yaml", "python_env.yaml", "requirements.txt", "model.onnx", "model.zip", "input_example.json", "serving_input_example.json" })
        {
            Assert.True(File.Exists(Path.Combine(directory, file)), file);
        }

        foreach (var file in new[] { "conda.yaml", "python_env.yaml" })
        {
            Assert.Equal(TopLevelKeys(Path.Combine(Reference, file)), TopLevelKeys(Path.Combine(directory, file)));
        }

        Assert.Contains("python: 3.11.2", await File.ReadAllTextAsync(Path.Combine(directory, "python_env.yaml"), Ct), StringComparison.Ordinal);
        Assert.Equal(
            (await File.ReadAllLinesAsync(Path.Combine(Reference, "requirements.txt"), Ct)).Select(l => l.Split("==")[0]),
            (await File.ReadAllLinesAsync(Path.Combine(directory, "requirements.txt"), Ct)).Select(l => l.Split("==")[0]));
    }

    private static List<string> TopLevelKeys(string yamlFile) =>
        File.ReadAllLines(yamlFile).Where(l => l.Length > 0 && char.IsLetter(l[0]) && l.Contains(':', StringComparison.Ordinal)).Select(l => l[..l.IndexOf(':', StringComparison.Ordinal)]).ToList();
}
