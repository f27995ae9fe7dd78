namespace MLOpsDemo.Mlflow;

public partial class MlflowClient
{
    /// <summary>Flushes the buffered data of every active run of this client (used on application shutdown).</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when everything buffered was sent or failed.</returns>
    public virtual Task FlushActiveRunsAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;
}
