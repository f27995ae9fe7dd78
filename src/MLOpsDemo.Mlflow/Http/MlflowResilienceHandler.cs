using System.Net;
using System.Net.Sockets;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace MLOpsDemo.Mlflow.Http;

/// <summary>How a request may be retried by <see cref="MlflowResilienceHandler"/>.</summary>
public enum MlflowRetryMode
{
    /// <summary>
    /// Retry on 408, 429, 500, 502, 503, 504, transport errors and attempt timeouts. Used for reads (including
    /// searches sent as POST) and idempotent writes (tags overwrite, identical params and metrics are no-ops).
    /// </summary>
    Idempotent = 0,

    /// <summary>
    /// Retry only when the server certainly did not act: 429, 503, and connections that were refused. Used for
    /// creates; the caller resolves ambiguous failures itself so that a retried create never makes two objects.
    /// </summary>
    NotProcessedOnly = 1,

    /// <summary>Never retry (probes such as <c>/version</c>).</summary>
    None = 2,
}

/// <summary>
/// The default resilience pipeline of an MLflow client, as a <see cref="DelegatingHandler"/> built on Polly v8:
/// a retry (MLflow's policy: up to <see cref="MlflowClientOptions.MaxRetries"/> retries, no wait before the first,
/// then <c>BackoffFactor·2^(n−1)</c> plus jitter, capped, <c>Retry-After</c> honoured on 429/503) around a timeout
/// per attempt. Other 4xx answers are never retried.
/// </summary>
public sealed class MlflowResilienceHandler : DelegatingHandler
{
    /// <summary>The request option that selects the <see cref="MlflowRetryMode"/> of one request.</summary>
    public static readonly HttpRequestOptionsKey<MlflowRetryMode> RetryModeKey = new("MLOpsDemo.Mlflow.RetryMode");

    private static readonly HttpStatusCode[] s_retriedStatuses =
    [
        HttpStatusCode.RequestTimeout, HttpStatusCode.TooManyRequests, HttpStatusCode.InternalServerError,
        HttpStatusCode.BadGateway, HttpStatusCode.ServiceUnavailable, HttpStatusCode.GatewayTimeout,
    ];

    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;

    /// <summary>Creates the handler from client options.</summary>
    /// <param name="options">The options (retries, backoff, timeout, clock).</param>
    public MlflowResilienceHandler(MlflowClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _pipeline = Build(options);
    }

    /// <summary>Raised before each retry with the attempt number (1 for the first retry), the delay and the outcome.</summary>
    public event EventHandler<MlflowRetryEventArgs>? Retrying;

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(s_requestKey, request);
        try
        {
            var outcome = await _pipeline.ExecuteOutcomeAsync(
                static async (ctx, state) =>
                {
                    try
                    {
                        var response = await state.Handler.BaseSend(state.Request, ctx.CancellationToken).ConfigureAwait(ctx.ContinueOnCapturedContext);
                        return Outcome.FromResult(response);
                    }
                    catch (Exception ex)
                    {
                        return Outcome.FromException<HttpResponseMessage>(ex);
                    }
                },
                context,
                (Handler: this, Request: request)).ConfigureAwait(false);
            if (outcome.Exception is TimeoutRejectedException timeout)
            {
                throw new TimeoutException(
                    $"The MLflow request {request.Method} {request.RequestUri?.AbsolutePath} did not complete within {timeout.Timeout.TotalSeconds:0.###} s per attempt (MlflowClientOptions.Timeout, MLFLOW_HTTP_REQUEST_TIMEOUT).",
                    timeout);
            }

            outcome.ThrowIfException();
            return outcome.Result!;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private static readonly ResiliencePropertyKey<HttpRequestMessage> s_requestKey = new("MLOpsDemo.Mlflow.Request");

    private Task<HttpResponseMessage> BaseSend(HttpRequestMessage request, CancellationToken cancellationToken) =>
        base.SendAsync(request, cancellationToken);

    private ResiliencePipeline<HttpResponseMessage> Build(MlflowClientOptions options)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = options.TimeProvider };
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.MaxRetries,
                ShouldHandle = args => new ValueTask<bool>(ShouldRetry(args.Context, args.Outcome)),
                DelayGenerator = args => new ValueTask<TimeSpan?>(ComputeDelay(options, args.AttemptNumber, args.Outcome.Result)),
                OnRetry = args =>
                {
                    Retrying?.Invoke(this, new MlflowRetryEventArgs(args.AttemptNumber + 2, args.RetryDelay, (int?)args.Outcome.Result?.StatusCode, args.Outcome.Exception));
                    args.Outcome.Result?.Dispose();
                    return default;
                },
            });
        }

        if (options.Timeout != Timeout.InfiniteTimeSpan)
        {
            builder.AddTimeout(options.Timeout);
        }

        return builder.Build();
    }

    private static bool ShouldRetry(ResilienceContext context, Outcome<HttpResponseMessage> outcome)
    {
        var mode = MlflowRetryMode.Idempotent;
        if (context.Properties.TryGetValue(s_requestKey, out var request) && request.Options.TryGetValue(RetryModeKey, out var chosen))
        {
            mode = chosen;
        }

        if (mode == MlflowRetryMode.None)
        {
            return false;
        }

        if (outcome.Result is { } response)
        {
            if (mode == MlflowRetryMode.NotProcessedOnly)
            {
                return response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable;
            }

            return Array.IndexOf(s_retriedStatuses, response.StatusCode) >= 0;
        }

        return outcome.Exception switch
        {
            null => false,
            OperationCanceledException when context.CancellationToken.IsCancellationRequested => false,
            HttpRequestException { InnerException: SocketException { SocketErrorCode: SocketError.ConnectionRefused } } => true,
            _ when mode == MlflowRetryMode.NotProcessedOnly => false,
            TimeoutRejectedException => true,
            HttpRequestException => true,
            IOException => true,
            _ => false,
        };
    }

    /// <summary>MLflow's backoff: none before the first retry, then factor·2^(n−1) + U(0, jitter), capped; Retry-After wins on 429/503.</summary>
    internal static TimeSpan ComputeDelay(MlflowClientOptions options, int attemptNumber, HttpResponseMessage? response)
    {
        if (options.RespectRetryAfter && response is { StatusCode: HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable or HttpStatusCode.RequestEntityTooLarge }
            && response.Headers.RetryAfter is { } retryAfter)
        {
            var wait = retryAfter.Delta ?? (retryAfter.Date is { } date ? date - options.TimeProvider.GetUtcNow() : TimeSpan.Zero);
            if (wait < TimeSpan.Zero)
            {
                wait = TimeSpan.Zero;
            }

            return wait > options.MaxBackoff ? options.MaxBackoff : wait;
        }

        // Polly's attemptNumber is 0 for the first retry.
        var n = attemptNumber + 1;
        if (n <= 1)
        {
            return TimeSpan.Zero;
        }

        var seconds = options.BackoffFactor.TotalSeconds * Math.Pow(2, n - 1);
        var jitter = options.BackoffJitter.TotalSeconds * Random.Shared.NextDouble();
        var total = TimeSpan.FromSeconds(Math.Min(seconds + jitter, options.MaxBackoff.TotalSeconds));
        return total;
    }
}

/// <summary>Describes a retry that <see cref="MlflowResilienceHandler"/> is about to make.</summary>
/// <param name="Attempt">The number of the attempt about to be made (2 for the first retry).</param>
/// <param name="Delay">The wait before it.</param>
/// <param name="StatusCode">The HTTP status that caused the retry, if a response was received.</param>
/// <param name="Exception">The exception that caused the retry, if any.</param>
public sealed record MlflowRetryEventArgs(int Attempt, TimeSpan Delay, int? StatusCode, Exception? Exception);
