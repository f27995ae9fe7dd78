using MLOpsDemo.Mlflow.Registry;

namespace MLOpsDemo.Mlflow.Tests.Sqlite;

/// <summary>
/// The model registry on the embedded store follows the same scenario as the golden registry recordings (073–102)
/// and answers with the same error codes as the REST server.
/// </summary>
public class SqliteRegistryTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Registry_scenario_behaves_like_the_server()
    {
        using var folder = new TempFolder();
        using var client = folder.Client();
        var registry = client.ModelRegistry;

        var created = await registry.CreateAsync("golden-model", new Dictionary<string, string> { ["task"] = "classification" }, "first description", Ct);
        Assert.Equal("golden-model", created.Name);
        Assert.Equal("first description", created.Description);
        Assert.Equal("classification", created.Tags["task"]);
        Assert.NotNull(created.CreationTimestamp);

        var duplicate = await Assert.ThrowsAsync<MlflowException>(() => registry.CreateAsync("golden-model", cancellationToken: Ct));
        Assert.Equal(MlflowErrorCodes.ResourceAlreadyExists, duplicate.ErrorCode);
        Assert.Equal(400, (int)duplicate.StatusCode);
        var missing = await Assert.ThrowsAsync<MlflowException>(() => registry.GetAsync("no-such-model", Ct));
        Assert.Equal(MlflowErrorCodes.ResourceDoesNotExist, missing.ErrorCode);
        Assert.Equal(404, (int)missing.StatusCode);

        await registry.RenameAsync("golden-model", "golden-final", Ct);
        var updated = await registry.UpdateAsync("golden-final", "second description", Ct);
        Assert.Equal("second description", updated.Description);
        Assert.Equal("classification", updated.Tags["task"]); // tags follow the rename
        await registry.CreateAsync("golden-other", cancellationToken: Ct);
        await registry.SetTagAsync("golden-final", "owner", "team-a", Ct);
        await registry.DeleteTagAsync("golden-final", "task", Ct);

        var page1 = await registry.SearchPageAsync(new SearchRegisteredModelsOptions { Filter = "name LIKE 'golden%'", PageSize = 1 }, Ct);
        Assert.Equal("golden-final", Assert.Single(page1.Items).Name);
        Assert.NotNull(page1.NextPageToken);
        var page2 = await registry.SearchPageAsync(new SearchRegisteredModelsOptions { Filter = "name LIKE 'golden%'", PageSize = 1, PageToken = page1.NextPageToken }, Ct);
        Assert.Equal("golden-other", Assert.Single(page2.Items).Name);
        Assert.Null(page2.NextPageToken);
        var byTag = await ToListAsync(registry.SearchAsync(new SearchRegisteredModelsOptions { Filter = "tags.owner = 'team-a'" }, Ct));
        Assert.Equal(["golden-final"], byTag.Select(m => m.Name));

        var experimentId = await client.Experiments.CreateAsync("registry", artifactLocation: Path.Combine(folder.Path, "store"), cancellationToken: Ct);
        var run = await client.Runs.CreateAsync(experimentId, cancellationToken: Ct);
        var source = run.Info.ArtifactUri + "/model";
        var v1 = await registry.CreateVersionAsync("golden-final", source, new CreateModelVersionOptions { RunId = run.Info.RunId, Tags = new Dictionary<string, string> { ["candidate"] = "yes" } }, Ct);
        var v2 = await registry.CreateVersionAsync("golden-final", source, new CreateModelVersionOptions { RunId = run.Info.RunId }, Ct);
        Assert.Equal(("1", "2"), (v1.Version, v2.Version));
        Assert.Equal(ModelVersionStatus.Ready, v1.Status);
        Assert.Equal(ModelVersionStage.None, v1.CurrentStage);
        Assert.Equal("yes", v1.Tags["candidate"]);
        Assert.Equal("described", (await registry.UpdateVersionAsync("golden-final", "1", "described", Ct)).Description);
        Assert.Equal(source, await registry.GetVersionDownloadUriAsync("golden-final", "1", Ct));
        var versions = await ToListAsync(registry.SearchVersionsAsync(new SearchModelVersionsOptions { Filter = "name = 'golden-final'", OrderBy = ["name ASC"] }, Ct));
        Assert.Equal(["2", "1"], versions.Select(v => v.Version)); // name ASC, then version DESC appended
        var byRun = await ToListAsync(registry.SearchVersionsAsync(new SearchModelVersionsOptions { Filter = $"run_id = '{run.Info.RunId}' AND version_number = 1" }, Ct));
        Assert.Equal("1", Assert.Single(byRun).Version);
        await registry.SetVersionTagAsync("golden-final", "1", "validated", "true", Ct);
        await registry.DeleteVersionTagAsync("golden-final", "1", "candidate", Ct);
        Assert.Equal(["validated"], (await registry.GetVersionAsync("golden-final", "1", Ct)).Tags.Keys);

        await registry.TransitionStageAsync("golden-final", "1", "staging", cancellationToken: Ct);
        var archived = await registry.TransitionStageAsync("golden-final", "2", "Staging", archiveExistingVersions: true, Ct);
        Assert.Equal(ModelVersionStage.Staging, archived.CurrentStage);
        Assert.Equal(ModelVersionStage.Archived, (await registry.GetVersionAsync("golden-final", "1", Ct)).CurrentStage);
        var latest = await registry.GetLatestVersionsAsync("golden-final", ["Staging"], Ct);
        Assert.Equal("2", Assert.Single(latest).Version);

        await registry.SetAliasAsync("golden-final", "champion", "2", Ct);
        var champion = await registry.GetVersionByAliasAsync("golden-final", "champion", Ct);
        Assert.Equal("2", champion.Version);
        Assert.Equal(["champion"], champion.Aliases);
        var withAlias = await registry.GetAsync("golden-final", Ct);
        Assert.Equal(("champion", "2"), (Assert.Single(withAlias.Aliases).Alias, withAlias.Aliases[0].Version));
        Assert.Equal(["1", "2"], withAlias.LatestVersions.Select(v => v.Version).Order());
        var missingAlias = await Assert.ThrowsAsync<MlflowException>(() => registry.GetVersionByAliasAsync("golden-final", "nope", Ct));
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, missingAlias.ErrorCode); // as the real server: 400, not 404
        Assert.Null(await registry.TryGetVersionByAliasAsync("golden-final", "nope", Ct));
        await registry.DeleteAliasAsync("golden-final", "champion", Ct);
        Assert.Null(await registry.TryGetVersionByAliasAsync("golden-final", "champion", Ct));

        await registry.DeleteVersionAsync("golden-final", "2", Ct);
        var gone = await Assert.ThrowsAsync<MlflowException>(() => registry.GetVersionAsync("golden-final", "2", Ct));
        Assert.Equal(MlflowErrorCodes.ResourceDoesNotExist, gone.ErrorCode);
        var v3 = await registry.CreateVersionAsync("golden-final", source, cancellationToken: Ct);
        Assert.Equal("3", v3.Version); // numbers are never reused

        await registry.DeleteAsync("golden-final", Ct);
        var deleted = await Assert.ThrowsAsync<MlflowException>(() => registry.GetAsync("golden-final", Ct));
        Assert.Equal(MlflowErrorCodes.ResourceDoesNotExist, deleted.ErrorCode);
    }

    [Fact]
    public async Task Models_uri_with_an_alias_resolves_to_the_versions_storage_location()
    {
        using var folder = new TempFolder();
        using var client = folder.Client();
        var experimentId = await client.Experiments.CreateAsync("resolve", artifactLocation: Path.Combine(folder.Path, "store"), cancellationToken: Ct);
        var run = await client.Runs.CreateAsync(experimentId, cancellationToken: Ct);
        await client.ModelRegistry.CreateAsync("resolver", cancellationToken: Ct);
        var version = await client.ModelRegistry.CreateVersionAsync("resolver", run.Info.ArtifactUri + "/model", new CreateModelVersionOptions { RunId = run.Info.RunId }, Ct);
        await client.ModelRegistry.SetAliasAsync("resolver", "champion", version.Version, Ct);

        var resolved = await client.ModelRegistry.ResolveModelUriAsync("models:/resolver@champion", Ct);

        Assert.Equal("1", resolved.Version);
        Assert.Equal("resolver", resolved.Name);
    }

    [Fact]
    public async Task Invalid_filters_and_versions_are_refused_with_invalid_parameter_value()
    {
        using var folder = new TempFolder();
        using var client = folder.Client();
        await client.ModelRegistry.CreateAsync("m", cancellationToken: Ct);

        var badFilter = await Assert.ThrowsAsync<MlflowException>(() => client.ModelRegistry.SearchPageAsync(new SearchRegisteredModelsOptions { Filter = "owner = 'x'" }, Ct));
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, badFilter.ErrorCode);
        var badOrder = await Assert.ThrowsAsync<MlflowException>(() => client.ModelRegistry.SearchPageAsync(new SearchRegisteredModelsOptions { OrderBy = ["size DESC"] }, Ct));
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, badOrder.ErrorCode);
        var unknownVersion = await Assert.ThrowsAsync<MlflowException>(() => client.ModelRegistry.GetVersionAsync("m", "7", Ct));
        Assert.Equal(MlflowErrorCodes.ResourceDoesNotExist, unknownVersion.ErrorCode);
    }

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> source)
    {
        var list = new List<T>();
        await foreach (var item in source)
        {
            list.Add(item);
        }

        return list;
    }
}
