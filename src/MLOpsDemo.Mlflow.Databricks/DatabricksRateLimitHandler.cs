using System.Net;
using System.Threading.RateLimiting;

namespace MLOpsDemo.Mlflow.Databricks;

/// <summary>
/// A client-side brake for Databricks' per-workspace request limits: a token bucket that makes requests wait for a
/// permit (up to a queue limit) instead of provoking a storm of 429 answers. Place it inside the resilience handler so
/// that retries also take permits.
/// </summary>
public sealed class DatabricksRateLimitHandler : DelegatingHandler
{
    private readonly TokenBucketRateLimiter _limiter;

    /// <summary>Creates the handler.</summary>
    /// <param name="requestsPerSecond">The sustained rate (also the burst size).</param>
    /// <param name="queueLimit">How many requests may wait for a permit; more are answered 429 locally. Default 1000.</param>
    public DatabricksRateLimitHandler(double requestsPerSecond, int queueLimit = 1000)
    {
        if (!(requestsPerSecond > 0) || double.IsInfinity(requestsPerSecond))
        {
            throw new ArgumentOutOfRangeException(nameof(requestsPerSecond), requestsPerSecond, "The Databricks request rate must be a positive number of requests per second.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(queueLimit);
        var perPeriod = (int)Math.Max(1, Math.Ceiling(requestsPerSecond));
        _limiter = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = perPeriod,
            TokensPerPeriod = perPeriod,
            ReplenishmentPeriod = TimeSpan.FromSeconds(perPeriod / requestsPerSecond),
            QueueLimit = queueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    }

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var lease = await _limiter.AcquireAsync(1, cancellationToken).ConfigureAwait(false);
        if (!lease.IsAcquired)
        {
            return new HttpResponseMessage(HttpStatusCode.TooManyRequests) { RequestMessage = request, ReasonPhrase = "Client-side Databricks rate limit queue is full" };
        }

        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _limiter.Dispose();
        }

        base.Dispose(disposing);
    }
}
