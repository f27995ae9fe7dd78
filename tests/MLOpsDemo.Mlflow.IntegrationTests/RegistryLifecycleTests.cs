using MLOpsDemo.Mlflow.IntegrationTests.Infrastructure;

namespace MLOpsDemo.Mlflow.IntegrationTests;

/// <summary>
/// The model registry against a real MLflow server: stages, tags and descriptions, rename, search with paging and
/// filters, aliases that move and disappear with their version, and deletion.
/// </summary>
public class RegistryLifecycleTests(MlflowServerFixture server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [DockerFact]
    public async Task Stages_transition_archive_the_previous_holder_and_drive_latest_versions()
    {
        using var client = server.CreateClient();
        var (name, run) = await ModelWithRunAsync(client, "it-stages");
        var v1 = await client.ModelRegistry.CreateVersionAsync(name, run.Info.ArtifactUri + "/model", new CreateModelVersionOptions { RunId = run.Info.RunId }, Ct);
        var v2 = await client.ModelRegistry.CreateVersionAsync(name, run.Info.ArtifactUri + "/model", new CreateModelVersionOptions { RunId = run.Info.RunId }, Ct);
        Assert.Equal(ModelVersionStage.None, v1.CurrentStage);

        Assert.Equal(ModelVersionStage.Production, (await client.ModelRegistry.TransitionStageAsync(name, "1", ModelVersionStage.Production, cancellationToken: Ct)).CurrentStage);
        await client.ModelRegistry.TransitionStageAsync(name, "2", ModelVersionStage.Staging, cancellationToken: Ct);
        var latest = await client.ModelRegistry.GetLatestVersionsAsync(name, cancellationToken: Ct);
        Assert.Equal([("1", "Production"), ("2", "Staging")], latest.Select(v => (v.Version, v.CurrentStage)).Order());

        var promoted = await client.ModelRegistry.TransitionStageAsync(name, v2.Version, ModelVersionStage.Production, archiveExistingVersions: true, Ct);
        Assert.Equal(ModelVersionStage.Production, promoted.CurrentStage);
        Assert.Equal(ModelVersionStage.Archived, (await client.ModelRegistry.GetVersionAsync(name, "1", Ct)).CurrentStage);
        var production = await client.ModelRegistry.GetLatestVersionsAsync(name, [ModelVersionStage.Production], Ct);
        Assert.Equal("2", Assert.Single(production).Version);
        Assert.Equal("2", (await client.ModelRegistry.ResolveModelUriAsync($"models:/{name}/Production", Ct)).Version);
        Assert.Equal("2", (await client.ModelRegistry.ResolveModelUriAsync($"models:/{name}/latest", Ct)).Version);
        Assert.EndsWith("/model", await client.ModelRegistry.GetVersionDownloadUriAsync(name, "2", Ct));
    }

    [DockerFact]
    public async Task Model_and_version_tags_descriptions_and_rename()
    {
        using var client = server.CreateClient();
        var (name, run) = await ModelWithRunAsync(client, "it-tags");
        await client.ModelRegistry.CreateVersionAsync(name, run.Info.ArtifactUri + "/model", new CreateModelVersionOptions { RunId = run.Info.RunId, Description = "first", Tags = new Dictionary<string, string> { ["origin"] = "it" } }, Ct);

        await client.ModelRegistry.SetTagAsync(name, "owner", "team-a", Ct);
        await client.ModelRegistry.SetTagAsync(name, "scratch", "x", Ct);
        await client.ModelRegistry.DeleteTagAsync(name, "scratch", Ct);
        await client.ModelRegistry.SetVersionTagAsync(name, "1", "validated", "true", Ct);
        await client.ModelRegistry.DeleteVersionTagAsync(name, "1", "origin", Ct);
        await client.ModelRegistry.UpdateAsync(name, "updated description", Ct);
        Assert.Equal("second", (await client.ModelRegistry.UpdateVersionAsync(name, "1", "second", Ct)).Description);

        var model = await client.ModelRegistry.GetAsync(name, Ct);
        Assert.Equal("updated description", model.Description);
        Assert.Equal("team-a", model.Tags["owner"]);
        Assert.False(model.Tags.ContainsKey("scratch"));
        var version = await client.ModelRegistry.GetVersionAsync(name, "1", Ct);
        Assert.Equal("true", version.Tags["validated"]);
        Assert.False(version.Tags.ContainsKey("origin"));
        Assert.Equal(run.Info.RunId, version.RunId);

        var renamed = await client.ModelRegistry.RenameAsync(name, name + "-renamed", Ct);
        Assert.Equal(name + "-renamed", renamed.Name);
        Assert.Equal("second", (await client.ModelRegistry.GetVersionAsync(name + "-renamed", "1", Ct)).Description);
        var gone = await Assert.ThrowsAsync<MlflowException>(() => client.ModelRegistry.GetAsync(name, Ct));
        Assert.Equal(MlflowErrorCodes.ResourceDoesNotExist, gone.ErrorCode);
        await client.ModelRegistry.DeleteAsync(name + "-renamed", Ct);
    }

    [DockerFact]
    public async Task Search_models_and_versions_with_paging_and_filters()
    {
        using var client = server.CreateClient();
        var prefix = MlflowServerFixture.UniqueName("it-search");
        var experimentId = await client.Experiments.CreateAsync(prefix, cancellationToken: Ct);
        var runs = new[] { await client.Runs.CreateAsync(experimentId, cancellationToken: Ct), await client.Runs.CreateAsync(experimentId, cancellationToken: Ct) };
        const int Models = 23;
        for (var i = 0; i < Models; i++)
        {
            var name = $"{prefix}-{i:D2}";
            await client.ModelRegistry.CreateAsync(name, new Dictionary<string, string> { ["kind"] = i % 2 == 0 ? "even" : "odd" }, cancellationToken: Ct);
            var run = runs[i % 2];
            await client.ModelRegistry.CreateVersionAsync(name, run.Info.ArtifactUri + "/model", new CreateModelVersionOptions { RunId = run.Info.RunId }, Ct);
        }

        var all = await client.ModelRegistry.SearchAsync(new SearchRegisteredModelsOptions { Filter = $"name LIKE '{prefix}-%'", OrderBy = ["name ASC"], PageSize = 5 }, Ct).ToListAsync(Ct);
        Assert.Equal(Enumerable.Range(0, Models).Select(i => $"{prefix}-{i:D2}"), all.Select(m => m.Name));
        var firstPage = await client.ModelRegistry.SearchPageAsync(new SearchRegisteredModelsOptions { Filter = $"name LIKE '{prefix}-%'", PageSize = 10 }, Ct);
        Assert.Equal(10, firstPage.Items.Count);
        Assert.False(string.IsNullOrEmpty(firstPage.NextPageToken));

        var evens = await client.ModelRegistry.SearchAsync(new SearchRegisteredModelsOptions { Filter = $"name LIKE '{prefix}-%' AND tags.kind = 'even'" }, Ct).ToListAsync(Ct);
        Assert.Equal(12, evens.Count);

        var ofRun = await client.ModelRegistry.SearchVersionsAsync(new SearchModelVersionsOptions { Filter = $"run_id = '{runs[1].Info.RunId}'", PageSize = 4 }, Ct).ToListAsync(Ct);
        Assert.Equal(Enumerable.Range(0, Models).Where(i => i % 2 == 1).Select(i => $"{prefix}-{i:D2}"), ofRun.Select(v => v.Name).Order(StringComparer.Ordinal));
        var one = await client.ModelRegistry.SearchVersionsAsync(new SearchModelVersionsOptions { Filter = $"name = '{prefix}-07'" }, Ct).ToListAsync(Ct);
        Assert.Equal(("1", runs[1].Info.RunId), (Assert.Single(one).Version, one[0].RunId));
    }

    [DockerFact]
    public async Task Aliases_move_resolve_and_disappear_with_their_version()
    {
        using var client = server.CreateClient();
        var (name, run) = await ModelWithRunAsync(client, "it-aliases");
        for (var i = 0; i < 3; i++)
        {
            await client.ModelRegistry.CreateVersionAsync(name, $"{run.Info.ArtifactUri}/model-{i + 1}", new CreateModelVersionOptions { RunId = run.Info.RunId }, Ct);
        }

        await client.ModelRegistry.SetAliasAsync(name, "champion", "1", Ct);
        await client.ModelRegistry.SetAliasAsync(name, "challenger", "2", Ct);
        await client.ModelRegistry.SetAliasAsync(name, "shadow", "2", Ct);
        Assert.Equal(["challenger", "shadow"], (await client.ModelRegistry.GetVersionAsync(name, "2", Ct)).Aliases.Order(StringComparer.Ordinal));
        var model = await client.ModelRegistry.GetAsync(name, Ct);
        Assert.Equal([("challenger", "2"), ("champion", "1"), ("shadow", "2")], model.Aliases.Select(a => (a.Alias, a.Version)).Order());

        await client.ModelRegistry.SetAliasAsync(name, "champion", "3", Ct); // moves
        var resolved = await client.ModelRegistry.ResolveModelUriAsync($"models:/{name}@champion", Ct);
        Assert.Equal(("3", $"{run.Info.ArtifactUri}/model-3", "champion"), (resolved.Version, resolved.ArtifactUri, resolved.Alias));
        Assert.Empty((await client.ModelRegistry.GetVersionAsync(name, "1", Ct)).Aliases);

        await Assert.ThrowsAnyAsync<ArgumentException>(() => client.ModelRegistry.SetAliasAsync(name, "latest", "1", Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => client.ModelRegistry.SetAliasAsync(name, "v2", "1", Ct));
        var missingAlias = await Assert.ThrowsAsync<MlflowException>(() => client.ModelRegistry.GetVersionByAliasAsync(name, "nobody", Ct));
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, missingAlias.ErrorCode);

        await client.ModelRegistry.DeleteAliasAsync(name, "challenger", Ct);
        Assert.Null(await client.ModelRegistry.TryGetVersionByAliasAsync(name, "challenger", Ct));
        Assert.Equal("2", (await client.ModelRegistry.GetVersionByAliasAsync(name, "shadow", Ct)).Version);

        // Deleted versions are gone for reads and their numbers are not reused.
        await client.ModelRegistry.DeleteAliasAsync(name, "shadow", Ct);
        await client.ModelRegistry.DeleteVersionAsync(name, "2", Ct);
        var deleted = await Assert.ThrowsAsync<MlflowException>(() => client.ModelRegistry.GetVersionAsync(name, "2", Ct));
        Assert.Equal(MlflowErrorCodes.ResourceDoesNotExist, deleted.ErrorCode);
        var v4 = await client.ModelRegistry.CreateVersionAsync(name, $"{run.Info.ArtifactUri}/model-4", new CreateModelVersionOptions { RunId = run.Info.RunId }, Ct);
        Assert.Equal("4", v4.Version);
        Assert.Equal(["1", "3", "4"], (await client.ModelRegistry.SearchVersionsAsync(new SearchModelVersionsOptions { Filter = $"name = '{name}'" }, Ct).ToListAsync(Ct)).Select(v => v.Version).Order());

        await client.ModelRegistry.DeleteAsync(name, Ct);
        Assert.Empty(await client.ModelRegistry.SearchVersionsAsync(new SearchModelVersionsOptions { Filter = $"name = '{name}'" }, Ct).ToListAsync(Ct));
    }

    private static async Task<(string Name, Run Run)> ModelWithRunAsync(MlflowClient client, string prefix)
    {
        var name = MlflowServerFixture.UniqueName(prefix);
        var experimentId = await client.Experiments.CreateAsync(name, cancellationToken: Ct);
        var run = await client.Runs.CreateAsync(experimentId, cancellationToken: Ct);
        await client.ModelRegistry.CreateAsync(name, cancellationToken: Ct);
        return (name, run);
    }
}
