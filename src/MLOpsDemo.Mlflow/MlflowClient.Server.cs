using System.Net;
using MLOpsDemo.Mlflow.Http;
using MLOpsDemo.Mlflow.Rest;

namespace MLOpsDemo.Mlflow;

/// <summary>Server probes: <c>/version</c> and <c>/health</c>.</summary>
public partial class MlflowClient
{
    /// <summary>Gets the MLflow version of the tracking server (<c>GET /version</c>), e.g. <c>3.11.2</c>. Not retried.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The version text the server reports.</returns>
    /// <exception cref="MlflowException">501 <c>NOT_IMPLEMENTED</c>: the client uses a local store, not a server.</exception>
    /// <exception cref="MlflowException">The server answered with an error status.</exception>
    public virtual async Task<string> GetServerVersionAsync(CancellationToken cancellationToken = default)
    {
        var (status, body) = await ProbeAsync("version", cancellationToken).ConfigureAwait(false);
        if (status != HttpStatusCode.OK)
        {
            throw MlflowErrors.FromResponse(status, body);
        }

        return body.Trim();
    }

    /// <summary>Checks the tracking server's health (<c>GET /health</c>, which answers <c>OK</c>). Not retried.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns><see langword="true"/> when the server answered 200; <see langword="false"/> for any other status.</returns>
    /// <exception cref="MlflowException">501 <c>NOT_IMPLEMENTED</c>: the client uses a local store, not a server.</exception>
    /// <exception cref="HttpRequestException">The server could not be reached.</exception>
    public virtual async Task<bool> IsServerHealthyAsync(CancellationToken cancellationToken = default)
    {
        var (status, _) = await ProbeAsync("health", cancellationToken).ConfigureAwait(false);
        return status == HttpStatusCode.OK;
    }

    private async Task<(HttpStatusCode Status, string Body)> ProbeAsync(string path, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (_httpClient is null || TrackingBaseUri is null)
        {
            throw MlflowException.NotImplemented($"'{TrackingUri}' is a local store; /{path} exists only on an MLflow tracking server.");
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(TrackingBaseUri, path));
        request.Options.Set(MlflowResilienceHandler.RetryModeKey, MlflowRetryMode.None);
        using var response = await _httpClient.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return (response.StatusCode, body);
    }
}
