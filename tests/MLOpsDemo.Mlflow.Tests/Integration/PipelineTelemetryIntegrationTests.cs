using System.Diagnostics.Metrics;
using MLOpsDemo.Mlflow.Diagnostics;
using MLOpsDemo.Mlflow.Tests.Fluent;

namespace MLOpsDemo.Mlflow.Tests.Integration;

/// <summary>Runs alone: the queue-depth instrument sums the buffers of every run of the process.</summary>
[CollectionDefinition(nameof(ProcessWideTelemetryCollection), DisableParallelization = true)]
public sealed class ProcessWideTelemetryCollection;

/// <summary>
/// The background logging pipeline feeds the library's Meter: points queued/sent/failed once per batch, and the queue
/// depth read from the buffers when a listener collects (it holds the backlog while the server is down).
/// </summary>
[Collection(nameof(ProcessWideTelemetryCollection))]
public class PipelineTelemetryIntegrationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Queue_depth_holds_the_backlog_while_the_server_is_down_and_drains_when_it_returns()
    {
        using var server = new FakeMlflowServer();
        var down = 1;
        var rejected = 0;
        server.LogBatchStatus = _ =>
        {
            if (Volatile.Read(ref down) == 1)
            {
                Interlocked.Increment(ref rejected);
                return 503;
            }

            return 200;
        };
        using var meter = new LoggingMeter();
        using var client = server.CreateClient();

        await using (var run = await client.StartRunAsync(cancellationToken: Ct))
        {
            var baseline = meter.Depth();
            var sentBefore = meter.Sent;
            for (var i = 0; i < 300; i++)
            {
                run.LogMetric("loss", 1.0 / (i + 1), step: i);
            }

            run.LogParam("lr", 0.1);
            await WaitUntilAsync(() => Volatile.Read(ref rejected) >= 2);

            Assert.Equal(baseline + 301, meter.Depth());
            Assert.Equal(sentBefore, meter.Sent);

            Volatile.Write(ref down, 0);
            await run.FlushAsync(Ct);

            Assert.Equal(baseline, meter.Depth());
            Assert.Equal(301, meter.Sent - sentBefore);
        }

        Assert.Equal(300, server.MetricsOf(server.Runs.Keys.Single()).Count);
    }

    [Fact]
    public async Task Points_of_a_refused_batch_are_counted_as_failed_and_leave_the_queue()
    {
        using var server = new FakeMlflowServer { LogBatchStatus = _ => 400 };
        using var meter = new LoggingMeter();
        using var client = server.CreateClient();
        var run = await client.StartRunAsync(cancellationToken: Ct);
        var baseline = meter.Depth();
        var (queuedBefore, sentBefore, failedBefore) = (meter.Queued, meter.Sent, meter.Failed);
        for (var i = 0; i < 40; i++)
        {
            run.LogMetric("acc", i / 40.0, step: i);
        }

        await Assert.ThrowsAsync<MlflowException>(() => run.FlushAsync(Ct));
        await run.EndAsync(cancellationToken: Ct);

        Assert.Equal(40, meter.Failed - failedBefore);
        Assert.Equal(40, meter.Queued - queuedBefore);
        Assert.Equal(sentBefore, meter.Sent);
        Assert.Equal(baseline, meter.Depth());
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60); // a hang guard, not a timing assertion
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the pipeline");
            await Task.Delay(10, Ct);
        }
    }

    /// <summary>Listens to the logging instruments of the library's Meter.</summary>
    private sealed class LoggingMeter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _queued;
        private long _sent;
        private long _failed;
        private long _depth;

        public LoggingMeter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == MlflowTelemetry.MeterName && instrument.Name.StartsWith("mlflow.client.logging", StringComparison.Ordinal))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
            {
                switch (instrument.Name)
                {
                    case MlflowTelemetry.PointsQueuedInstrument: Interlocked.Add(ref _queued, value); break;
                    case MlflowTelemetry.PointsSentInstrument: Interlocked.Add(ref _sent, value); break;
                    case MlflowTelemetry.PointsFailedInstrument: Interlocked.Add(ref _failed, value); break;
                    case MlflowTelemetry.QueueDepthInstrument: Interlocked.Exchange(ref _depth, value); break;
                }
            });
            _listener.Start();
        }

        public long Queued => Interlocked.Read(ref _queued);

        public long Sent => Interlocked.Read(ref _sent);

        public long Failed => Interlocked.Read(ref _failed);

        /// <summary>Collects the observable queue depth now.</summary>
        public long Depth()
        {
            Interlocked.Exchange(ref _depth, long.MinValue);
            _listener.RecordObservableInstruments();
            var depth = Interlocked.Read(ref _depth);
            Assert.NotEqual(long.MinValue, depth);
            return depth;
        }

        public void Dispose() => _listener.Dispose();
    }
}
