namespace MLOpsDemo.Mlflow;

public partial class MlflowClient
{
    private ArtifactsClient? _artifacts;

    /// <summary>Artifacts: upload, download, list and delete run and model files.</summary>
    public virtual ArtifactsClient Artifacts => LazyInitializer.EnsureInitialized(ref _artifacts, () => new ArtifactsClient(this));
}
