using MLOpsDemo.Mlflow.Registry;
using MLOpsDemo.Mlflow.Tests.TestSupport;
using WireMock.Server;
using static MLOpsDemo.Mlflow.Tests.Registry.RegistryStubs;

namespace MLOpsDemo.Mlflow.Tests.Registry;

public class ModelUriTests
{
    [Theory]
    [InlineData("models:/iris/3", ModelUriKind.Version, "iris", "3", null, null, null, null)]
    [InlineData("models:/iris/0012", ModelUriKind.Version, "iris", "12", null, null, null, null)]
    [InlineData("models:/iris@champion", ModelUriKind.Alias, "iris", null, "champion", null, null, null)]
    [InlineData("models:/team@iris@champion", ModelUriKind.Alias, "team@iris", null, "champion", null, null, null)]
    [InlineData("models:/iris/Production", ModelUriKind.Stage, "iris", null, null, "Production", null, null)]
    [InlineData("models:/iris/staging", ModelUriKind.Stage, "iris", null, null, "Staging", null, null)]
    [InlineData("models:/iris/None", ModelUriKind.Stage, "iris", null, null, "None", null, null)]
    [InlineData("models:/iris/latest", ModelUriKind.Latest, "iris", null, null, null, null, null)]
    [InlineData("models:/iris/LATEST", ModelUriKind.Latest, "iris", null, null, null, null, null)]
    [InlineData("models:/m-0123456789abcdef0123456789abcdef", ModelUriKind.LoggedModel, null, null, null, null, "m-0123456789abcdef0123456789abcdef", null)]
    [InlineData("models:/iris", ModelUriKind.LoggedModel, null, null, null, null, "iris", null)]
    [InlineData("models:/iris/3/sub/file.txt", ModelUriKind.Version, "iris", "3", null, null, null, "sub/file.txt")]
    [InlineData("models:/iris@prod/MLmodel", ModelUriKind.Alias, "iris", null, "prod", null, null, "MLmodel")]
    [InlineData("runs:/0123abcd/model", ModelUriKind.Run, null, null, null, null, null, "model")]
    [InlineData("runs:/0123abcd/model/MLmodel", ModelUriKind.Run, null, null, null, null, null, "model/MLmodel")]
    [InlineData("runs:/0123abcd", ModelUriKind.Run, null, null, null, null, null, null)]
    public void Parses_model_uris(string uri, ModelUriKind kind, string? name, string? version, string? alias, string? stage, string? modelId, string? subPath)
    {
        var parsed = ModelUri.Parse(uri, nameof(uri));

        Assert.Equal(kind, parsed.Kind);
        Assert.Equal(name, parsed.Name);
        Assert.Equal(version, parsed.Version);
        Assert.Equal(alias, parsed.Alias);
        Assert.Equal(stage, parsed.Stage);
        Assert.Equal(modelId, parsed.ModelId);
        Assert.Equal(subPath, parsed.SubPath);
    }

    [Theory]
    [InlineData("")]
    [InlineData("s3://bucket/model")]
    [InlineData("models://host/iris/1")]
    [InlineData("models:/iris/Champion")]
    [InlineData("models:/iris/1/../../secret")]
    [InlineData("models:/@champion")]
    [InlineData("models:/iris@")]
    [InlineData("runs:/bad id!/model")]
    public void Rejects_invalid_uris_before_any_request(string uri)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => ModelUri.Parse(uri, "modelUri"));
        Assert.Equal("modelUri", error.ParamName);
    }

    public static TheoryData<string, string, string?, string> Resolutions() => new()
    {
        { "models:/iris/3", "mlflow-artifacts:/1/v3/artifacts/model", "3", "version" },
        { "models:/iris/3/sub/file.txt", "mlflow-artifacts:/1/v3/artifacts/model/sub/file.txt", "3", "version" },
        { "models:/iris@champion", "mlflow-artifacts:/1/v5/artifacts/model", "5", "alias" },
        { "models:/iris/Production", "mlflow-artifacts:/1/v4/artifacts/model", "4", "stage" },
        { "models:/iris/latest", "mlflow-artifacts:/1/v7/artifacts/model", "7", "latest" },
        { "models:/m-0123456789abcdef0123456789abcdef", "mlflow-artifacts:/1/models/m-0123456789abcdef0123456789abcdef/artifacts", null, "logged" },
        { "runs:/r2x/model", "mlflow-artifacts:/1/r2x/artifacts/model", null, "run" },
        { "runs:/r3x/model/MLmodel", "mlflow-artifacts:/1/models/m-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/artifacts/MLmodel", null, "run3" },
    };

    [Theory]
    [MemberData(nameof(Resolutions))]
    public async Task Resolves_uris_to_a_version_and_artifact_location(string uri, string expectedLocation, string? expectedVersion, string _)
    {
        using var server = WireMockServer.Start();
        foreach (var v in new[] { "3", "4", "5", "7" })
        {
            Json(server, "GET", MlflowApi + "/model-versions/get-download-uri", $$"""{"artifact_uri": "mlflow-artifacts:/1/v{{v}}/artifacts/model"}""", query: [("name", "iris"), ("version", v)]);
        }

        Json(server, "GET", MlflowApi + "/registered-models/alias", $$"""{"model_version": {{Version("iris", "5", "run5", aliases: "champion")}}}""", query: [("name", "iris"), ("alias", "champion")]);
        server.Given(WireMock.RequestBuilders.Request.Create().WithPath(MlflowApi + "/registered-models/get-latest-versions").UsingPost().WithBody(new WireMock.Matchers.JsonPartialMatcher("""{"stages": ["Production"]}""")))
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithHeader("Content-Type", "application/json").WithBody($$"""{"model_versions": [{{Version("iris", "4", stage: "Production")}}]}"""));
        server.Given(WireMock.RequestBuilders.Request.Create().WithPath(MlflowApi + "/registered-models/get-latest-versions").UsingPost().WithBody(new WireMock.Matchers.JsonMatcher("""{"name": "iris"}""")))
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithHeader("Content-Type", "application/json").WithBody($$"""{"model_versions": [{{Version("iris", "2", stage: "Staging")}}, {{Version("iris", "7")}}]}"""));
        Json(server, "GET", MlflowApi + "/logged-models/m-0123456789abcdef0123456789abcdef", """{"model": {"info": {"model_id": "m-0123456789abcdef0123456789abcdef", "experiment_id": "1", "artifact_uri": "mlflow-artifacts:/1/models/m-0123456789abcdef0123456789abcdef/artifacts", "status": "LOGGED_MODEL_READY"}}}""");
        Json(server, "GET", MlflowApi + "/runs/get", Run("r2x"), query: [("run_id", "r2x")]);
        Json(server, "GET", MlflowApi + "/runs/get", Run("r3x", outputs: """{"model_id": "m-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "step": 0}"""), query: [("run_id", "r3x")]);
        Json(server, "POST", MlflowApi + "/logged-models/search", """{"models": [{"info": {"model_id": "m-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "name": "model", "experiment_id": "1", "source_run_id": "r3x", "artifact_uri": "mlflow-artifacts:/1/models/m-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/artifacts", "status": "LOGGED_MODEL_READY"}}]}""");
        using var client = TestClients.For(server);

        var resolved = await client.ModelRegistry.ResolveModelUriAsync(uri, TestContext.Current.CancellationToken);

        Assert.Equal(uri, resolved.Uri);
        Assert.Equal(expectedLocation, resolved.ArtifactUri);
        Assert.Equal(expectedVersion, resolved.Version);
        if (uri.StartsWith("runs:/r3x", StringComparison.Ordinal))
        {
            Assert.Equal("m-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", resolved.ModelId);
            var search = Body(Assert.Single(Calls(server, "POST", "/logged-models/search")));
            Assert.Equal("name = 'model' AND source_run_id = 'r3x'", (string?)search["filter"]);
        }

        if (uri.Contains('@', StringComparison.Ordinal))
        {
            Assert.Equal("run5", resolved.RunId);
            Assert.Equal("champion", resolved.Alias);
        }
    }

    [Fact]
    public async Task A_stage_without_versions_fails_with_resource_does_not_exist()
    {
        using var server = WireMockServer.Start();
        Json(server, "POST", MlflowApi + "/registered-models/get-latest-versions", "{}");
        using var client = TestClients.For(server);

        var error = await Assert.ThrowsAsync<MlflowException>(() => client.ModelRegistry.ResolveModelUriAsync("models:/iris/Production", TestContext.Current.CancellationToken));

        Assert.Equal(MlflowErrorCodes.ResourceDoesNotExist, error.ErrorCode);
        Assert.Contains("Production", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_alias_surfaces_the_servers_400()
    {
        var (server, client, _) = TestClients.Replay("3.11", "099-registered-models-alias-get-missing");
        using var __ = server;
        using var ___ = client;

        var error = await Assert.ThrowsAsync<MlflowException>(() => client.ModelRegistry.ResolveModelUriAsync("models:/golden-model@no-such-alias", TestContext.Current.CancellationToken));

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, error.StatusCode);
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, error.ErrorCode);
    }
}
