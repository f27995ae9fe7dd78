using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using MLOpsDemo.Mlflow.Http;

namespace MLOpsDemo.Mlflow.Extensions.DependencyInjection;

/// <summary>
/// Checks that an MLflow tracking store answers: <c>GET {tracking URI}/health</c> for a server (no retries; healthy
/// on 2xx), one experiments search of one item for a local store. A server that does not answer within the timeout
/// is reported with the registration's failure status.
/// </summary>
internal sealed class MlflowHealthCheck(IServiceProvider services, string clientName, TimeSpan timeout) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var failure = context.Registration?.FailureStatus ?? HealthStatus.Unhealthy;
        var httpName = MlflowClientNames.HttpClientName(clientName);
        var options = MlflowServiceCollectionExtensions.GetOptions(services, httpName);
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        var isServer = options.TrackingUri is { } uri
            && (uri.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || uri.StartsWith("https://", StringComparison.OrdinalIgnoreCase));
        try
        {
            if (!isServer)
            {
                var client = services.GetRequiredService<IMlflowClientFactory>().GetClient(clientName);
                await client.Experiments.SearchPageAsync(new SearchExperimentsOptions { PageSize = 1 }, timeoutSource.Token).ConfigureAwait(false);
                return HealthCheckResult.Healthy("The local MLflow store answered.");
            }

            var http = services.GetRequiredService<IHttpClientFactory>().CreateClient(httpName);
            var healthUri = new Uri(BaseUri(options.TrackingUri!), "health");
            using var request = new HttpRequestMessage(HttpMethod.Get, healthUri);
            request.Options.Set(MlflowResilienceHandler.RetryModeKey, MlflowRetryMode.None);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeoutSource.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            var data = new Dictionary<string, object> { ["status_code"] = status };
            return response.IsSuccessStatusCode
                ? HealthCheckResult.Healthy("The MLflow server answered /health.", data)
                : new HealthCheckResult(failure, string.Create(CultureInfo.InvariantCulture, $"The MLflow server answered /health with HTTP {status}."), data: data);
        }
        catch (OperationCanceledException) when (timeoutSource.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(failure, string.Create(CultureInfo.InvariantCulture, $"The MLflow tracking store did not answer within {timeout.TotalSeconds:0.###} s."));
        }
        catch (Exception ex) when (ex is HttpRequestException or MlflowException or IOException or TimeoutException or InvalidOperationException)
        {
            return new HealthCheckResult(failure, $"The MLflow tracking store could not be reached ({ex.GetType().Name}).", ex);
        }
    }

    private static Uri BaseUri(string trackingUri)
    {
        var builder = new UriBuilder(trackingUri) { UserName = "", Password = "", Query = "", Fragment = "" };
        if (!builder.Path.EndsWith('/'))
        {
            builder.Path += "/";
        }

        return builder.Uri;
    }
}
