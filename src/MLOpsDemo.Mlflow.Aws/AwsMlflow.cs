using Amazon.Runtime;
using Amazon.Runtime.Credentials;

namespace MLOpsDemo.Mlflow.Aws;

/// <summary>Settings for SageMaker managed MLflow and SigV4-signed MLflow servers.</summary>
public sealed class AwsMlflowOptions
{
    /// <summary>
    /// The credentials. <see langword="null"/> (the default) uses the AWS default chain (environment, profile, SSO,
    /// web identity, container and instance roles), wrapped in an assumed role when <see cref="AssumeRoleArn"/> is set.
    /// </summary>
    public AWSCredentials? Credentials { get; set; }

    /// <summary>A role to assume with the base credentials. Default: <c>SAGEMAKER_MLFLOW_ASSUME_ROLE_ARN</c>.</summary>
    public string? AssumeRoleArn { get; set; }

    /// <summary>An endpoint that replaces the published SageMaker one. Default: <c>SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT</c>.</summary>
    public string? CustomEndpoint { get; set; }

    /// <summary>
    /// For an http(s) tracking URI (not an ARN): sign every request with SigV4 for <see cref="SigV4Service"/>, as
    /// <c>MLFLOW_TRACKING_AWS_SIGV4=true</c> does for API-Gateway-fronted servers. Default: that variable.
    /// </summary>
    public bool? SignWithSigV4 { get; set; }

    /// <summary>The signing region for <see cref="SignWithSigV4"/>. Default: the AWS default region chain (<c>AWS_REGION</c>, profile, instance metadata).</summary>
    public string? Region { get; set; }

    /// <summary>The signing service for <see cref="SignWithSigV4"/>. Default <c>execute-api</c>.</summary>
    public string SigV4Service { get; set; } = "execute-api";

    /// <summary>The clock used for signatures. Default: the client options' <see cref="MlflowClientOptions.TimeProvider"/>.</summary>
    public TimeProvider? TimeProvider { get; set; }
}

/// <summary>Configures MLflow clients for SageMaker managed MLflow (ARN tracking URIs) and SigV4-signed servers.</summary>
public static class AwsMlflow
{
    /// <summary>
    /// Creates a client for a SageMaker managed MLflow tracking server or app, e.g.
    /// <c>AwsMlflow.CreateSageMakerClient("arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/team")</c>.
    /// Retry and timeout settings come from the <c>MLFLOW_*</c> environment variables.
    /// </summary>
    /// <param name="arn">The tracking server or app ARN.</param>
    /// <param name="aws">AWS settings, or <see langword="null"/> for the defaults.</param>
    /// <returns>The client.</returns>
    /// <exception cref="ArgumentException">The ARN is malformed.</exception>
    public static MlflowClient CreateSageMakerClient(string arn, AwsMlflowOptions? aws = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(arn);
        var options = MlflowClientOptions.FromEnvironment();
        options.TrackingUri = arn;
        return new MlflowClient(Configure(options, aws));
    }

    /// <summary>
    /// Turns options whose <see cref="MlflowClientOptions.TrackingUri"/> is a SageMaker ARN into the https endpoint
    /// plus an <see cref="AwsSigV4Credential"/> that adds the routing header and signs for the ARN's region and
    /// service. For an http(s) URI with <see cref="AwsMlflowOptions.SignWithSigV4"/> (or
    /// <c>MLFLOW_TRACKING_AWS_SIGV4=true</c>) sets a credential that signs for <c>execute-api</c>. Other options are
    /// returned unchanged.
    /// </summary>
    /// <param name="options">The client options; changed in place.</param>
    /// <param name="aws">AWS settings, or <see langword="null"/> for the defaults.</param>
    /// <returns><paramref name="options"/>.</returns>
    /// <exception cref="ArgumentException">The ARN, the custom endpoint or <c>MLFLOW_TRACKING_AWS_SIGV4</c> is malformed.</exception>
    public static MlflowClientOptions Configure(MlflowClientOptions options, AwsMlflowOptions? aws = null) =>
        Configure(options, aws, Environment.GetEnvironmentVariable);

    internal static MlflowClientOptions Configure(MlflowClientOptions options, AwsMlflowOptions? aws, Func<string, string?> getVariable)
    {
        ArgumentNullException.ThrowIfNull(options);
        aws ??= new AwsMlflowOptions();
        var time = aws.TimeProvider ?? options.TimeProvider;
        var uri = options.TrackingUri?.Trim();
        if (SageMakerMlflowArn.IsSageMakerArn(uri))
        {
            var arn = SageMakerMlflowArn.Parse(uri!);
            var endpoint = arn.GetEndpoint(aws.CustomEndpoint ?? NonEmpty(getVariable("SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT")));
            var credentials = ResolveCredentials(aws, getVariable);
            options.TrackingUri = endpoint.ToString();
            options.Credential = new AwsSigV4Credential(
                credentials,
                arn.Region,
                arn.SigningService,
                new Dictionary<string, string> { [arn.RoutingHeaderName] = arn.Arn },
                time);
            return options;
        }

        var sign = aws.SignWithSigV4 ?? ParseBool(getVariable("MLFLOW_TRACKING_AWS_SIGV4"));
        if (sign && uri is not null && (uri.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || uri.StartsWith("http://", StringComparison.OrdinalIgnoreCase)))
        {
            var region = aws.Region ?? FallbackRegionFactory.GetRegionEndpoint()?.SystemName
                ?? throw new ArgumentException("SigV4 signing (MLFLOW_TRACKING_AWS_SIGV4) needs a region: set AWS_REGION or AwsMlflowOptions.Region.");
            options.Credential = new AwsSigV4Credential(ResolveCredentials(aws, getVariable), region, aws.SigV4Service, headers: null, time);
        }

        return options;
    }

    /// <summary>The AWS default credential chain (resolved lazily, cached and refreshed by the SDK).</summary>
    /// <returns>The credentials.</returns>
    public static AWSCredentials GetDefaultCredentials() => new DefaultChainCredentials();

    internal static AWSCredentials ResolveCredentials(AwsMlflowOptions aws, Func<string, string?> getVariable)
    {
        var baseCredentials = aws.Credentials ?? GetDefaultCredentials();
        var role = aws.AssumeRoleArn ?? NonEmpty(getVariable("SAGEMAKER_MLFLOW_ASSUME_ROLE_ARN"));
        return role is null ? baseCredentials : new AssumeRoleAWSCredentials(baseCredentials, role, "mlopsdemo-mlflow-" + Environment.ProcessId);
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static bool ParseBool(string? raw) => NonEmpty(raw)?.ToUpperInvariant() switch
    {
        null => false,
        "TRUE" or "1" => true,
        "FALSE" or "0" => false,
        _ => throw new ArgumentException($"Environment variable MLFLOW_TRACKING_AWS_SIGV4 must be true, false, 1 or 0; it is '{raw}'."),
    };

    /// <summary>Resolves the default chain on first use, so that configuring a client never blocks or fails early.</summary>
    private sealed class DefaultChainCredentials : AWSCredentials
    {
        private readonly Lazy<Task<AWSCredentials>> _resolved = new(() => DefaultAWSCredentialsIdentityResolver.GetCredentialsAsync());

        public override ImmutableCredentials GetCredentials() =>
            throw new NotSupportedException("Use GetCredentialsAsync; MLOpsDemo.Mlflow never blocks on credentials.");

        public override async Task<ImmutableCredentials> GetCredentialsAsync()
        {
            var inner = await _resolved.Value.ConfigureAwait(false);
            return await inner.GetCredentialsAsync().ConfigureAwait(false);
        }
    }
}
