namespace MLOpsDemo.Mlflow.Extensions.DependencyInjection;

/// <summary>
/// Resolves the <see cref="MlflowClient"/>s registered with
/// <see cref="Microsoft.Extensions.DependencyInjection.MlflowServiceCollectionExtensions.AddMlflowClient(Microsoft.Extensions.DependencyInjection.IServiceCollection, string, Action{MlflowClientOptions})"/>
/// by name, for applications that talk to several MLflow servers.
/// </summary>
public interface IMlflowClientFactory
{
    /// <summary>
    /// Returns the client registered under <paramref name="name"/>: the same instance on every call (clients are
    /// thread-safe and hold active runs and cached tokens), disposed with the service provider.
    /// </summary>
    /// <param name="name">The name given at registration; <see cref="string.Empty"/> for the unnamed client.</param>
    /// <returns>The client.</returns>
    /// <exception cref="InvalidOperationException">No client was registered under <paramref name="name"/>.</exception>
    MlflowClient GetClient(string name);
}
