using MLOpsDemo.Mlflow.Tests.TestSupport;
using WireMock.Server;
using static MLOpsDemo.Mlflow.Tests.Registry.RegistryStubs;

namespace MLOpsDemo.Mlflow.Tests.Registry;

public class ModelRegistryClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("latest")]
    [InlineData("Latest")]
    [InlineData("v1")]
    [InlineData("V12")]
    [InlineData("has.dot")]
    [InlineData("has space")]
    [InlineData("")]
    public async Task Invalid_or_reserved_aliases_are_refused_before_any_request(string alias)
    {
        using var server = WireMockServer.Start();
        using var client = TestClients.For(server);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => client.ModelRegistry.SetAliasAsync("iris", alias, "1", Ct));

        Assert.Equal("alias", error.ParamName);
        Assert.Empty(server.LogEntries);
    }

    [Fact]
    public async Task Overlong_alias_is_refused()
    {
        using var server = WireMockServer.Start();
        using var client = TestClients.For(server);

        await Assert.ThrowsAsync<ArgumentException>(() => client.ModelRegistry.SetAliasAsync("iris", new string('a', 256), "1", Ct));
        await client.ModelRegistry.SetAliasAsync("iris", new string('a', 255), "1", Ct).ContinueWith(_ => { }, Ct);
        Assert.Single(server.LogEntries);
    }

    [Theory]
    [InlineData("")]
    [InlineData("one")]
    [InlineData("1.5")]
    [InlineData("-1")]
    [InlineData("0")]
    public async Task Versions_must_be_positive_integers(string version)
    {
        using var server = WireMockServer.Start();
        using var client = TestClients.For(server);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => client.ModelRegistry.GetVersionAsync("iris", version, Ct));

        Assert.Contains("positive decimal integer", error.Message, StringComparison.Ordinal);
        Assert.Empty(server.LogEntries);
    }

    [Fact]
    public async Task Tag_values_over_the_limit_are_refused()
    {
        using var server = WireMockServer.Start();
        using var client = TestClients.For(server);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => client.ModelRegistry.SetTagAsync("iris", "owner", new string('x', 5001), Ct));
        Assert.Contains("5000", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => client.ModelRegistry.SetVersionTagAsync("iris", "1", "note", new string('x', 100_001), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => client.ModelRegistry.SetTagAsync("iris", "bad//key", "v", Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => client.ModelRegistry.CreateAsync(" ", cancellationToken: Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => client.ModelRegistry.CreateVersionAsync("iris", "mlflow-artifacts:/1/../etc", cancellationToken: Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => client.ModelRegistry.TransitionStageAsync("iris", "1", "Prod", cancellationToken: Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => client.ModelRegistry.TransitionStageAsync("iris", "1", "Archived", archiveExistingVersions: true, Ct));
        Assert.Empty(server.LogEntries);
    }

    [Fact]
    public async Task Create_version_sends_model_id_and_run_link()
    {
        using var server = WireMockServer.Start();
        Json(server, "POST", MlflowApi + "/model-versions/create", $$"""{"model_version": {{Version("iris", "3", "r1", source: "models:/m-0123")}}}""");
        using var client = TestClients.For(server);

        await client.ModelRegistry.CreateVersionAsync("iris", "models:/m-0123", new CreateModelVersionOptions { RunId = "r1", ModelId = "m-0123", RunLink = "http://ci/1" }, Ct);

        var body = Body(Assert.Single(server.LogEntries));
        Assert.Equal("""{"name":"iris","source":"models:/m-0123","run_id":"r1","run_link":"http://ci/1","model_id":"m-0123"}""", body.ToJsonString());
    }

    [Fact]
    public async Task Search_sends_order_by_as_repeated_query_parameters()
    {
        using var server = WireMockServer.Start();
        Json(server, "GET", MlflowApi + "/model-versions/search", """{"model_versions": []}""");
        using var client = TestClients.For(server);

        var versions = await client.ModelRegistry.SearchVersionsAsync(new SearchModelVersionsOptions { Filter = "name='iris'", OrderBy = ["version_number DESC", "name ASC"] }, Ct).ToListAsync(Ct);

        Assert.Empty(versions);
        var query = Assert.Single(server.LogEntries).RequestMessage.Query!;
        Assert.Equal(["version_number DESC", "name ASC"], query["order_by"].ToArray());
        Assert.Equal("10000", query["max_results"].Single());
        Assert.False(query.ContainsKey("page_token"));
    }

    [Fact]
    public async Task Search_page_size_is_checked_against_the_server_maximum()
    {
        using var server = WireMockServer.Start();
        using var client = TestClients.For(server);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => client.ModelRegistry.SearchPageAsync(new SearchRegisteredModelsOptions { PageSize = 1001 }, Ct));
    }

    [Fact]
    public async Task Get_latest_versions_falls_back_to_get_once_and_remembers_it()
    {
        using var server = WireMockServer.Start();
        Html404(server, "POST", MlflowApi + "/registered-models/get-latest-versions");
        Json(server, "GET", MlflowApi + "/registered-models/get-latest-versions", $$"""{"model_versions": [{{Version("iris", "4", stage: "Production")}}]}""");
        using var client = TestClients.For(server);

        await client.ModelRegistry.GetLatestVersionsAsync("iris", ["production"], Ct);
        var second = await client.ModelRegistry.GetLatestVersionsAsync("iris", ["Production"], Ct);

        Assert.Equal("4", Assert.Single(second).Version);
        Assert.Equal(["POST", "GET", "GET"], server.LogEntries.Select(e => e.RequestMessage.Method));
        Assert.Equal(MLOpsDemo.Mlflow.Http.ServerSupport.Unsupported, client.Capabilities.LatestVersionsPost);
        Assert.Equal(["Production"], server.LogEntries[^1].RequestMessage.Query!["stages"].ToArray());
    }

    [Fact]
    public async Task Try_get_by_alias_still_throws_when_the_model_is_missing()
    {
        var (server, client, _) = TestClients.Replay("3.11", "076-registered-models-get-missing");
        using var __ = server;
        using var ___ = client;
        Json(server, "GET", MlflowApi + "/registered-models/alias", """{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Registered Model with name=nope not found"}""", 404);

        var error = await Assert.ThrowsAsync<MlflowException>(() => client.ModelRegistry.TryGetVersionByAliasAsync("nope", "champion", Ct));

        Assert.Equal(MlflowErrorCodes.ResourceDoesNotExist, error.ErrorCode);
    }

    [Fact]
    public async Task Registry_client_without_a_server_explains_what_is_missing()
    {
        var client = new MockableClient();

        var error = await Assert.ThrowsAsync<MlflowException>(() => client.ModelRegistry.GetAsync("iris", Ct));

        Assert.Equal(System.Net.HttpStatusCode.NotImplemented, error.StatusCode);
        Assert.Equal(MlflowErrorCodes.NotImplemented, error.ErrorCode);

        Assert.Contains("registry", error.Message, StringComparison.Ordinal);
    }

    private sealed class MockableClient : MlflowClient
    {
        public MockableClient()
            : base(forMocking: true)
        {
        }
    }
}
