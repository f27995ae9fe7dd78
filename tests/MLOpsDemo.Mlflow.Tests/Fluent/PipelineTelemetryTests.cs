using System.Diagnostics.Metrics;
using MLOpsDemo.Mlflow.Diagnostics;
using MLOpsDemo.Mlflow.Tests.Sqlite;

namespace MLOpsDemo.Mlflow.Tests.Fluent;

/// <summary>The logging pipeline reports points sent and failed through the library's Meter.</summary>
public class PipelineTelemetryTests
{
    [Fact]
    public async Task Sent_points_are_counted_and_the_queue_depth_returns_to_zero()
    {
        using var folder = new TempFolder();
        using var client = folder.Client();
        var ct = TestContext.Current.CancellationToken;
        var experimentId = await client.Experiments.CreateAsync("telemetry", artifactLocation: Path.Combine(folder.Path, "store"), cancellationToken: ct);
        string? runId = null;
        var sent = 0L;
        var queued = 0L;
        var depth = 0L;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == MlflowTelemetry.MeterName && instrument.Name.StartsWith("mlflow.client.logging", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            // Other tests log in parallel through the same static Meter; count only while this test's run is active.
            if (runId is null || MlflowRun.Current?.RunId != runId)
            {
                return;
            }

            switch (instrument.Name)
            {
                case MlflowTelemetry.PointsSentInstrument: Interlocked.Add(ref sent, value); break;
                case MlflowTelemetry.PointsQueuedInstrument: Interlocked.Add(ref queued, value); break;
                case MlflowTelemetry.QueueDepthInstrument: Interlocked.Add(ref depth, value); break;
            }
        });
        listener.Start();

        await using (var run = await client.StartRunAsync(new StartRunOptions { ExperimentId = experimentId }, ct))
        {
            runId = run.RunId;
            for (var i = 0; i < 250; i++)
            {
                run.LogMetric("loss", 1.0 / (i + 1), step: i);
            }

            run.LogParam("lr", 0.1);
            await run.FlushAsync(ct);
        }

        Assert.True(Interlocked.Read(ref sent) >= 251, $"sent = {sent}");
        Assert.Equal(Interlocked.Read(ref queued), Interlocked.Read(ref sent));
        Assert.Equal(0, Interlocked.Read(ref depth));
    }
}
