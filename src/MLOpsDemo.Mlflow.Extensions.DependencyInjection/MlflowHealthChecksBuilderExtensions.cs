using Microsoft.Extensions.Diagnostics.HealthChecks;
using MLOpsDemo.Mlflow.Extensions.DependencyInjection;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds MLflow health checks.</summary>
public static class MlflowHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a check of the MLflow client registered under <paramref name="clientName"/>: <c>GET /health</c> on a
    /// server (no retries), a one-item experiments search on a local store.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="clientName">The client's registration name; <see cref="string.Empty"/> (the default) for the unnamed client.</param>
    /// <param name="name">The check's name. Default <c>"mlflow"</c>, or <c>"mlflow-{clientName}"</c> for a named client.</param>
    /// <param name="failureStatus">The status reported on failure or timeout. Default <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags for filtering checks.</param>
    /// <param name="timeout">How long to wait for an answer. Default 5 seconds.</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddMlflowHealthCheck(
        this IHealthChecksBuilder builder,
        string clientName = "",
        string? name = null,
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(clientName);
        var wait = timeout ?? TimeSpan.FromSeconds(5);
        if (wait <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The MLflow health check timeout must be positive.");
        }

        return builder.Add(new HealthCheckRegistration(
            name ?? (clientName.Length == 0 ? "mlflow" : "mlflow-" + clientName),
            sp => new MlflowHealthCheck(sp, clientName, wait),
            failureStatus,
            tags));
    }
}
