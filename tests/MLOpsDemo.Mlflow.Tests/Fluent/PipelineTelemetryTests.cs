using System.Diagnostics.Metrics;
using MLOpsDemo.Mlflow.Diagnostics;
using MLOpsDemo.Mlflow.Tests.Sqlite;

namespace MLOpsDemo.Mlflow.Tests.Fluent;

/// <summary>
/// The logging pipeline reports points sent and failed through the library's Meter (the queue depth is covered by
/// Integration/PipelineTelemetryIntegrationTests, which runs alone because the instrument sums all runs of the process).
/// </summary>
public class PipelineTelemetryTests
{
    [Fact]
    public async Task Sent_points_are_counted_once_each()
    {
        using var folder = new TempFolder();
        using var client = folder.Client();
        var ct = TestContext.Current.CancellationToken;
        var experimentId = await client.Experiments.CreateAsync("telemetry", artifactLocation: Path.Combine(folder.Path, "store"), cancellationToken: ct);
        string? runId = null;
        var sent = 0L;
        var queued = 0L;
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
    }
}
