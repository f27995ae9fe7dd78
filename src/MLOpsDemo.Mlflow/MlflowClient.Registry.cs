using MLOpsDemo.Mlflow.Registry;

namespace MLOpsDemo.Mlflow;

public partial class MlflowClient
{
    private ModelRegistryClient? _modelRegistry;
    private ModelsClient? _models;
    private IRegistryStore? _registryStore;

    /// <summary>The model registry: registered models, versions, aliases, stages, model URIs and promotion.</summary>
    public virtual ModelRegistryClient ModelRegistry => LazyInitializer.EnsureInitialized(ref _modelRegistry, () => new ModelRegistryClient(this));

    /// <summary>MLflow models: log a model directory (<c>MLmodel</c> + files) to a run, download and read models.</summary>
    public virtual ModelsClient Models => LazyInitializer.EnsureInitialized(ref _models, () => new ModelsClient(this));

    /// <summary>The registry store: the tracking store itself when it implements one (local stores), else REST.</summary>
    internal IRegistryStore RegistryStore
    {
        get
        {
            ThrowIfDisposed();
            return LazyInitializer.EnsureInitialized(ref _registryStore, CreateRegistryStore);
        }
    }

    /// <summary>What the server supports, detected once per client by the first call that needs each feature.</summary>
    internal Http.ServerCapabilities Capabilities { get; } = new();

    private IRegistryStore CreateRegistryStore()
    {
        if (Store is IRegistryStore local)
        {
            return local;
        }

        if (HttpClient is { } http && TrackingBaseUri is { } baseUri)
        {
            return new RestRegistryStore(http, baseUri, Capabilities);
        }

        throw MlflowException.NotImplemented($"The tracking store '{TrackingUri}' has no model registry yet. Use an MLflow server (http://host:port) for registry operations.");
    }
}
