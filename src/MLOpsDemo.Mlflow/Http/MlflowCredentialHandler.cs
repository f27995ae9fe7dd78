using System.Net;

namespace MLOpsDemo.Mlflow.Http;

/// <summary>
/// Applies an <see cref="MlflowCredential"/> to every request and, after a 401, asks it to refresh and sends the
/// request once more. It sits inside the resilience handler, so every retry is authenticated (and signed) afresh.
/// </summary>
public sealed class MlflowCredentialHandler : DelegatingHandler
{
    private readonly MlflowCredential _credential;

    /// <summary>Creates the handler.</summary>
    /// <param name="credential">The credential of one client.</param>
    public MlflowCredentialHandler(MlflowCredential credential)
    {
        ArgumentNullException.ThrowIfNull(credential);
        _credential = credential;
    }

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        await _credential.AuthenticateAsync(request, cancellationToken).ConfigureAwait(false);
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized || !IsReplayable(request))
        {
            return response;
        }

        if (!await _credential.RefreshAsync(cancellationToken).ConfigureAwait(false))
        {
            return response;
        }

        response.Dispose();
        await _credential.AuthenticateAsync(request, cancellationToken).ConfigureAwait(false);
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private static bool IsReplayable(HttpRequestMessage request) =>
        request.Content is not StreamContent
        || (request.Options.TryGetValue(ReplayableContentKey, out var replayable) && replayable);

    /// <summary>Marks a request whose stream content can be sent again (a seekable stream).</summary>
    public static readonly HttpRequestOptionsKey<bool> ReplayableContentKey = new("MLOpsDemo.Mlflow.ReplayableContent");
}
