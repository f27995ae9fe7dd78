namespace MLOpsDemo.Mlflow.Tests.Registry;

/// <summary>The code of the README's model registry section, compiled so that the README examples keep matching the API. Not run.</summary>
internal static class ReadmeSnippets
{
    public static async Task<int> RegistryAsync(string runId, string experimentId)
    {
        using var client = new MlflowClient("http://localhost:5000");
        var run = await client.Runs.GetAsync(runId);

        try
        {
            await client.ModelRegistry.CreateAsync("iris", new Dictionary<string, string> { ["team"] = "vision" }, "Iris classifier");
        }
        catch (MlflowException ex) when (ex.ErrorCode == MlflowErrorCodes.ResourceAlreadyExists)
        {
            // The model exists already: add a version.
        }

        var version = await client.ModelRegistry.CreateVersionAsync(
            "iris", run.Info.ArtifactUri + "/model", new CreateModelVersionOptions { RunId = runId, Description = "nightly" });
        await client.ModelRegistry.SetAliasAsync("iris", "champion", version.Version);

        ModelVersion? champion = await client.ModelRegistry.TryGetVersionByAliasAsync("iris", "champion");
        await foreach (var v in client.ModelRegistry.SearchVersionsAsync(new SearchModelVersionsOptions { Filter = "name = 'iris'" }))
        {
            Console.WriteLine($"{v.Version} {v.CurrentStage} [{string.Join(", ", v.Aliases)}]");
        }

        var result = await client.Models.LogModelAsync(runId, new LogModelOptions
        {
            ArtifactPath = "model",
            Flavor = new OnnxFlavor { Providers = ["CPUExecutionProvider"] },
            ModelFile = "artifacts/iris.onnx",
            Signature = new ModelSignature
            {
                Inputs = [new TensorSpec("float32", [-1, 4], "input")],
                Outputs = [new TensorSpec("float32", [-1, 3], "probabilities")],
            },
            InputExample = new ModelInputExample("[[5.1, 3.5, 1.4, 0.2]]"),
            RegisteredModelName = "iris",
        });
        Console.WriteLine($"{result.ModelUri} -> version {result.RegisteredVersion?.Version} {champion?.Version}");

        var mlnet = new CustomFlavor("mlnet", "model.zip", new Dictionary<string, object?> { ["mlnet_version"] = "4.0.0" });
        await client.Models.LogModelAsync(runId, new LogModelOptions { Flavor = mlnet, ModelFile = "model.zip" });

        ResolvedModelUri where = await client.ModelRegistry.ResolveModelUriAsync("models:/iris@champion");
        Console.WriteLine($"version {where.Version} at {where.ArtifactUri}");

        DownloadedModel model = await client.Models.DownloadModelAsync("models:/iris@champion", "./model-cache");
        string onnxPath = model.GetDataPath()!;
        var inputs = model.Model.Signature?.Inputs;
        Console.WriteLine($"{onnxPath} {inputs?.Count}");

        var mlmodel = await MlflowModel.LoadAsync("./model-cache/model");
        Console.WriteLine(mlmodel.GetOnnxFlavor()?.Data);
        Console.WriteLine(mlmodel.ToYaml());

        var logged = await client.LoggedModels.CreateAsync(experimentId, new CreateLoggedModelOptions
        {
            Name = "classifier", ModelType = "onnx", SourceRunId = runId,
            Params = new Dictionary<string, string> { ["alpha"] = "0.5" },
        });
        await client.LoggedModels.FinalizeAsync(logged.Info.ModelId, LoggedModelStatus.Ready);
        await client.LoggedModels.LogMetricAsync(logged.Info.ModelId, runId, "eval_accuracy", 0.91, step: 3);
        await foreach (var m in client.LoggedModels.SearchAsync(new SearchLoggedModelsOptions { ExperimentIds = [experimentId], Filter = "name = 'classifier'" }))
        {
            Console.WriteLine($"{m.Info.ModelId} {m.Info.Status} {m.ModelUri}");
        }

        var decision = await client.ModelRegistry.PromoteAsync("iris", version.Version, alias: "champion", metric: "accuracy", higherIsBetter: true);
        Console.WriteLine(decision.Reason);
        return decision.Promoted ? 0 : 1;
    }
}
