using Azure.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using MLOpsDemo.Mlflow.Azure;
using MLOpsDemo.Mlflow.Hosting.Tests.TestSupport;
using WireMock.RequestBuilders;
using Request = WireMock.RequestBuilders.Request;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Hosting.Tests.Azure;

public sealed class AzureMlTests
{
    private const string Workspace = "eastus.api.azureml.ms/mlflow/v1.0/subscriptions/0000/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws";

    [Fact]
    public void Azureml_uri_maps_to_https_with_the_same_path()
    {
        Assert.Equal("https://" + Workspace, AzureMlMlflow.ToHttpsUri("azureml://" + Workspace).ToString());
        Assert.Throws<ArgumentException>(() => AzureMlMlflow.ToHttpsUri("https://" + Workspace));
        Assert.Throws<ArgumentException>(() => AzureMlMlflow.ToHttpsUri("azureml://"));
    }

    [Fact]
    public async Task Token_is_requested_for_the_management_scope_and_refreshed_before_expiry()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var source = new FakeTokenCredential(time, TimeSpan.FromMinutes(60));
        var credential = AzureMlMlflow.CreateCredential(source, time);
        var ct = TestContext.Current.CancellationToken;

        Assert.Equal("Bearer token-1", await AuthorizationAsync(credential, ct));
        time.Advance(TimeSpan.FromMinutes(50));
        Assert.Equal("Bearer token-1", await AuthorizationAsync(credential, ct));
        time.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal("Bearer token-2", await AuthorizationAsync(credential, ct));
        Assert.All(source.Scopes, s => Assert.Equal(["https://management.azure.com/.default"], s));
    }

    [Fact]
    public async Task Guid_experiment_ids_and_401_refresh_work_end_to_end()
    {
        using var server = WireMockServer.Start();
        const string Id = "6a1d9b9e-0f35-4a57-a7c3-1f0a9e3d5b11";
        server.Given(Request.Create().WithPath("/mlflow/v1.0/ws/api/2.0/mlflow/experiments/get").WithParam("experiment_id", Id).WithHeader("Authorization", "Bearer token-1"))
            .RespondWith(Response.Create().WithStatusCode(401));
        server.Given(Request.Create().WithPath("/mlflow/v1.0/ws/api/2.0/mlflow/experiments/get").WithParam("experiment_id", Id).WithHeader("Authorization", "Bearer token-2"))
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json")
                .WithBody($$$"""{"experiment":{"experiment_id":"{{{Id}}}","name":"azure","artifact_location":"azureml://x","lifecycle_stage":"active"}}"""));
        var source = new FakeTokenCredential(TimeProvider.System, TimeSpan.FromHours(1));
        var services = new ServiceCollection();
        services.AddMlflowClient(o => { o.TrackingUri = server.Url!.Replace("http://", "azureml://", StringComparison.Ordinal) + "/mlflow/v1.0/ws"; o.MaxRetries = 0; })
            .AddAzureMlAuth(source)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler());
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<MlflowClient>();

        // azureml:// becomes https://; WireMock speaks http, so point the rewritten URI back at it.
        Assert.StartsWith("https://", client.TrackingUri, StringComparison.Ordinal);
        var options = new MlflowClientOptions { TrackingUri = server.Url + "/mlflow/v1.0/ws", MaxRetries = 0, Credential = AzureMlMlflow.CreateCredential(source) };
        using var plain = new MlflowClient(options);
        var experiment = await plain.Experiments.GetAsync(Id, TestContext.Current.CancellationToken);

        Assert.Equal(Id, experiment.ExperimentId);
        Assert.Equal(2, source.Calls);
    }

    private static async Task<string?> AuthorizationAsync(MlflowCredential credential, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://example.invalid/");
        await credential.AuthenticateAsync(request, ct);
        return request.Headers.Authorization?.ToString();
    }

    private sealed class FakeTokenCredential(TimeProvider time, TimeSpan lifetime) : TokenCredential
    {
        public int Calls { get; private set; }

        public List<string[]> Scopes { get; } = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            GetTokenAsync(requestContext, cancellationToken).AsTask().GetAwaiter().GetResult();

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            Calls++;
            Scopes.Add(requestContext.Scopes);
            return new(new AccessToken("token-" + Calls, time.GetUtcNow() + lifetime));
        }
    }
}
