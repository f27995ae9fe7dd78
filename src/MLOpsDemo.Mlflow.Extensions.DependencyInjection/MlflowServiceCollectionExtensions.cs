using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MLOpsDemo.Mlflow;
using MLOpsDemo.Mlflow.Extensions.DependencyInjection;
using MLOpsDemo.Mlflow.Http;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers <see cref="MlflowClient"/>s on <see cref="IHttpClientFactory"/>. Each registration adds, outermost
/// first: <see cref="MlflowObservabilityHandler"/> (logs, activities, metrics), <see cref="MlflowResilienceHandler"/>
/// (MLflow's retry policy; remove it with <see cref="MlflowHttpClientBuilderExtensions.WithoutMlflowResilience"/>) and,
/// when credentials are configured, <see cref="MlflowCredentialHandler"/>. Handlers added to the returned
/// <see cref="IHttpClientBuilder"/> go inside these. The factory's default request loggers are removed (they would log
/// query strings); <see cref="MlflowObservabilityHandler"/> logs instead.
/// </summary>
/// <remarks>
/// The HTTP client and the options of a client named <c>n</c> are both named <see cref="IHttpClientBuilder.Name"/>
/// (<c>"MLOpsDemo.Mlflow"</c> for the unnamed client, <c>"MLOpsDemo.Mlflow:n"</c> otherwise), so
/// <c>services.Configure&lt;MlflowClientOptions&gt;(builder.Name, ...)</c> changes them. Options are validated when
/// the host starts, with messages that name the bad setting. Registered services: <see cref="MlflowClient"/>,
/// <see cref="ExperimentsClient"/> and <see cref="RunsClient"/> (unnamed client, singletons), the same as keyed
/// services under the client's name, <see cref="IMlflowClientFactory"/>, and a hosted service that flushes active
/// runs on shutdown.
/// </remarks>
public static class MlflowServiceCollectionExtensions
{
    /// <summary>Registers the unnamed client, configured from the environment (<c>MLFLOW_TRACKING_URI</c> and the other <c>MLFLOW_*</c> variables).</summary>
    /// <param name="services">The services.</param>
    /// <returns>The builder of the client's HTTP pipeline.</returns>
    public static IHttpClientBuilder AddMlflowClient(this IServiceCollection services) =>
        AddCore(services, string.Empty, b => b.Configure(o => MlflowConfiguration.Copy(MlflowClientOptions.FromEnvironment(), o)));

    /// <summary>Registers the unnamed client with settings from <paramref name="configure"/> (starting from the defaults, not the environment).</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The builder of the client's HTTP pipeline.</returns>
    public static IHttpClientBuilder AddMlflowClient(this IServiceCollection services, Action<MlflowClientOptions> configure) =>
        AddMlflowClient(services, string.Empty, configure);

    /// <summary>
    /// Registers the unnamed client with settings from a configuration section such as <c>"Mlflow"</c> in
    /// appsettings.json. Keys are the names of the simple properties of <see cref="MlflowClientOptions"/>
    /// (<c>TrackingUri</c>, <c>Username</c>, <c>Password</c>, <c>Token</c>, <c>Workspace</c>, <c>SqliteSchemaVersion</c>, <c>InsecureTls</c>,
    /// <c>MaxRetries</c>, <c>BackoffFactor</c>, <c>BackoffJitter</c>, <c>MaxBackoff</c>, <c>Timeout</c>,
    /// <c>RespectRetryAfter</c>, <c>TruncateLongValues</c>, <c>DefaultPageSize</c>); time spans are <c>hh:mm:ss</c> or seconds.
    /// Settings the section leaves out come from the <c>MLFLOW_*</c> environment variables, then MLflow's defaults.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder of the client's HTTP pipeline.</returns>
    public static IHttpClientBuilder AddMlflowClient(this IServiceCollection services, IConfigurationSection section) =>
        AddMlflowClient(services, string.Empty, section);

    /// <summary>Registers a named client (resolve it with <see cref="IMlflowClientFactory.GetClient"/> or as a keyed service) with settings from <paramref name="configure"/>.</summary>
    /// <param name="services">The services.</param>
    /// <param name="name">The client's name, for example <c>"team"</c>.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The builder of the client's HTTP pipeline.</returns>
    public static IHttpClientBuilder AddMlflowClient(this IServiceCollection services, string name, Action<MlflowClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return AddCore(services, name, b => b.Configure(configure));
    }

    /// <summary>Registers a named client with settings from a configuration section (keys as for <see cref="AddMlflowClient(IServiceCollection, IConfigurationSection)"/>).</summary>
    /// <param name="services">The services.</param>
    /// <param name="name">The client's name, for example <c>"team"</c>.</param>
    /// <param name="section">The configuration section.</param>
    /// <returns>The builder of the client's HTTP pipeline.</returns>
    public static IHttpClientBuilder AddMlflowClient(this IServiceCollection services, string name, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        // The MLFLOW_* environment variables are the base (as for the parameterless overload); keys present in the
        // section override them.
        return AddCore(services, name, b => b.Configure(o =>
        {
            MlflowConfiguration.Copy(MlflowClientOptions.FromEnvironment(), o);
            MlflowConfiguration.Apply(section, o, section.Path);
        }));
    }

    private static IHttpClientBuilder AddCore(IServiceCollection services, string name, Action<OptionsBuilder<MlflowClientOptions>> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(name);
        var registry = services.FirstOrDefault(d => d.ServiceType == typeof(MlflowClientRegistry) && !d.IsKeyedService)?.ImplementationInstance as MlflowClientRegistry;
        if (registry is null)
        {
            registry = new MlflowClientRegistry();
            services.AddSingleton(registry);
        }

        if (registry.Contains(name))
        {
            throw new InvalidOperationException(
                $"An MLflow client named '{name}' is already registered. Change its settings with services.Configure<MlflowClientOptions>(builder.Name, ...) instead of registering it twice.");
        }

        registry.Add(name);
        var httpName = MlflowClientNames.HttpClientName(name);

        var optionsBuilder = services.AddOptions<MlflowClientOptions>(httpName);
        configure(optionsBuilder);
        optionsBuilder.PostConfigure<IServiceProvider>(static (options, provider) =>
        {
            options.LoggerFactory ??= provider.GetService<ILoggerFactory>();
            if (ReferenceEquals(options.TimeProvider, TimeProvider.System) && provider.GetService<TimeProvider>() is { } time)
            {
                options.TimeProvider = time;
            }
        });
        optionsBuilder.ValidateOnStart();
        services.AddSingleton<IValidateOptions<MlflowClientOptions>>(new MlflowOptionsValidator(httpName, name));

        services.TryAddSingleton(MlflowClientActivator.Default);
        services.TryAddSingleton<MlflowClientFactory>();
        services.TryAddSingleton<IMlflowClientFactory>(static sp => sp.GetRequiredService<MlflowClientFactory>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, MlflowShutdownFlushService>());

        services.AddKeyedSingleton(name, (sp, _) => sp.GetRequiredService<IMlflowClientFactory>().GetClient(name));
        services.AddKeyedSingleton(name, (sp, _) => sp.GetRequiredService<IMlflowClientFactory>().GetClient(name).Experiments);
        services.AddKeyedSingleton(name, (sp, _) => sp.GetRequiredService<IMlflowClientFactory>().GetClient(name).Runs);
        if (name.Length == 0)
        {
            services.TryAddSingleton(static sp => sp.GetRequiredService<IMlflowClientFactory>().GetClient(string.Empty));
            services.TryAddSingleton(static sp => sp.GetRequiredService<IMlflowClientFactory>().GetClient(string.Empty).Experiments);
            services.TryAddSingleton(static sp => sp.GetRequiredService<IMlflowClientFactory>().GetClient(string.Empty).Runs);
        }

        var builder = services.AddHttpClient(httpName)
            .RemoveAllLoggers()
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            // The per-attempt timeout lives in the resilience handler; HttpClient's own 100 s would cut retries short.
            .ConfigureHttpClient(static client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => CreatePrimaryHandler(GetOptions(sp, httpName)));
        builder.ConfigureAdditionalHttpMessageHandlers((handlers, sp) =>
        {
            var options = GetOptions(sp, httpName);
            handlers.Add(new MlflowObservabilityHandler(options.LoggerFactory));
            var resilience = new MlflowResilienceHandler(options);
            resilience.Retrying += MlflowObservabilityHandler.RecordRetry;
            handlers.Add(resilience);
            if (CreateCredential(options) is { } credential)
            {
                handlers.Add(new MlflowCredentialHandler(credential));
            }
        });
        return builder;
    }

    internal static MlflowClientOptions GetOptions(IServiceProvider services, string optionsName) =>
        services.GetRequiredService<IOptionsMonitor<MlflowClientOptions>>().Get(optionsName);

    private static MlflowCredential? CreateCredential(MlflowClientOptions options) =>
        options.Credential
        ?? (options.Username is not null && options.Password is not null ? MlflowCredential.Basic(options.Username, options.Password)
        : options.Token is not null ? MlflowCredential.Bearer(options.Token)
        : null);

    private static SocketsHttpHandler CreatePrimaryHandler(MlflowClientOptions options)
    {
        // Clients live as long as the application, so the handler is never rotated by the factory; pooled connections
        // are recycled instead so that DNS changes are seen.
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = DecompressionMethods.All,
        };
        if (options.InsecureTls)
        {
#pragma warning disable CA5359 // The user opted out of verification explicitly (InsecureTls); off by default.
            handler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
#pragma warning restore CA5359
        }

        return handler;
    }
}
