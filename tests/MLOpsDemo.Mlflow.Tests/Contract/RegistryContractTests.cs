using System.Net;
using System.Text.Json.Nodes;
using MLOpsDemo.Mlflow.Tests.TestSupport;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Tests.Contract;

/// <summary>Replays every registry and logged-model exchange (073–114) of both golden folders through the client.</summary>
public class RegistryContractTests
{
    public static TheoryData<string, string> Exchanges()
    {
        var data = new TheoryData<string, string>();
        foreach (var version in new[] { "3.11", "2.22" })
        {
            foreach (var name in GoldenExchange.Names(version, 73, 114))
            {
                data.Add(version, name);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Exchanges))]
    public async Task Exchange_replays_through_the_client(string version, string name)
    {
        var (server, client, exchange) = TestClients.Replay(version, name);
        using var _ = server;
        using var __ = client;

        await CallAsync(int.Parse(name[..3], System.Globalization.CultureInfo.InvariantCulture), client, exchange, server);

        exchange.AssertRequestMatches(server.LogEntries[^1]);
    }

    [Fact]
    public void Both_folders_have_the_expected_exchanges()
    {
        Assert.Equal(42, GoldenExchange.Names("3.11", 73, 114).Count());
        Assert.Equal(32, GoldenExchange.Names("2.22", 73, 114).Count());
    }

    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public async Task Registered_model_search_follows_the_page_token_lazily(string version)
    {
        using var server = WireMockServer.Start();
        GoldenExchange.Load(version, "080-registered-models-search-page-1").Stub(server);
        GoldenExchange.Load(version, "081-registered-models-search-page-2").Stub(server);
        using var client = TestClients.For(server);
        var ct = TestContext.Current.CancellationToken;

        var first = await client.ModelRegistry.SearchAsync(new SearchRegisteredModelsOptions { Filter = "name LIKE 'golden%'", PageSize = 1 }, ct).FirstAsync(ct);
        Assert.Equal("golden-model", first.Name);
        Assert.Single(server.LogEntries);

        var all = await client.ModelRegistry.SearchAsync(new SearchRegisteredModelsOptions { Filter = "name LIKE 'golden%'", PageSize = 1 }, ct).ToListAsync(ct);
        Assert.Equal(["golden-model", "golden-model-other"], all.Select(m => m.Name));
        Assert.Equal(3, server.LogEntries.Count);
    }

    private static async Task CallAsync(int step, MlflowClient client, GoldenExchange exchange, WireMockServer server)
    {
        var ct = TestContext.Current.CancellationToken;
        var registry = client.ModelRegistry;
        var json = exchange.RequestJson;
        var runId = (string?)json?["run_id"] ?? (string?)json?["source_run_id"] ?? exchange.Query.GetValueOrDefault("run_id")?[0];
        var modelId = exchange.Path.Split('/').FirstOrDefault(s => s.StartsWith("m-", StringComparison.Ordinal)) ?? (string?)json?["models"]?[0]?["model_id"] ?? (string?)json?["model_id"];
        switch (step)
        {
            case 73:
                {
                    var model = await registry.CreateAsync("golden-model-draft", new Dictionary<string, string> { ["task"] = "classification", ["domain"] = "iris" }, "Golden classifier", ct);
                    Assert.Equal("golden-model-draft", model.Name);
                    Assert.Equal("Golden classifier", model.Description);
                    Assert.Equal("iris", model.Tags["domain"]);
                    Assert.Empty(model.LatestVersions);
                    Assert.Empty(model.Aliases);
                    break;
                }

            case 74:
                await AssertFailsAsync(() => registry.CreateAsync("golden-model-draft", cancellationToken: ct), HttpStatusCode.BadRequest, MlflowErrorCodes.ResourceAlreadyExists);
                break;
            case 75:
                Assert.Equal("classification", (await registry.GetAsync("golden-model-draft", ct)).Tags["task"]);
                break;
            case 76:
                await AssertFailsAsync(() => registry.GetAsync("golden-no-such-model", ct), HttpStatusCode.NotFound, MlflowErrorCodes.ResourceDoesNotExist);
                break;
            case 77:
                Assert.Equal("golden-model", (await registry.RenameAsync("golden-model-draft", "golden-model", ct)).Name);
                break;
            case 78:
                Assert.Equal("Golden classifier (updated)", (await registry.UpdateAsync("golden-model", "Golden classifier (updated)", ct)).Description);
                break;
            case 79:
                {
                    var model = await registry.CreateAsync("golden-model-other", cancellationToken: ct);
                    Assert.Null(model.Description);
                    Assert.Empty(model.Tags);
                    break;
                }

            case 80:
                {
                    var page = await registry.SearchPageAsync(new SearchRegisteredModelsOptions { Filter = "name LIKE 'golden%'", PageSize = 1 }, ct);
                    Assert.Equal("golden-model", Assert.Single(page.Items).Name);
                    Assert.NotNull(page.NextPageToken);
                    break;
                }

            case 81:
                {
                    var page = await registry.SearchPageAsync(new SearchRegisteredModelsOptions { Filter = "name LIKE 'golden%'", PageSize = 1, PageToken = exchange.Query["page_token"][0] }, ct);
                    Assert.Equal("golden-model-other", Assert.Single(page.Items).Name);
                    Assert.Null(page.NextPageToken);
                    break;
                }

            case 82:
                await registry.SetTagAsync("golden-model", "owner", "golden-team", ct);
                break;
            case 83:
                await registry.DeleteTagAsync("golden-model", "task", ct);
                break;
            case 84:
                {
                    var version = await registry.CreateVersionAsync("golden-model", (string)json!["source"]!, new CreateModelVersionOptions { RunId = runId, Description = "first version" }, ct);
                    Assert.Equal("1", version.Version);
                    Assert.Equal(1, version.VersionNumber);
                    Assert.Equal(ModelVersionStatus.Ready, version.Status);
                    Assert.Equal(ModelVersionStage.None, version.CurrentStage);
                    Assert.Equal(runId, version.RunId);
                    break;
                }

            case 85:
                {
                    var version = await registry.CreateVersionAsync("golden-model", (string)json!["source"]!, new CreateModelVersionOptions { RunId = runId, Description = "second version", Tags = new Dictionary<string, string> { ["candidate"] = "true" } }, ct);
                    Assert.Equal("2", version.Version);
                    Assert.Equal("true", version.Tags["candidate"]);
                    break;
                }

            case 86:
                Assert.Equal("first version", (await registry.GetVersionAsync("golden-model", "1", ct)).Description);
                break;
            case 87:
                Assert.Equal("first version (validated)", (await registry.UpdateVersionAsync("golden-model", "1", "first version (validated)", ct)).Description);
                break;
            case 88:
                {
                    var page = await registry.SearchVersionsPageAsync(new SearchModelVersionsOptions { Filter = "name='golden-model'", PageSize = 10 }, ct);
                    Assert.Equal(["1", "2"], page.Items.Select(v => v.Version));
                    Assert.Null(page.NextPageToken);
                    break;
                }

            case 89:
                Assert.StartsWith("mlflow-artifacts:/", await registry.GetVersionDownloadUriAsync("golden-model", "1", ct), StringComparison.Ordinal);
                break;
            case 90:
                await registry.SetVersionTagAsync("golden-model", "1", "validation_status", "approved", ct);
                break;
            case 91:
                await registry.DeleteVersionTagAsync("golden-model", "1", "validation_status", ct);
                break;
            case 92:
                Assert.Equal(ModelVersionStage.Staging, (await registry.TransitionStageAsync("golden-model", "1", "staging", cancellationToken: ct)).CurrentStage);
                break;
            case 93:
                Assert.Equal(ModelVersionStage.Staging, (await registry.TransitionStageAsync("golden-model", "2", "Staging", archiveExistingVersions: true, ct)).CurrentStage);
                break;
            case 94:
                Assert.Equal("2", Assert.Single(await registry.GetLatestVersionsAsync("golden-model", ["Staging"], ct)).Version);
                break;
            case 95:
                // Only the GET form is stubbed: the POST gets a non-MLflow 404 and the client falls back to GET.
                Assert.Equal("2", Assert.Single(await registry.GetLatestVersionsAsync("golden-model", ["Staging"], ct)).Version);
                Assert.Equal(["POST", "GET"], server.LogEntries.Select(e => e.RequestMessage.Method));
                break;
            case 96:
                await registry.SetAliasAsync("golden-model", "champion", "1", ct);
                break;
            case 97:
                {
                    var version = await registry.GetVersionByAliasAsync("golden-model", "champion", ct);
                    Assert.Equal("1", version.Version);
                    Assert.Equal(["champion"], version.Aliases);
                    Assert.Equal(ModelVersionStage.Archived, version.CurrentStage);
                    break;
                }

            case 98:
                {
                    var model = await registry.GetAsync("golden-model", ct);
                    Assert.Equal([ModelVersionStage.Archived, ModelVersionStage.Staging], model.LatestVersions.Select(v => v.CurrentStage));
                    var alias = Assert.Single(model.Aliases);
                    Assert.Equal(("champion", "1"), (alias.Alias, alias.Version));
                    Assert.Equal("golden-team", model.Tags["owner"]);
                    Assert.False(model.Tags.ContainsKey("task"));
                    break;
                }

            case 99:
                await AssertFailsAsync(() => registry.GetVersionByAliasAsync("golden-model", "no-such-alias", ct), HttpStatusCode.BadRequest, MlflowErrorCodes.InvalidParameterValue);
                Assert.Null(await registry.TryGetVersionByAliasAsync("golden-model", "no-such-alias", ct));
                break;
            case 100:
                await registry.DeleteAliasAsync("golden-model", "champion", ct);
                break;
            case 101:
                await registry.DeleteVersionAsync("golden-model", "2", ct);
                break;
            case 102:
                await registry.DeleteAsync("golden-model", ct);
                break;
            case 103:
                {
                    var create = () => client.LoggedModels.CreateAsync(
                        (string)json!["experiment_id"]!,
                        new CreateLoggedModelOptions
                        {
                            Name = "golden-logged-model",
                            ModelType = "classifier",
                            SourceRunId = runId,
                            Params = new Dictionary<string, string> { ["alpha"] = "0.5" },
                            Tags = new Dictionary<string, string> { ["framework"] = "onnx", ["scratch"] = "to-be-deleted" },
                        },
                        ct);
                    if (exchange.Version == "2.22")
                    {
                        // MLflow 2.x has no logged models: Flask's HTML 404, reported as ENDPOINT_NOT_FOUND.
                        var error = await AssertFailsAsync(create, HttpStatusCode.NotFound, MlflowErrorCodes.EndpointNotFound);
                        Assert.Contains("Not Found", error.ServerMessage, StringComparison.Ordinal);
                    }
                    else
                    {
                        var model = await create();
                        Assert.StartsWith("m-", model.Info.ModelId, StringComparison.Ordinal);
                        Assert.Equal(LoggedModelStatus.Pending, model.Info.Status);
                        Assert.Equal("0.5", model.Data.Params["alpha"]);
                        Assert.Equal("models:/" + model.Info.ModelId, model.ModelUri);
                        Assert.EndsWith("/artifacts", model.Info.ArtifactUri, StringComparison.Ordinal);
                    }

                    break;
                }

            case 104:
                Assert.Equal("golden-logged-model", (await client.LoggedModels.GetAsync(modelId!, ct)).Info.Name);
                break;
            case 105:
                Assert.Equal(LoggedModelStatus.Ready, (await client.LoggedModels.FinalizeAsync(modelId!, LoggedModelStatus.Ready, ct)).Info.Status);
                break;
            case 106:
                {
                    var page = await client.LoggedModels.SearchPageAsync(new SearchLoggedModelsOptions { ExperimentIds = [(string)json!["experiment_ids"]![0]!], Filter = "name = 'golden-logged-model'", PageSize = 10 }, ct);
                    Assert.Equal("golden-logged-model", Assert.Single(page.Items).Info.Name);
                    break;
                }

            case 107:
                await client.LoggedModels.SetTagsAsync(modelId!, new Dictionary<string, string> { ["stage"] = "candidate" }, ct);
                break;
            case 108:
                await client.LoggedModels.DeleteTagAsync(modelId!, "scratch", ct);
                break;
            case 109:
                await client.Runs.LogOutputsAsync(runId!, [new ModelOutput { ModelId = modelId!, Step = 3 }], ct);
                break;
            case 110:
                await client.LoggedModels.LogMetricAsync(modelId!, runId!, "eval_acc", 0.91, 3, DateTimeOffset.FromUnixTimeMilliseconds(1767226300000), ct);
                break;
            case 111:
                {
                    var model = await client.LoggedModels.GetAsync(modelId!, ct);
                    var metric = Assert.Single(model.Data.Metrics);
                    Assert.Equal(("eval_acc", 0.91, 3L), (metric.Key, metric.Value, metric.Step));
                    Assert.Equal(modelId, metric.ModelId);
                    Assert.NotNull(metric.RunId);
                    Assert.Equal("candidate", model.Info.Tags["stage"]);
                    Assert.False(model.Info.Tags.ContainsKey("scratch"));
                    break;
                }

            case 112:
                await client.LoggedModels.DeleteAsync(modelId!, ct);
                break;
            case 113:
                await AssertFailsAsync(() => client.LoggedModels.GetAsync(modelId!, ct), HttpStatusCode.NotFound, MlflowErrorCodes.ResourceDoesNotExist);
                break;
            case 114:
                {
                    var run = await client.Runs.GetAsync(runId!, ct);
                    if (exchange.Version == "3.11")
                    {
                        var output = Assert.Single(run.Outputs.ModelOutputs);
                        Assert.Equal(3, output.Step);
                        Assert.StartsWith("m-", output.ModelId, StringComparison.Ordinal);
                    }
                    else
                    {
                        // 2.22 runs have no "outputs" member.
                        Assert.Empty(run.Outputs.ModelOutputs);
                    }

                    break;
                }

            default:
                Assert.Fail($"No client call is mapped to exchange {exchange}.");
                break;
        }
    }

    private static async Task<MlflowException> AssertFailsAsync<T>(Func<Task<T>> call, HttpStatusCode status, string errorCode)
    {
        var error = await Assert.ThrowsAsync<MlflowException>(call);
        Assert.Equal(status, error.StatusCode);
        Assert.Equal(errorCode, error.ErrorCode);
        return error;
    }
}
