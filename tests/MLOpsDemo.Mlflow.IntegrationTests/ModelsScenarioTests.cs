using MLOpsDemo.Mlflow.IntegrationTests.Infrastructure;

namespace MLOpsDemo.Mlflow.IntegrationTests;

/// <summary>
/// MLflow models against a real server: log with signature, example and extra files, register, download by
/// <c>models:/name@alias</c> and <c>runs:/</c>; logged models on MLflow 3 and the documented MLflow 2 fallback. The
/// "only on MLflow 3" branches are chosen from the server's <c>GET /version</c>.
/// </summary>
public sealed class ModelsScenarioTests(MlflowServerFixture server) : IDisposable
{
    private static readonly byte[] s_onnxBytes = [8, 7, 18, 4, 116, 101, 115, 116, 58, 2, 16, 1];
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("it-models-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _work.Delete(recursive: true);

    [DockerFact]
    public async Task A_model_with_signature_example_and_extra_files_downloads_by_alias_and_by_run()
    {
        using var client = server.CreateClient();
        var run = await NewRunAsync(client, "it-model-full");
        var modelFile = await WriteAsync("iris.onnx", s_onnxBytes);
        var labels = await WriteAsync("labels.txt", "setosa\nversicolor\nvirginica\n"u8.ToArray());
        var name = MlflowServerFixture.UniqueName("it-iris");
        var signature = new ModelSignature
        {
            Inputs = [new TensorSpec("float32", [-1, 4], "input")],
            Outputs = [new TensorSpec("float32", [-1, 3], "probabilities")],
        };

        var logged = await client.Models.LogModelAsync(run.Info.RunId, new LogModelOptions
        {
            ArtifactPath = "classifier",
            Flavor = new OnnxFlavor(),
            ModelFile = modelFile,
            AdditionalFiles = [labels],
            Signature = signature,
            InputExample = new ModelInputExample("[[5.1, 3.5, 1.4, 0.2]]"),
            Metadata = new Dictionary<string, object?> { ["framework"] = "ml.net" },
            RegisteredModelName = name,
        }, Ct);
        Assert.NotNull(logged.RegisteredVersion);
        Assert.Equal("1", logged.RegisteredVersion.Version);
        await client.ModelRegistry.SetAliasAsync(name, "prod", logged.RegisteredVersion.Version, Ct);

        var byAlias = await client.Models.DownloadModelAsync($"models:/{name}@prod", Path.Combine(_work.FullName, "alias"), Ct);
        Assert.Equal(("1", "prod"), (byAlias.Source.Version, byAlias.Source.Alias));
        Assert.Equal(s_onnxBytes, await File.ReadAllBytesAsync(byAlias.GetDataPath()!, Ct));
        Assert.Equal("setosa\nversicolor\nvirginica\n", await File.ReadAllTextAsync(Path.Combine(byAlias.LocalPath, "labels.txt"), Ct));
        Assert.Equal(signature.InputsJson, byAlias.Model.Signature!.InputsJson);
        Assert.Equal(signature.OutputsJson, byAlias.Model.Signature.OutputsJson);
        Assert.NotNull(byAlias.Model.SavedInputExampleInfo);
        Assert.Equal("ml.net", byAlias.Model.Metadata!["framework"]?.ToString());
        Assert.Equal(run.Info.RunId, byAlias.Model.RunId);

        // The MLmodel as stored on the server is what the library wrote (it round-trips byte for byte).
        var stored = await MlflowModel.LoadAsync(byAlias.LocalPath, Ct);
        Assert.Equal(logged.Model.ToYaml(), stored.ToYaml());

        if (await server.GetMajorVersionAsync(Ct) == 2)
        {
            var byRun = await client.Models.DownloadModelAsync($"runs:/{run.Info.RunId}/classifier", Path.Combine(_work.FullName, "run"), Ct);
            Assert.Equal(s_onnxBytes, await File.ReadAllBytesAsync(byRun.GetDataPath()!, Ct));
        }
        else
        {
            var byId = await client.Models.DownloadModelAsync($"models:/{logged.ModelId}", Path.Combine(_work.FullName, "id"), Ct);
            Assert.Equal(s_onnxBytes, await File.ReadAllBytesAsync(byId.GetDataPath()!, Ct));
        }
    }

    [DockerFact]
    public async Task LogModel_makes_a_logged_model_on_MLflow_3_and_falls_back_to_run_artifacts_on_MLflow_2()
    {
        using var client = server.CreateClient();
        var run = await NewRunAsync(client, "it-logmodel");
        var modelFile = await WriteAsync("model.onnx", s_onnxBytes);
        var logged = await client.Models.LogModelAsync(run.Info.RunId, new LogModelOptions { ArtifactPath = "model", Flavor = new OnnxFlavor(), ModelFile = modelFile }, Ct);
        var stored = await client.Runs.GetAsync(run.Info.RunId, Ct);

        if (await server.GetMajorVersionAsync(Ct) >= 3)
        {
            Assert.StartsWith("m-", logged.ModelId);
            Assert.Equal($"models:/{logged.ModelId}", logged.ModelUri);
            var model = await client.LoggedModels.GetAsync(logged.ModelId!, Ct);
            Assert.Equal((LoggedModelStatus.Ready, run.Info.RunId, "model"), (model.Info.Status, model.Info.SourceRunId, model.Info.Name));
            Assert.Contains(stored.Outputs!.ModelOutputs, o => o.ModelId == logged.ModelId);
            var files = await client.Artifacts.ListUriAsync(model.Info.ArtifactUri!, cancellationToken: Ct).ToListAsync(Ct);
            Assert.Contains(files, f => f.Path == "model.onnx");
            Assert.Contains(files, f => f.Path == "MLmodel");
        }
        else
        {
            // MLflow 2 has no logged models: the model goes under the run's artifacts and into the history tag.
            Assert.Equal($"runs:/{run.Info.RunId}/model", logged.ModelUri);
            using var history = System.Text.Json.JsonDocument.Parse(stored.Data.Tags["mlflow.log-model.history"]);
            Assert.Equal("model", Assert.Single(history.RootElement.EnumerateArray().ToList()).GetProperty("artifact_path").GetString());
            var files = await client.Artifacts.ListAsync(run.Info.RunId, "model", cancellationToken: Ct).ToListAsync(Ct);
            Assert.Contains(files, f => f.Path == "model/model.onnx");
            Assert.Contains(files, f => f.Path == "model/MLmodel");
        }
    }

    [DockerFact]
    public async Task Logged_models_API_on_MLflow_3_and_ENDPOINT_NOT_FOUND_on_MLflow_2()
    {
        using var client = server.CreateClient();
        var run = await NewRunAsync(client, "it-logged");
        var experimentId = run.Info.ExperimentId;
        if (await server.GetMajorVersionAsync(Ct) < 3)
        {
            // Documented: MLflow 2 servers have no logged-model endpoints; the client reports that as ENDPOINT_NOT_FOUND.
            var absent = await Assert.ThrowsAsync<MlflowException>(() => client.LoggedModels.CreateAsync(experimentId, new CreateLoggedModelOptions { Name = "m" }, Ct));
            Assert.Equal(MlflowErrorCodes.EndpointNotFound, absent.ErrorCode);
            return;
        }

        var created = await client.LoggedModels.CreateAsync(experimentId, new CreateLoggedModelOptions
        {
            Name = "classifier",
            ModelType = "onnx",
            SourceRunId = run.Info.RunId,
            Params = new Dictionary<string, string> { ["alpha"] = "0.5" },
            Tags = new Dictionary<string, string> { ["team"] = "it" },
        }, Ct);
        Assert.Equal(LoggedModelStatus.Pending, created.Info.Status);
        var other = await client.LoggedModels.CreateAsync(experimentId, new CreateLoggedModelOptions { Name = "other" }, Ct);

        await client.Artifacts.UploadDirectoryAsync(created.Info.ArtifactUri!, await WriteTreeAsync(client), Ct);
        var ready = await client.LoggedModels.FinalizeAsync(created.Info.ModelId, LoggedModelStatus.Ready, Ct);
        Assert.Equal(LoggedModelStatus.Ready, ready.Info.Status);
        await client.LoggedModels.LogMetricAsync(created.Info.ModelId, run.Info.RunId, "eval_accuracy", 0.91, step: 3, cancellationToken: Ct);
        await client.LoggedModels.SetTagsAsync(created.Info.ModelId, new Dictionary<string, string> { ["stage"] = "candidate", ["scratch"] = "x" }, Ct);
        await client.LoggedModels.DeleteTagAsync(created.Info.ModelId, "scratch", Ct);

        var got = await client.LoggedModels.GetAsync(created.Info.ModelId, Ct);
        Assert.Equal("0.5", got.Data.Params["alpha"]);
        Assert.Equal(("it", "candidate"), (got.Info.Tags["team"], got.Info.Tags["stage"]));
        Assert.False(got.Info.Tags.ContainsKey("scratch"));
        var metric = Assert.Single(got.Data.Metrics!);
        Assert.Equal(("eval_accuracy", 0.91, 3L), (metric.Key, metric.Value, metric.Step));

        var byName = await client.LoggedModels.SearchAsync(new SearchLoggedModelsOptions { ExperimentIds = [experimentId], Filter = "name = 'classifier'" }, Ct).ToListAsync(Ct);
        Assert.Equal(created.Info.ModelId, Assert.Single(byName).Info.ModelId);
        var byMetric = await client.LoggedModels.SearchAsync(new SearchLoggedModelsOptions { ExperimentIds = [experimentId], Filter = "metrics.eval_accuracy > 0.9" }, Ct).ToListAsync(Ct);
        Assert.Equal(created.Info.ModelId, Assert.Single(byMetric).Info.ModelId);
        var paged = await client.LoggedModels.SearchAsync(new SearchLoggedModelsOptions { ExperimentIds = [experimentId], PageSize = 1, OrderBy = [new LoggedModelOrderBy("name")] }, Ct).ToListAsync(Ct);
        Assert.Equal(["classifier", "other"], paged.Select(m => m.Info.Name));

        // Register the logged model by its URI, then delete it: search no longer finds it.
        var name = MlflowServerFixture.UniqueName("it-logged-reg");
        await client.ModelRegistry.CreateAsync(name, cancellationToken: Ct);
        var version = await client.ModelRegistry.CreateVersionAsync(name, got.ModelUri, new CreateModelVersionOptions { ModelId = got.Info.ModelId, RunId = run.Info.RunId }, Ct);
        Assert.Equal(got.ModelUri, version.Source);
        var download = await client.ModelRegistry.DownloadModelAsync($"models:/{name}/{version.Version}", Path.Combine(_work.FullName, "logged"), Ct);
        Assert.Equal(s_onnxBytes, await File.ReadAllBytesAsync(download.GetDataPath()!, Ct));

        await client.LoggedModels.DeleteAsync(other.Info.ModelId, Ct);
        var remaining = await client.LoggedModels.SearchAsync(new SearchLoggedModelsOptions { ExperimentIds = [experimentId] }, Ct).ToListAsync(Ct);
        Assert.Equal([created.Info.ModelId], remaining.Select(m => m.Info.ModelId));
    }

    private async Task<string> WriteTreeAsync(MlflowClient client)
    {
        var modelFile = await WriteAsync("logged.onnx", s_onnxBytes);
        var directory = Path.Combine(_work.FullName, "logged-model");
        await client.Models.SaveModelAsync(directory, new LogModelOptions { Flavor = new OnnxFlavor(), ModelFile = modelFile }, Ct);
        return directory;
    }

    private async Task<string> WriteAsync(string fileName, byte[] content)
    {
        var path = Path.Combine(_work.FullName, fileName);
        await File.WriteAllBytesAsync(path, content, Ct);
        return path;
    }

    private static async Task<Run> NewRunAsync(MlflowClient client, string prefix)
    {
        var experimentId = await client.Experiments.CreateAsync(MlflowServerFixture.UniqueName(prefix), cancellationToken: Ct);
        return await client.Runs.CreateAsync(experimentId, cancellationToken: Ct);
    }
}
