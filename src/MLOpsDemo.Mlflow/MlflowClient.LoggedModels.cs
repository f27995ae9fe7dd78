using MLOpsDemo.Mlflow.LoggedModels;

namespace MLOpsDemo.Mlflow;

public partial class MlflowClient
{
    private LoggedModelsClient? _loggedModels;
    private ILoggedModelStore? _loggedModelStore;

    /// <summary>MLflow 3 logged models: create, get, finalize, search, tag and delete.</summary>
    public virtual LoggedModelsClient LoggedModels => LazyInitializer.EnsureInitialized(ref _loggedModels, () => new LoggedModelsClient(this));

    /// <summary>The logged-model store: the tracking store itself when it implements one, else REST.</summary>
    internal ILoggedModelStore LoggedModelStore
    {
        get
        {
            ThrowIfDisposed();
            return LazyInitializer.EnsureInitialized(ref _loggedModelStore, CreateLoggedModelStore);
        }
    }

    private ILoggedModelStore CreateLoggedModelStore()
    {
        if (Store is ILoggedModelStore local)
        {
            return local;
        }

        if (HttpClient is { } http && TrackingBaseUri is { } baseUri)
        {
            return new RestLoggedModelStore(http, baseUri);
        }

        throw MlflowException.NotImplemented($"The tracking store '{TrackingUri}' has no logged models yet. Use an MLflow 3 server (http://host:port).");
    }
}
