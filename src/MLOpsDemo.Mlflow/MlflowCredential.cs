using System.Net.Http.Headers;
using System.Text;

namespace MLOpsDemo.Mlflow;

/// <summary>
/// Authenticates the requests of one <see cref="MlflowClient"/>. Implementations add headers (or sign) each request;
/// a credential that can refresh returns <see langword="true"/> from <see cref="RefreshAsync"/> after a 401 so the
/// request is retried once with fresh credentials. Several clients with different credentials can live in one process.
/// </summary>
public abstract class MlflowCredential
{
    /// <summary>Adds authentication to <paramref name="request"/>. Called for every attempt, after retries' backoff.</summary>
    /// <param name="request">The outgoing request, with its final URI and content.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the request is authenticated.</returns>
    public abstract ValueTask AuthenticateAsync(HttpRequestMessage request, CancellationToken cancellationToken);

    /// <summary>
    /// Called after the server answered 401. Return <see langword="true"/> when new credentials were obtained and the
    /// request should be sent once more. The default returns <see langword="false"/>.
    /// </summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>Whether to retry the request once.</returns>
    public virtual ValueTask<bool> RefreshAsync(CancellationToken cancellationToken) => new(false);

    /// <summary>HTTP Basic authentication, as <c>MLFLOW_TRACKING_USERNAME</c>/<c>MLFLOW_TRACKING_PASSWORD</c>.</summary>
    /// <param name="username">The user name.</param>
    /// <param name="password">The password.</param>
    /// <returns>The credential.</returns>
    public static MlflowCredential Basic(string username, string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(username);
        ArgumentNullException.ThrowIfNull(password);
        return new StaticHeaderCredential("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(username + ":" + password)));
    }

    /// <summary>A static bearer token, as <c>MLFLOW_TRACKING_TOKEN</c>.</summary>
    /// <param name="token">The token.</param>
    /// <returns>The credential.</returns>
    public static MlflowCredential Bearer(string token)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        return new StaticHeaderCredential("Bearer", token);
    }

    /// <summary>
    /// A bearer token from <paramref name="tokenProvider"/>, cached until shortly before it expires and fetched again
    /// after a 401. A token is replaced <paramref name="refreshMargin"/> before it expires, or half-way through its
    /// lifetime when that is shorter (as databricks-sdk's <c>Refreshable</c> does), so a token that lives 5 minutes or
    /// less is still reused for half its life instead of being fetched for every request.
    /// </summary>
    /// <param name="tokenProvider">Obtains a token; called when none is cached, when it is about to expire, or after a 401.</param>
    /// <param name="refreshMargin">How long before expiry a token is replaced, at most. Default 5 minutes.</param>
    /// <param name="timeProvider">The clock. Default <see cref="TimeProvider.System"/>.</param>
    /// <returns>The credential.</returns>
    public static MlflowCredential FromTokenProvider(Func<CancellationToken, ValueTask<MlflowAccessToken>> tokenProvider, TimeSpan? refreshMargin = null, TimeProvider? timeProvider = null) =>
        new TokenProviderCredential(tokenProvider, refreshMargin ?? TimeSpan.FromMinutes(5), timeProvider ?? TimeProvider.System);

    /// <summary>Builds the credential that the options describe, or <see langword="null"/> for none.</summary>
    internal static MlflowCredential? FromOptions(MlflowClientOptions options) =>
        options.Credential
        ?? (options.Username is not null && options.Password is not null ? Basic(options.Username, options.Password)
        : options.Token is not null ? Bearer(options.Token)
        : null);

    private sealed class StaticHeaderCredential(string scheme, string parameter) : MlflowCredential
    {
        public override ValueTask AuthenticateAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue(scheme, parameter);
            return default;
        }

        public override string ToString() => $"{scheme} (***)";
    }

#pragma warning disable CA1001 // SemaphoreSlim needs no disposal unless its wait handle is used.
    private sealed class TokenProviderCredential(Func<CancellationToken, ValueTask<MlflowAccessToken>> provider, TimeSpan margin, TimeProvider time) : MlflowCredential
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private volatile Cached? _current;

        public override async ValueTask AuthenticateAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var token = await GetTokenAsync(force: false, cancellationToken).ConfigureAwait(false);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Token);
        }

        public override async ValueTask<bool> RefreshAsync(CancellationToken cancellationToken)
        {
            await GetTokenAsync(force: true, cancellationToken).ConfigureAwait(false);
            return true;
        }

        private async ValueTask<MlflowAccessToken> GetTokenAsync(bool force, CancellationToken cancellationToken)
        {
            var cached = _current;
            if (!force && cached is not null && cached.RenewAt > time.GetUtcNow())
            {
                return cached.Token;
            }

            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                cached = _current;
                if (!force && cached is not null && cached.RenewAt > time.GetUtcNow())
                {
                    return cached.Token;
                }

                var fresh = await provider(cancellationToken).ConfigureAwait(false);
                var now = time.GetUtcNow();
                var lifetime = fresh.ExpiresOn - now;
                var effectiveMargin = lifetime <= TimeSpan.Zero ? TimeSpan.Zero : TimeSpan.FromTicks(Math.Min(margin.Ticks, lifetime.Ticks / 2));
                _current = new Cached(fresh, fresh.ExpiresOn - effectiveMargin);
                return fresh;
            }
            finally
            {
                _gate.Release();
            }
        }

        public override string ToString() => "Bearer token provider (***)";

        /// <summary>A token and when to replace it (fixed when it was obtained, like databricks-sdk's stale period).</summary>
        private sealed record Cached(MlflowAccessToken Token, DateTimeOffset RenewAt);
    }
#pragma warning restore CA1001
}

/// <summary>An access token and when it expires.</summary>
/// <param name="Token">The token. Never printed by <see cref="ToString"/>.</param>
/// <param name="ExpiresOn">When the token expires.</param>
public sealed record MlflowAccessToken(string Token, DateTimeOffset ExpiresOn)
{
    /// <summary>A description without the token.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => $"MlflowAccessToken {{ Token = ***, ExpiresOn = {ExpiresOn:O} }}";
}
