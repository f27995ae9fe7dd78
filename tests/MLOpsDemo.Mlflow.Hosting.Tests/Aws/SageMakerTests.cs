using Amazon.Runtime;
using Microsoft.Extensions.DependencyInjection;
using MLOpsDemo.Mlflow.Aws;
using MLOpsDemo.Mlflow.Hosting.Tests.TestSupport;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Hosting.Tests.Aws;

public sealed class SageMakerTests
{
    private const string SecretKey = "SECRETKEY-zz91/abcdefghijklmnopqrstuv";

    [Theory]
    [InlineData("arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/team", "https://us-east-1.experiments.sagemaker.aws/", "x-mlflow-sm-tracking-server-arn", "sagemaker-mlflow", "team")]
    [InlineData("arn:aws:sagemaker:eu-west-1:123456789012:mlflow-app/app-abc123", "https://mlflow.sagemaker.eu-west-1.app.aws/", "x-sm-mlflow-app-arn", "sagemaker", "app-abc123")]
    [InlineData("arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:mlflow-tracking-server/gov", "https://us-gov-west-1.experiments.sagemaker.aws/", "x-mlflow-sm-tracking-server-arn", "sagemaker-mlflow", "gov")]
    [InlineData("arn:aws-us-gov:sagemaker:us-gov-east-1:123456789012:mlflow-app/app-1", "https://mlflow.sagemaker.us-gov-east-1.app.aws/", "x-sm-mlflow-app-arn", "sagemaker", "app-1")]
    public void Arn_maps_to_host_header_and_service(string arn, string host, string header, string service, string name)
    {
        var parsed = SageMakerMlflowArn.Parse(arn);

        Assert.Equal(host, parsed.GetEndpoint().ToString());
        Assert.Equal(header, parsed.RoutingHeaderName);
        Assert.Equal(service, parsed.SigningService);
        Assert.Equal(name, parsed.ResourceName);
        Assert.Equal("123456789012", parsed.AccountId);
    }

    [Fact]
    public void Custom_endpoint_wins_and_china_needs_one()
    {
        var china = SageMakerMlflowArn.Parse("arn:aws-cn:sagemaker:cn-north-1:123456789012:mlflow-tracking-server/t");

        var ex = Assert.Throws<ArgumentException>(() => china.GetEndpoint());
        Assert.Contains("aws-cn", ex.Message, StringComparison.Ordinal);
        Assert.Contains("SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT", ex.Message, StringComparison.Ordinal);
        Assert.Equal("https://mlflow.example.cn/", china.GetEndpoint("https://mlflow.example.cn").ToString());
        Assert.Throws<ArgumentException>(() => china.GetEndpoint("not a uri"));
    }

    [Theory]
    [InlineData("arn:aws:sagemaker:us-east-1:123456789012", "is not an ARN")]
    [InlineData("arn:aws:s3:us-east-1:123456789012:mlflow-tracking-server/t", "names service 's3'")]
    [InlineData("arn:azure:sagemaker:us-east-1:123456789012:mlflow-tracking-server/t", "partition 'azure'")]
    [InlineData("arn:aws:sagemaker::123456789012:mlflow-tracking-server/t", "no valid region")]
    [InlineData("arn:aws:sagemaker:us-east-1:1234:mlflow-tracking-server/t", "12 digits")]
    [InlineData("arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/t", "resource type 'notebook-instance'")]
    [InlineData("arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/", "no valid tracking server name")]
    [InlineData("arn:aws:sagemaker:us-east-1:123456789012:mlflow-app", "no valid app id")]
    public void Malformed_arns_are_refused_with_a_clear_message(string arn, string expected)
    {
        var ex = Assert.Throws<ArgumentException>(() => SageMakerMlflowArn.Parse(arn));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Configured_client_signs_every_request_and_sends_the_routing_header()
    {
        using var server = WireMockServer.Start();
        Stubs.ExperimentGet(server);
        var logs = new CapturingLoggerProvider();
        var options = new MlflowClientOptions
        {
            TrackingUri = "arn:aws:sagemaker:us-west-2:123456789012:mlflow-tracking-server/team",
            MaxRetries = 0,
            LoggerFactory = logs,
        };
        AwsMlflow.Configure(options, new AwsMlflowOptions { Credentials = new SessionAWSCredentials("AKIATEST", SecretKey, "SESSIONTOKEN-777"), CustomEndpoint = server.Url }, _ => null);
        using var client = new MlflowClient(options);

        await client.Experiments.GetAsync("1", TestContext.Current.CancellationToken);

        var entry = Assert.Single(server.LogEntries);
        Assert.Equal("arn:aws:sagemaker:us-west-2:123456789012:mlflow-tracking-server/team", Stubs.Header(entry, "x-mlflow-sm-tracking-server-arn"));
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIATEST/", Stubs.Header(entry, "Authorization"), StringComparison.Ordinal);
        Assert.Contains("/us-west-2/sagemaker-mlflow/aws4_request", Stubs.Header(entry, "Authorization"), StringComparison.Ordinal);
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Stubs.Header(entry, "X-Amz-Content-SHA256"));
        var signature = Stubs.Header(entry, "Authorization").Split("Signature=")[1];
        foreach (var secret in new[] { SecretKey, "SESSIONTOKEN-777", signature })
        {
            Assert.DoesNotContain(secret, logs.AllText, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, client.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(secret, options.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Sigv4_environment_mode_signs_http_uris_for_execute_api()
    {
        var options = new MlflowClientOptions { TrackingUri = "https://abc.execute-api.eu-central-1.amazonaws.com/prod" };
        var env = new Dictionary<string, string> { ["MLFLOW_TRACKING_AWS_SIGV4"] = "true" };

        AwsMlflow.Configure(options, new AwsMlflowOptions { Credentials = new BasicAWSCredentials("A", "B"), Region = "eu-central-1" }, n => env.GetValueOrDefault(n));

        var credential = Assert.IsType<AwsSigV4Credential>(options.Credential);
        Assert.Equal(("execute-api", "eu-central-1"), (credential.Service, credential.Region));
        Assert.Equal("https://abc.execute-api.eu-central-1.amazonaws.com/prod", options.TrackingUri);
    }

    [Fact]
    public void Plain_uris_are_left_alone_and_bad_flag_is_reported()
    {
        var options = new MlflowClientOptions { TrackingUri = "http://localhost:5000" };
        AwsMlflow.Configure(options, null, _ => null);
        Assert.Null(options.Credential);

        var ex = Assert.Throws<ArgumentException>(() => AwsMlflow.Configure(options, null, _ => "yes"));
        Assert.Contains("MLFLOW_TRACKING_AWS_SIGV4", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Assume_role_variable_wraps_the_credentials()
    {
        var options = new MlflowClientOptions { TrackingUri = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/app-1" };
        var env = new Dictionary<string, string> { ["SAGEMAKER_MLFLOW_ASSUME_ROLE_ARN"] = "arn:aws:iam::123456789012:role/mlflow" };

        AwsMlflow.Configure(options, new AwsMlflowOptions { Credentials = new BasicAWSCredentials("A", "B") }, n => env.GetValueOrDefault(n));

        var credential = Assert.IsType<AwsSigV4Credential>(options.Credential);
        var inner = typeof(AwsSigV4Credential).GetField("_credentials", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(credential);
        Assert.IsType<AssumeRoleAWSCredentials>(inner);
        Assert.Equal("https://mlflow.sagemaker.us-east-1.app.aws/", options.TrackingUri);
    }

    [Fact]
    public async Task AddSageMakerAuth_rewrites_the_arn_in_dependency_injection()
    {
        using var server = WireMockServer.Start();
        Stubs.ExperimentGet(server);
        var services = new ServiceCollection();
        services.AddMlflowClient("sm", o => { o.TrackingUri = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/team"; o.MaxRetries = 0; })
            .AddSageMakerAuth(aws => { aws.Credentials = new BasicAWSCredentials("AKIADI", SecretKey); aws.CustomEndpoint = server.Url; });
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredKeyedService<MlflowClient>("sm");
        await client.Experiments.GetAsync("1", TestContext.Current.CancellationToken);

        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIADI/", Stubs.Header(Assert.Single(server.LogEntries), "Authorization"), StringComparison.Ordinal);
    }
}
