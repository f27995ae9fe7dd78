using MLOpsDemo.Mlflow.Projects;

namespace MLOpsDemo.Mlflow;

public partial class MlflowClient
{
    private ProjectsClient? _projects;

    /// <summary>MLflow Projects: load an MLproject (folder or git URI) and run its entry points as tracked runs.</summary>
    public virtual ProjectsClient Projects => LazyInitializer.EnsureInitialized(ref _projects, () => new ProjectsClient(this));
}
