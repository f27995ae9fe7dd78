using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace MLOpsDemo.Mlflow.Diagnostics;

/// <summary>
/// Names of the telemetry this library emits, for OpenTelemetry registration
/// (<c>.AddSource(MlflowTelemetry.ActivitySourceName)</c>, <c>.AddMeter(MlflowTelemetry.MeterName)</c>).
/// </summary>
/// <remarks>
/// Instruments of the meter <see cref="MeterName"/>:
/// <list type="bullet">
/// <item><description><c>http.client.request.duration</c> (histogram, seconds): one measurement per logical request, retries included; tags <c>http.request.method</c>, <c>http.response.status_code</c>, <c>server.address</c>, <c>server.port</c>, <c>error.type</c>.</description></item>
/// <item><description><c>mlflow.client.retries</c> (counter): retries made by the resilience handler; tags <c>http.request.method</c>, <c>server.address</c>.</description></item>
/// <item><description><c>mlflow.client.logging.points.queued</c>, <c>…points.sent</c>, <c>…points.failed</c> (counters, <c>{point}</c>): metrics, params and tags handled by the background logging pipeline of active runs.</description></item>
/// <item><description><c>mlflow.client.logging.queue.depth</c> (up-down counter, <c>{point}</c>): points waiting in the background logging queue.</description></item>
/// </list>
/// Activities of the source <see cref="ActivitySourceName"/>: one client activity per HTTP request (name
/// <c>"{method}"</c> as OpenTelemetry's HTTP conventions advise, tags <c>http.request.method</c>, <c>url.path</c>,
/// <c>server.address</c>, <c>server.port</c>, <c>http.response.status_code</c>, <c>error.type</c>) with one
/// <c>"retry"</c> event per retry. Query strings, bodies and headers are never recorded.
/// </remarks>
public static class MlflowTelemetry
{
    /// <summary>The name of the <see cref="ActivitySource"/>: <c>MLOpsDemo.Mlflow</c>.</summary>
    public const string ActivitySourceName = "MLOpsDemo.Mlflow";

    /// <summary>The name of the <see cref="Meter"/>: <c>MLOpsDemo.Mlflow</c>.</summary>
    public const string MeterName = "MLOpsDemo.Mlflow";

    /// <summary>The name of the request duration histogram (seconds).</summary>
    public const string RequestDurationInstrument = "http.client.request.duration";

    /// <summary>The name of the retry counter.</summary>
    public const string RetriesInstrument = "mlflow.client.retries";

    /// <summary>
    /// The name of the counter of points the background logging pipeline took from its queue into a log-batch request
    /// (counted once per batch, however often the batch is retried).
    /// </summary>
    public const string PointsQueuedInstrument = "mlflow.client.logging.points.queued";

    /// <summary>The name of the counter of points the background logging pipeline sent.</summary>
    public const string PointsSentInstrument = "mlflow.client.logging.points.sent";

    /// <summary>The name of the counter of points the background logging pipeline could not send.</summary>
    public const string PointsFailedInstrument = "mlflow.client.logging.points.failed";

    /// <summary>
    /// The name of the observable up-down counter of points logged through runs of this process and not yet stored:
    /// waiting in a run's buffer or in a batch being sent or retried (it grows while the server is unreachable, up to
    /// <see cref="RunLoggingOptions.BufferCapacity"/> per run). It is read from the buffers when a listener collects,
    /// so the logging hot path makes no instrument calls; the points counters are updated once per batch.
    /// </summary>
    public const string QueueDepthInstrument = "mlflow.client.logging.queue.depth";
}

/// <summary>The library's <see cref="ActivitySource"/>, <see cref="Meter"/> and instruments (shared by all clients).</summary>
internal static class MlflowInstruments
{
    public static readonly ActivitySource ActivitySource = new(MlflowTelemetry.ActivitySourceName, MlflowClient.LibraryVersion);

    public static readonly Meter Meter = new(MlflowTelemetry.MeterName, MlflowClient.LibraryVersion);

    public static readonly Histogram<double> RequestDuration = Meter.CreateHistogram<double>(
        MlflowTelemetry.RequestDurationInstrument, unit: "s", description: "Duration of MLflow HTTP requests, retries included.");

    public static readonly Counter<long> Retries = Meter.CreateCounter<long>(
        MlflowTelemetry.RetriesInstrument, unit: "{retry}", description: "Retries made for MLflow HTTP requests.");

    public static readonly Counter<long> PointsQueued = Meter.CreateCounter<long>(
        MlflowTelemetry.PointsQueuedInstrument, unit: "{point}", description: "Metrics, params and tags queued by the background logging pipeline.");

    public static readonly Counter<long> PointsSent = Meter.CreateCounter<long>(
        MlflowTelemetry.PointsSentInstrument, unit: "{point}", description: "Metrics, params and tags sent by the background logging pipeline.");

    public static readonly Counter<long> PointsFailed = Meter.CreateCounter<long>(
        MlflowTelemetry.PointsFailedInstrument, unit: "{point}", description: "Metrics, params and tags the background logging pipeline could not send.");

    public static readonly ObservableUpDownCounter<long> QueueDepth = Meter.CreateObservableUpDownCounter(
        MlflowTelemetry.QueueDepthInstrument,
        static () => Fluent.RunLogger.TotalBacklog(),
        unit: "{point}",
        description: "Points logged through runs and not yet stored: buffered, or in a batch being sent or retried.");

    /// <summary>For the logging pipeline: a batch of <paramref name="count"/> points was taken from the queue.</summary>
    public static void RecordQueued(long count) => PointsQueued.Add(count);

    /// <summary>For the logging pipeline: a batch of <paramref name="count"/> points was stored.</summary>
    public static void RecordSent(long count) => PointsSent.Add(count);

    /// <summary>For the logging pipeline: a batch of <paramref name="count"/> points was given up.</summary>
    public static void RecordFailed(long count) => PointsFailed.Add(count);
}
