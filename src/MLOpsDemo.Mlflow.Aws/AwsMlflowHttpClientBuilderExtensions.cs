using MLOpsDemo.Mlflow.Aws;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds AWS authentication to a client registered with <c>AddMlflowClient</c>.</summary>
public static class AwsMlflowHttpClientBuilderExtensions
{
    /// <summary>
    /// Lets the client use a SageMaker managed MLflow ARN as its tracking URI (mapped to the https endpoint, routing
    /// header added, every request SigV4-signed), or, for an http(s) URI with <see cref="AwsMlflowOptions.SignWithSigV4"/>
    /// (or <c>MLFLOW_TRACKING_AWS_SIGV4=true</c>), sign for <c>execute-api</c>.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddMlflowClient</c>.</param>
    /// <param name="configure">Changes the AWS settings, or <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    public static IHttpClientBuilder AddSageMakerAuth(this IHttpClientBuilder builder, Action<AwsMlflowOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.PostConfigureMlflowOptions((options, _) =>
        {
            var aws = new AwsMlflowOptions();
            configure?.Invoke(aws);
            AwsMlflow.Configure(options, aws);
        });
    }
}
