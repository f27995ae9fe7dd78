using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Hosting.Tests.TestSupport;

/// <summary>A logger provider that keeps every formatted message and structured value.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider, ILoggerFactory
{
    public ConcurrentQueue<(string Category, LogLevel Level, string Text)> Entries { get; } = new();

    public string AllText => string.Join("\n", Entries.Select(e => $"{e.Category} {e.Level} {e.Text}"));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) { }

    public void Dispose() { }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> kv ? string.Join(";", kv.Select(p => $"{p.Key}={p.Value}")) : "";
            owner.Entries.Enqueue((category, logLevel, formatter(state, exception) + " | " + values + " | " + exception));
        }
    }
}

/// <summary>Collects activities and measurements of MLOpsDemo.Mlflow for one server port.</summary>
public sealed class TelemetryCapture : IDisposable
{
    private readonly ActivityListener _activities;
    private readonly MeterListener _meters;
    private readonly int _port;

    public TelemetryCapture(int port)
    {
        _port = port;
        _activities = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "MLOpsDemo.Mlflow",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.GetTagItem("server.port") is int p && p == _port)
                {
                    Activities.Enqueue(a);
                }
            },
        };
        ActivitySource.AddActivityListener(_activities);
        _meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "MLOpsDemo.Mlflow")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _meters.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _meters.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _meters.Start();
    }

    public ConcurrentQueue<Activity> Activities { get; } = new();

    public ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> Measurements { get; } = new();

    public string AllText =>
        string.Join("\n", Activities.Select(a => a.DisplayName + " " + string.Join(";", a.TagObjects.Select(t => $"{t.Key}={t.Value}"))
            + " " + string.Join(";", a.Events.Select(e => e.Name + ":" + string.Join(",", e.Tags.Select(t => $"{t.Key}={t.Value}"))))))
        + "\n" + string.Join("\n", Measurements.Select(m => m.Instrument + " " + string.Join(";", m.Tags.Select(t => $"{t.Key}={t.Value}"))));

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var dict = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            dict[tag.Key] = tag.Value;
        }

        var hostTagged = dict.ContainsKey("server.address");
        if (!hostTagged || (dict.TryGetValue("server.port", out var p) && p is int port && port == _port) || !dict.ContainsKey("server.port"))
        {
            Measurements.Enqueue((instrument.Name, value, dict));
        }
    }

    public void Dispose()
    {
        _activities.Dispose();
        _meters.Dispose();
    }
}

public static class Stubs
{
    public const string ExperimentJson = """{"experiment":{"experiment_id":"1","name":"demo","artifact_location":"mlflow-artifacts:/1","lifecycle_stage":"active"}}""";

    public static void ExperimentGet(WireMockServer server) =>
        server.Given(Request.Create().WithPath("/api/2.0/mlflow/experiments/get").UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(ExperimentJson));

    public static string Header(WireMock.Logging.ILogEntry entry, string name) =>
        entry.RequestMessage.Headers!.First(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value.ToString()!;

    public static bool HasHeader(WireMock.Logging.ILogEntry entry, string name) =>
        entry.RequestMessage.Headers!.Any(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase));
}
