using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MLOpsDemo.Mlflow.Azure;
using MLOpsDemo.Mlflow.Databricks;
using MLOpsDemo.Mlflow.Extensions.DependencyInjection;

namespace MLOpsDemo.Mlflow.Hosting.Tests.DependencyInjection;

/// <summary>Public members a review found without a test of their own; each assertion fails if the member breaks.</summary>
public sealed class ReviewedSurfaceTests
{
    [Theory]
    [InlineData("databricks", true)]
    [InlineData(" Databricks ", true)]
    [InlineData("databricks://staging", true)]
    [InlineData("DATABRICKS://x", true)]
    [InlineData("databricksx", false)]
    [InlineData("https://adb-1.azuredatabricks.net", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void IsDatabricksUri_recognises_only_databricks_uris(string? uri, bool expected) =>
        Assert.Equal(expected, DatabricksMlflow.IsDatabricksUri(uri));

    [Theory]
    [InlineData("azureml://eastus.api.azureml.ms/mlflow/v1.0/subscriptions/s", true)]
    [InlineData("AzureML://host", true)]
    [InlineData("  azureml://host", true)]
    [InlineData("https://eastus.api.azureml.ms/mlflow", false)]
    [InlineData("azureml:/host", false)]
    [InlineData(null, false)]
    public void IsAzureMlUri_recognises_only_azureml_uris(string? uri, bool expected) =>
        Assert.Equal(expected, AzureMlMlflow.IsAzureMlUri(uri));

    [Fact]
    public async Task ConfigureMlflowOptions_and_PostConfigureMlflowOptions_run_in_their_documented_order()
    {
        var services = new ServiceCollection();
        var order = new List<string>();
        services.AddMlflowClient(o => o.TrackingUri = "http://registered:5000")
            .PostConfigureMlflowOptions((o, sp) =>
            {
                order.Add("post:" + o.TrackingUri);
                Assert.NotNull(sp.GetService<IMlflowClientFactory>());
                o.TrackingUri = "http://post:5000";
            })
            .ConfigureMlflowOptions(o =>
            {
                order.Add("configure:" + o.TrackingUri);
                o.MaxRetries = 3;
                o.TrackingUri = "http://configured:5000";
            });
        await using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptionsMonitor<MlflowClientOptions>>().Get(MlflowClientNames.HttpClientName(""));

        // Configure steps run in registration order, every post-configure step after all of them.
        Assert.Equal(["configure:http://registered:5000", "post:http://configured:5000"], order);
        Assert.Equal("http://post:5000", options.TrackingUri);
        Assert.Equal(3, options.MaxRetries);
        Assert.Equal("http://post:5000/", provider.GetRequiredService<MlflowClient>().TrackingUri.TrimEnd('/') + "/");
    }

    [Fact]
    public async Task AddMlflowClient_gives_an_unauthenticated_factory_client_with_the_user_agent_and_no_credentials()
    {
        var services = new ServiceCollection();
        services.AddMlflowClient(o =>
        {
            o.TrackingUri = "http://mlflow.test:5000";
            o.Token = "tracking-secret";
        });
        await using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptionsMonitor<MlflowClientOptions>>().Get(MlflowClientNames.HttpClientName(""));
        Assert.NotNull(options.UnauthenticatedHttpClientFactory);
        using var http = options.CreateUnauthenticatedHttpClient();

        Assert.Contains(http.DefaultRequestHeaders.UserAgent, p => p.Product?.Name == "mlflow-dotnet-client");
        Assert.Null(http.DefaultRequestHeaders.Authorization);
    }
}

/// <summary>AWS and Databricks members a review found without a test of their own.</summary>
public sealed class ReviewedProviderSurfaceTests
{
    private const string Arn = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/team";
    private const string Role = "arn:aws:iam::123456789012:role/mlflow-reader";

    [Fact]
    public void CreateSageMakerClient_targets_the_arns_endpoint_and_refuses_a_malformed_arn()
    {
        using var client = MLOpsDemo.Mlflow.Aws.AwsMlflow.CreateSageMakerClient(Arn, new MLOpsDemo.Mlflow.Aws.AwsMlflowOptions { Credentials = new Amazon.Runtime.BasicAWSCredentials("AKID", "SECRET") });

        Assert.StartsWith("https://us-east-1.experiments.sagemaker.aws", client.TrackingUri, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET", client.ToString(), StringComparison.Ordinal);
        Assert.ThrowsAny<ArgumentException>(() => MLOpsDemo.Mlflow.Aws.AwsMlflow.CreateSageMakerClient("arn:aws:sagemaker:us-east-1:123:not-mlflow/x"));
    }

    [Fact]
    public void AssumeRoleArn_wraps_the_base_credentials_in_an_assumed_role()
    {
        var basic = new Amazon.Runtime.BasicAWSCredentials("AKID", "SECRET");

        var fromOption = MLOpsDemo.Mlflow.Aws.AwsMlflow.ResolveCredentials(new MLOpsDemo.Mlflow.Aws.AwsMlflowOptions { Credentials = basic, AssumeRoleArn = Role }, _ => null);
        var fromVariable = MLOpsDemo.Mlflow.Aws.AwsMlflow.ResolveCredentials(new MLOpsDemo.Mlflow.Aws.AwsMlflowOptions { Credentials = basic }, n => n == "SAGEMAKER_MLFLOW_ASSUME_ROLE_ARN" ? Role : null);
        var without = MLOpsDemo.Mlflow.Aws.AwsMlflow.ResolveCredentials(new MLOpsDemo.Mlflow.Aws.AwsMlflowOptions { Credentials = basic }, _ => null);

        Assert.Equal(Role, Assert.IsType<Amazon.Runtime.AssumeRoleAWSCredentials>(fromOption).RoleArn);
        Assert.Equal(Role, Assert.IsType<Amazon.Runtime.AssumeRoleAWSCredentials>(fromVariable).RoleArn);
        Assert.Same(basic, without);
    }

    [Fact]
    public async Task RequestsPerSecond_adds_the_rate_limit_handler_to_the_clients_pipeline()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddMlflowClient(o => o.TrackingUri = "databricks")
            .AddDatabricksAuth(o =>
            {
                o.Config = new DatabricksConfig { Host = "https://ws.cloud.databricks.com", Token = "dapi-1" };
                o.RequestsPerSecond = 5;
            });
        services.AddMlflowClient("plain", o => o.TrackingUri = "databricks").AddDatabricksAuth(o => o.Config = new DatabricksConfig { Host = "https://ws.cloud.databricks.com", Token = "dapi-1" });
        await using var provider = services.BuildServiceProvider();

        var limiter = Assert.Single(AdditionalHandlers(provider, MlflowClientNames.HttpClientName("")).OfType<DatabricksRateLimitHandler>());
        // Its bucket refills on the container's TimeProvider (through MlflowClientOptions.TimeProvider): the 6th request
        // at 5/s waits until that clock has moved one second.
        limiter.InnerHandler = new OkHandler();
        using (var http = new HttpMessageInvoker(limiter))
        {
            var ct = TestContext.Current.CancellationToken;
            var requests = Enumerable.Range(0, 6).Select(_ => http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "https://ws.cloud.databricks.com/x"), ct)).ToList();
            await Task.WhenAll(requests.Take(5));
            Assert.False(requests[5].IsCompleted);
            time.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(System.Net.HttpStatusCode.OK, (await requests[5]).StatusCode);
        }

        Assert.DoesNotContain(AdditionalHandlers(provider, MlflowClientNames.HttpClientName("plain")), h => h is DatabricksRateLimitHandler);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ServiceCollection().AddMlflowClient(o => o.TrackingUri = "databricks").AddDatabricksAuth(o => o.RequestsPerSecond = 0));
    }

    private sealed class OkHandler : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK) { RequestMessage = request });
    }

    private static IList<DelegatingHandler> AdditionalHandlers(IServiceProvider provider, string httpClientName)
    {
        var factoryOptions = provider.GetRequiredService<IOptionsMonitor<Microsoft.Extensions.Http.HttpClientFactoryOptions>>().Get(httpClientName);
        var builder = provider.GetRequiredService<Microsoft.Extensions.Http.HttpMessageHandlerBuilder>();
        builder.Name = httpClientName;
        foreach (var action in factoryOptions.HttpMessageHandlerBuilderActions)
        {
            action(builder);
        }

        return builder.AdditionalHandlers;
    }
}
