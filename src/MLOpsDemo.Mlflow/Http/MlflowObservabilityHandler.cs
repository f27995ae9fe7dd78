using System.Diagnostics;
using MLOpsDemo.Mlflow.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MLOpsDemo.Mlflow.Http;

/// <summary>
/// The outermost handler of an MLflow client's pipeline: one <see cref="Activity"/> (source
/// <see cref="MlflowTelemetry.ActivitySourceName"/>), one duration measurement and one log entry per logical request,
/// with retries (reported by <see cref="MlflowResilienceHandler.Retrying"/> through <see cref="RecordRetry"/>) as
/// activity events, a counter and log entries.
/// </summary>
/// <remarks>
/// Only the method, the URI path (never the query string), the host, the status code, the duration and the attempt
/// number are recorded. Headers (so <c>Authorization</c>) and bodies are never read, logged or tagged.
/// Logger category: <c>MLOpsDemo.Mlflow.Http</c>. Completed requests are logged at <see cref="LogLevel.Debug"/>,
/// retries at <see cref="LogLevel.Information"/>, error statuses and exceptions at <see cref="LogLevel.Warning"/>.
/// </remarks>
public sealed partial class MlflowObservabilityHandler : DelegatingHandler
{
    /// <summary>The logger category used by this handler.</summary>
    public const string LoggerCategory = "MLOpsDemo.Mlflow.Http";

    private static readonly AsyncLocal<RequestState?> s_current = new();
    private readonly ILogger _logger;

    /// <summary>Creates the handler.</summary>
    /// <param name="loggerFactory">Where request logs go; <see langword="null"/> for none.</param>
    public MlflowObservabilityHandler(ILoggerFactory? loggerFactory = null)
    {
        _logger = (ILogger?)loggerFactory?.CreateLogger(LoggerCategory) ?? NullLogger.Instance;
    }

    /// <summary>
    /// Records a retry of the request in flight on the current asynchronous flow. Subscribe it to
    /// <see cref="MlflowResilienceHandler.Retrying"/> of a resilience handler placed inside this one:
    /// <c>resilience.Retrying += MlflowObservabilityHandler.RecordRetry;</c>.
    /// </summary>
    /// <param name="sender">The resilience handler (unused).</param>
    /// <param name="args">The retry.</param>
    public static void RecordRetry(object? sender, MlflowRetryEventArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var state = s_current.Value;
        if (state is null)
        {
            MlflowInstruments.Retries.Add(1);
            return;
        }

        // Count attempts here: the number of the attempt about to be made is one more than the retries seen so far.
        var attempt = ++state.Attempt;
        MlflowInstruments.Retries.Add(1, new KeyValuePair<string, object?>("http.request.method", state.Method), new KeyValuePair<string, object?>("server.address", state.Host));
        state.Activity?.AddEvent(new ActivityEvent("retry", tags: new ActivityTagsCollection
        {
            ["mlflow.retry.attempt"] = attempt,
            ["mlflow.retry.delay_ms"] = (long)args.Delay.TotalMilliseconds,
            ["http.response.status_code"] = args.StatusCode,
            ["error.type"] = args.Exception?.GetType().FullName,
        }));
        if (state.Logger.IsEnabled(LogLevel.Information))
        {
            var exceptionType = args.Exception is null ? null : args.Exception.GetType().Name;
            LogRetry(state.Logger, state.Method, state.Path, attempt, (long)args.Delay.TotalMilliseconds, args.StatusCode, exceptionType);
        }
    }

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var uri = request.RequestUri;
        var method = request.Method.Method;
        var path = uri is { IsAbsoluteUri: true } ? uri.AbsolutePath : "/";
        var host = uri is { IsAbsoluteUri: true } ? uri.Host : "";
        var port = uri is { IsAbsoluteUri: true } ? uri.Port : 0;

        using var activity = MlflowInstruments.ActivitySource.StartActivity(method, ActivityKind.Client);
        if (activity is not null)
        {
            activity.SetTag("http.request.method", method);
            activity.SetTag("url.path", path);
            activity.SetTag("server.address", host);
            activity.SetTag("server.port", port);
        }

        var previous = s_current.Value;
        var state = new RequestState(_logger, method, path, host, activity);
        s_current.Value = state;
        var start = Stopwatch.GetTimestamp();
        try
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(start);
            var status = (int)response.StatusCode;
            activity?.SetTag("http.response.status_code", status);
            if (status >= 400)
            {
                activity?.SetTag("error.type", status.ToString(System.Globalization.CultureInfo.InvariantCulture));
                activity?.SetStatus(ActivityStatusCode.Error);
                LogFailedStatus(_logger, method, path, status, elapsed.TotalMilliseconds, state.Attempt);
            }
            else
            {
                LogCompleted(_logger, method, path, status, elapsed.TotalMilliseconds, state.Attempt);
            }

            RecordDuration(elapsed, method, host, port, status, status >= 400 ? status.ToString(System.Globalization.CultureInfo.InvariantCulture) : null);
            return response;
        }
        catch (Exception ex)
        {
            var elapsed = Stopwatch.GetElapsedTime(start);
            var errorType = ex is OperationCanceledException && cancellationToken.IsCancellationRequested ? "canceled" : ex.GetType().FullName;
            activity?.SetTag("error.type", errorType);
            activity?.SetStatus(ActivityStatusCode.Error);
            LogException(_logger, method, path, ex.GetType().Name, elapsed.TotalMilliseconds, state.Attempt);
            RecordDuration(elapsed, method, host, port, null, errorType);
            throw;
        }
        finally
        {
            s_current.Value = previous;
        }
    }

    private static void RecordDuration(TimeSpan elapsed, string method, string host, int port, int? status, string? errorType)
    {
        if (!MlflowInstruments.RequestDuration.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { "http.request.method", method },
            { "server.address", host },
            { "server.port", port },
        };
        if (status is { } code)
        {
            tags.Add("http.response.status_code", code);
        }

        if (errorType is not null)
        {
            tags.Add("error.type", errorType);
        }

        MlflowInstruments.RequestDuration.Record(elapsed.TotalSeconds, tags);
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "MLflow {Method} {Path} answered {StatusCode} in {ElapsedMs:0.0} ms (attempt {Attempt})")]
    private static partial void LogCompleted(ILogger logger, string method, string path, int statusCode, double elapsedMs, int attempt);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "MLflow {Method} {Path} answered {StatusCode} in {ElapsedMs:0.0} ms (attempt {Attempt})")]
    private static partial void LogFailedStatus(ILogger logger, string method, string path, int statusCode, double elapsedMs, int attempt);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "MLflow {Method} {Path} failed with {ExceptionType} after {ElapsedMs:0.0} ms (attempt {Attempt})")]
    private static partial void LogException(ILogger logger, string method, string path, string exceptionType, double elapsedMs, int attempt);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "MLflow {Method} {Path}: attempt {Attempt} in {DelayMs} ms (previous status {StatusCode}, exception {ExceptionType})")]
    private static partial void LogRetry(ILogger logger, string method, string path, int attempt, long delayMs, int? statusCode, string? exceptionType);

    private sealed class RequestState(ILogger logger, string method, string path, string host, Activity? activity)
    {
        public ILogger Logger { get; } = logger;

        public string Method { get; } = method;

        public string Path { get; } = path;

        public string Host { get; } = host;

        public Activity? Activity { get; } = activity;

        public int Attempt { get; set; } = 1;
    }
}
