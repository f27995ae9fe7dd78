using Azure.Core;
using MLOpsDemo.Mlflow.Azure;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Azure ML authentication to a client registered with <c>AddMlflowClient</c>.</summary>
public static class AzureMlHttpClientBuilderExtensions
{
    /// <summary>
    /// Lets the client use an <c>azureml://</c> tracking URI with Microsoft Entra bearer tokens from
    /// <paramref name="credential"/>, else a <see cref="TokenCredential"/> registered in the container, else
    /// <c>DefaultAzureCredential</c>.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddMlflowClient</c>.</param>
    /// <param name="credential">The token source, or <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    public static IHttpClientBuilder AddAzureMlAuth(this IHttpClientBuilder builder, TokenCredential? credential = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.PostConfigureMlflowOptions((options, services) =>
            AzureMlMlflow.Configure(options, credential ?? services.GetService<TokenCredential>()));
    }
}
