using MLOpsDemo.Mlflow.IntegrationTests.Infrastructure;

namespace MLOpsDemo.Mlflow.IntegrationTests;

/// <summary>
/// End-to-end model registry against a real MLflow server (2.x or 3.x): registered model → versions → alias →
/// URI resolution → promotion, and log → register → alias → download of an ONNX model.
/// </summary>
public class RegistryScenarioTests(MlflowServerFixture server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [DockerFact]
    public async Task Register_versions_alias_resolve_and_promote()
    {
        using var client = server.CreateClient();
        var experimentId = await client.Experiments.CreateAsync(MlflowServerFixture.UniqueName("it-registry"), cancellationToken: Ct);
        var weak = await client.Runs.CreateAsync(experimentId, cancellationToken: Ct);
        var strong = await client.Runs.CreateAsync(experimentId, cancellationToken: Ct);
        await client.Runs.LogMetricAsync(weak.Info.RunId, "accuracy", 0.80, cancellationToken: Ct);
        await client.Runs.LogMetricAsync(strong.Info.RunId, "accuracy", 0.93, cancellationToken: Ct);
        var name = MlflowServerFixture.UniqueName("it-model");

        var model = await client.ModelRegistry.CreateAsync(name, new Dictionary<string, string> { ["team"] = "it" }, "integration", Ct);
        Assert.Equal(name, model.Name);
        var duplicate = await Assert.ThrowsAsync<MlflowException>(() => client.ModelRegistry.CreateAsync(name, cancellationToken: Ct));
        Assert.Equal(MlflowErrorCodes.ResourceAlreadyExists, duplicate.ErrorCode);

        var v1 = await client.ModelRegistry.CreateVersionAsync(name, weak.Info.ArtifactUri + "/model", new CreateModelVersionOptions { RunId = weak.Info.RunId }, Ct);
        var v2 = await client.ModelRegistry.CreateVersionAsync(name, strong.Info.ArtifactUri + "/model", new CreateModelVersionOptions { RunId = strong.Info.RunId }, Ct);
        Assert.Equal(("1", "2"), (v1.Version, v2.Version));
        Assert.Null(await client.ModelRegistry.TryGetVersionByAliasAsync(name, "champion", Ct));

        var first = await client.ModelRegistry.PromoteAsync(name, "1", cancellationToken: Ct);
        Assert.Equal(PromotionDecision.PromotedNoCurrentHolder, first.Decision);
        var second = await client.ModelRegistry.PromoteAsync(name, "2", cancellationToken: Ct);
        Assert.Equal(PromotionDecision.PromotedBeatsCurrent, second.Decision);
        var back = await client.ModelRegistry.PromoteAsync(name, "1", cancellationToken: Ct);
        Assert.Equal(PromotionDecision.KeptCurrentNotBetter, back.Decision);
        Assert.Equal("2", (await client.ModelRegistry.GetVersionByAliasAsync(name, "champion", Ct)).Version);

        var resolved = await client.ModelRegistry.ResolveModelUriAsync($"models:/{name}@champion", Ct);
        Assert.Equal("2", resolved.Version);
        Assert.Equal(strong.Info.ArtifactUri + "/model", resolved.ArtifactUri);
        Assert.Equal(strong.Info.ArtifactUri + "/model", (await client.ModelRegistry.ResolveModelUriAsync($"models:/{name}/2", Ct)).ArtifactUri);
        Assert.Equal(strong.Info.ArtifactUri + "/model", (await client.ModelRegistry.ResolveModelUriAsync($"runs:/{strong.Info.RunId}/model", Ct)).ArtifactUri);

        var found = await client.ModelRegistry.SearchVersionsAsync(new SearchModelVersionsOptions { Filter = $"name = '{name}'" }, Ct).ToListAsync(Ct);
        Assert.Equal(["1", "2"], found.Select(v => v.Version).Order());

        await client.ModelRegistry.DeleteAliasAsync(name, "champion", Ct);
        await client.ModelRegistry.DeleteAsync(name, Ct);
        var gone = await Assert.ThrowsAsync<MlflowException>(() => client.ModelRegistry.GetAsync(name, Ct));
        Assert.Equal(MlflowErrorCodes.ResourceDoesNotExist, gone.ErrorCode);
    }

    [DockerFact]
    public async Task Log_register_alias_and_download_an_onnx_model()
    {
        using var client = server.CreateClient();
        var experimentId = await client.Experiments.CreateAsync(MlflowServerFixture.UniqueName("it-models"), cancellationToken: Ct);
        var run = await client.Runs.CreateAsync(experimentId, cancellationToken: Ct);
        var work = Directory.CreateTempSubdirectory("it-models-").FullName;
        try
        {
            var file = Path.Combine(work, "trained.onnx");
            await File.WriteAllBytesAsync(file, [8, 1, 18, 4, 116, 101, 115, 116], Ct);
            var name = MlflowServerFixture.UniqueName("it-onnx");
            var logged = await client.Models.LogModelAsync(run.Info.RunId, new LogModelOptions { Flavor = new OnnxFlavor(), ModelFile = file, RegisteredModelName = name }, Ct);

            Assert.NotNull(logged.RegisteredVersion);
            await client.ModelRegistry.SetAliasAsync(name, "champion", logged.RegisteredVersion.Version, Ct);

            var downloaded = await client.Models.DownloadModelAsync($"models:/{name}@champion", Path.Combine(work, "download"), Ct);

            Assert.Equal("mlflow.onnx", downloaded.Model.Flavors["python_function"].GetString("loader_module"));
            Assert.Equal(await File.ReadAllBytesAsync(file, Ct), await File.ReadAllBytesAsync(downloaded.GetDataPath()!, Ct));
            Assert.Equal(logged.ModelId, downloaded.Model.ModelId);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
