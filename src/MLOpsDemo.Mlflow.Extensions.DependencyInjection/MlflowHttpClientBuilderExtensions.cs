using Microsoft.Extensions.Options;
using MLOpsDemo.Mlflow;
using MLOpsDemo.Mlflow.Http;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Changes the HTTP pipeline or the options of a client registered with <c>AddMlflowClient</c>.</summary>
public static class MlflowHttpClientBuilderExtensions
{
    /// <summary>
    /// Removes the default <see cref="MlflowResilienceHandler"/> so that another policy can be added, for example
    /// <c>.WithoutMlflowResilience().AddStandardResilienceHandler()</c> from Microsoft.Extensions.Http.Resilience.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddMlflowClient</c>.</param>
    /// <returns>The builder.</returns>
    public static IHttpClientBuilder WithoutMlflowResilience(this IHttpClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.ConfigureAdditionalHttpMessageHandlers(static (handlers, _) =>
        {
            for (var i = handlers.Count - 1; i >= 0; i--)
            {
                if (handlers[i] is MlflowResilienceHandler)
                {
                    handlers.RemoveAt(i);
                }
            }
        });
    }

    /// <summary>Adds another configuration step for the client's options (runs after the one given at registration).</summary>
    /// <param name="builder">The builder returned by <c>AddMlflowClient</c>.</param>
    /// <param name="configure">Changes the options.</param>
    /// <returns>The builder.</returns>
    public static IHttpClientBuilder ConfigureMlflowOptions(this IHttpClientBuilder builder, Action<MlflowClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(builder.Name, configure);
        return builder;
    }

    /// <summary>
    /// Adds a step that runs after every other configuration of the client's options, with access to the service
    /// provider. Managed-service packages use it to turn their tracking URIs into https URIs and set the credential.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddMlflowClient</c>.</param>
    /// <param name="configure">Changes the options.</param>
    /// <returns>The builder.</returns>
    public static IHttpClientBuilder PostConfigureMlflowOptions(this IHttpClientBuilder builder, Action<MlflowClientOptions, IServiceProvider> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<MlflowClientOptions>(builder.Name).PostConfigure(configure);
        return builder;
    }
}
