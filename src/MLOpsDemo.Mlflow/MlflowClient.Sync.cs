namespace MLOpsDemo.Mlflow;

public partial class MlflowClient
{
    /// <summary>
    /// Copies this client's experiments and runs into <paramref name="destination"/> (for example from a local
    /// <c>mlflow.db</c> to an MLflow server). Idempotent: runs copied earlier are skipped. See <see cref="MlflowSync"/>.
    /// </summary>
    /// <param name="destination">The store to write to.</param>
    /// <param name="options">Which experiments; whether to copy artifacts.</param>
    /// <param name="progress">Receives a report per experiment and per run.</param>
    /// <param name="cancellationToken">Cancels the sync.</param>
    /// <returns>What was copied and skipped.</returns>
    public virtual Task<SyncResult> SyncAsync(MlflowClient destination, SyncOptions? options = null, IProgress<SyncProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return new MlflowSync(this, destination).RunAsync(options, progress, cancellationToken);
    }
}
