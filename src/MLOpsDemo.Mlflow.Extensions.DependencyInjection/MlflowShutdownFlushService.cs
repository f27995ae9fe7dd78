using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MLOpsDemo.Mlflow.Extensions.DependencyInjection;

/// <summary>
/// On application shutdown, flushes the active runs of every MLflow client created by the container, in parallel,
/// until the host's shutdown timeout cancels the wait. Failures are logged, never thrown.
/// </summary>
internal sealed class MlflowShutdownFlushService(MlflowClientFactory factory, ILoggerFactory? loggerFactory = null) : IHostedService
{
    private readonly ILogger _logger = (ILogger?)loggerFactory?.CreateLogger("MLOpsDemo.Mlflow.Hosting") ?? NullLogger.Instance;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(factory.CreatedClients.Select(c => FlushAsync(c, cancellationToken)));

    private async Task FlushAsync(MlflowClient client, CancellationToken cancellationToken)
    {
        try
        {
            await client.FlushActiveRunsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            MlflowHostingLog.FlushTimedOut(_logger, client.TrackingUri);
        }
#pragma warning disable CA1031 // Shutdown must go on whatever one client's flush throws; the failure is logged.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            MlflowHostingLog.FlushFailed(_logger, client.TrackingUri, ex.GetType().Name, ex.Message);
        }
    }
}
