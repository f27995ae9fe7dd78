using MLOpsDemo.Mlflow;
using MLOpsDemo.Mlflow.Databricks;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Settings of <see cref="DatabricksHttpClientBuilderExtensions.AddDatabricksAuth"/>.</summary>
public sealed class DatabricksAuthOptions
{
    /// <summary>An explicit configuration; <see langword="null"/> (default) resolves it from the tracking URI, the environment and <c>~/.databrickscfg</c>.</summary>
    public DatabricksConfig? Config { get; set; }

    /// <summary>
    /// Client-side request rate limit per second; <see langword="null"/> (default) for none. The bucket is refilled on
    /// the client's <see cref="MlflowClientOptions.TimeProvider"/> (a <see cref="TimeProvider"/> registered in the
    /// container, else the system clock).
    /// </summary>
    public double? RequestsPerSecond { get; set; }
}

/// <summary>Adds Databricks authentication to a client registered with <c>AddMlflowClient</c>.</summary>
public static class DatabricksHttpClientBuilderExtensions
{
    /// <summary>
    /// Lets the client use <c>databricks</c> / <c>databricks://&lt;profile&gt;</c> tracking URIs with a personal access
    /// token or OAuth machine-to-machine credentials, and optionally limits the request rate.
    /// </summary>
    /// <param name="builder">The builder returned by <c>AddMlflowClient</c>.</param>
    /// <param name="configure">Changes the settings, or <see langword="null"/>.</param>
    /// <returns>The builder.</returns>
    public static IHttpClientBuilder AddDatabricksAuth(this IHttpClientBuilder builder, Action<DatabricksAuthOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var settings = new DatabricksAuthOptions();
        configure?.Invoke(settings);
        builder.PostConfigureMlflowOptions((options, _) => DatabricksMlflow.Configure(options, settings.Config));
        if (settings.RequestsPerSecond is { } rate)
        {
            new DatabricksRateLimitHandler(rate).Dispose(); // validates the rate at registration time
            var name = builder.Name;
            builder.AddHttpMessageHandler(provider => new DatabricksRateLimitHandler(
                rate,
                queueLimit: 1000,
                timeProvider: provider.GetRequiredService<IOptionsMonitor<MlflowClientOptions>>().Get(name).TimeProvider));
        }

        return builder;
    }
}
