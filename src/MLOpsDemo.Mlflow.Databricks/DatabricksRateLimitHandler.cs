using System.Net;
using System.Threading.RateLimiting;

namespace MLOpsDemo.Mlflow.Databricks;

/// <summary>
/// A client-side brake for Databricks' per-workspace request limits: a bucket of permits refilled every period that makes requests wait for a
/// permit (up to a queue limit) instead of provoking a storm of 429 answers. Place it inside the resilience handler so
/// that retries also take permits. The bucket is refilled by a timer of the given <see cref="TimeProvider"/> (the
/// client's <see cref="MlflowClientOptions.TimeProvider"/> when added by <c>AddDatabricksAuth</c>).
/// </summary>
public sealed class DatabricksRateLimitHandler : DelegatingHandler
{
    private readonly FixedWindowRateLimiter _limiter;
    private readonly ITimer _replenish;

    /// <summary>Creates the handler, refilled on the system clock.</summary>
    /// <param name="requestsPerSecond">The sustained rate (also the burst size).</param>
    /// <param name="queueLimit">How many requests may wait for a permit; more are answered 429 locally. Default 1000.</param>
    public DatabricksRateLimitHandler(double requestsPerSecond, int queueLimit = 1000)
        : this(requestsPerSecond, queueLimit, timeProvider: null)
    {
    }

    /// <summary>Creates the handler, refilled by a timer of <paramref name="timeProvider"/>.</summary>
    /// <param name="requestsPerSecond">The sustained rate (also the burst size).</param>
    /// <param name="queueLimit">How many requests may wait for a permit; more are answered 429 locally.</param>
    /// <param name="timeProvider">The clock whose timer refills the bucket; <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    public DatabricksRateLimitHandler(double requestsPerSecond, int queueLimit, TimeProvider? timeProvider)
    {
        if (!(requestsPerSecond > 0) || double.IsInfinity(requestsPerSecond))
        {
            throw new ArgumentOutOfRangeException(nameof(requestsPerSecond), requestsPerSecond, "The Databricks request rate must be a positive number of requests per second.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(queueLimit);
        // A full bucket of perPeriod permits every period: a token bucket whose refill equals its size, i.e. a fixed
        // window, refilled by the time provider's timer. The limiters' own clocks are the Stopwatch (a manual
        // TokenBucketRateLimiter.TryReplenish adds tokens by Stopwatch time elapsed, which a fake clock cannot move), so
        // the window is one tick: each TryReplenish of the timer refills it.
        var perPeriod = (int)Math.Max(1, Math.Ceiling(requestsPerSecond));
        var period = TimeSpan.FromSeconds(perPeriod / requestsPerSecond);
        _limiter = new FixedWindowRateLimiter(new FixedWindowRateLimiterOptions
        {
            PermitLimit = perPeriod,
            Window = TimeSpan.FromTicks(1),
            QueueLimit = queueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = false,
        });
        _replenish = (timeProvider ?? TimeProvider.System).CreateTimer(static limiter => ((FixedWindowRateLimiter)limiter!).TryReplenish(), _limiter, period, period);
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
            _replenish.Dispose();
            _limiter.Dispose();
        }

        base.Dispose(disposing);
    }
}
