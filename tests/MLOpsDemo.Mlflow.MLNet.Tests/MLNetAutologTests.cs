using Microsoft.Extensions.Time.Testing;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using static MLOpsDemo.Mlflow.MLNet.Tests.Data;

namespace MLOpsDemo.Mlflow.MLNet.Tests;

[Collection(nameof(LocalStoreCollection))]
public class MLNetAutologTests
{
    [Fact]
    public async Task Fit_evaluation_cross_validation_messages_and_the_model_are_recorded()
    {
        using var store = new LocalStore();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Blobs(240));
        var split = ml.Data.TrainTestSplit(data, testFraction: 0.25, seed: 1);
        var pipeline = BinaryPipeline(ml, l2: 0.5f);
        var clock = new FakeTimeProvider();

        string runId;
        MLNetAutolog session;
        await using (var run = await store.Client.StartRunAsync(new StartRunOptions { ExperimentName = "mlnet-autolog" }, Ct))
        {
            runId = run.RunId;
            await using (session = ml.AutologToMlflow(run, new MLNetAutologOptions { LogModel = true, TimeProvider = clock }))
            {
                var model = session.Fit(pipeline, split.TrainSet);
                session.LogEvaluation(ml.BinaryClassification.Evaluate(model.Transform(split.TestSet)), prefix: "test_");
                session.LogCrossValidation(ml.BinaryClassification.CrossValidate(split.TrainSet, pipeline, numberOfFolds: 3, seed: 1));
                ml.Log += (_, _) => { };
                Assert.NotEmpty(session.GetMessages());
            }
        }

        var stored = await store.Client.Runs.GetAsync(runId, Ct);
        var p = stored.Data.Params;
        Assert.Equal("SdcaLogisticRegressionBinaryTrainer", p["estimator"]);
        Assert.Equal("0.5", p["sdcalogisticregressionbinarytrainer__l2_regularization"]);
        Assert.Equal("3", p["cv_folds"]);
        var metrics = stored.Data.Metrics.ToDictionary(m => m.Key, m => m.Value);
        Assert.Equal(0, metrics["training_duration_seconds"]); // the fake clock did not move
        Assert.True(metrics["test_accuracy"] > 0.8, $"accuracy {metrics["test_accuracy"]}");
        Assert.Contains("test_auc", metrics.Keys);
        Assert.Contains("test_f1_score", metrics.Keys);
        Assert.Contains("cv_mean_accuracy", metrics.Keys);
        var folds = await store.Client.Runs.GetMetricHistoryAsync(runId, "cv_accuracy", cancellationToken: Ct).ToListAsync(Ct);
        Assert.Equal([0L, 1L, 2L], folds.Select(f => f.Step).Order());
        Assert.Equal(folds.Average(f => f.Value), metrics["cv_mean_accuracy"], 10);

        // The messages artifact holds what MLContext.Log said (SDCA reports its thread count at Info level).
        var log = await store.Client.Artifacts.DownloadAsync(runId, "mlnet/training_log.txt", Path.Combine(store.Path, "log"), Ct);
        var text = await File.ReadAllTextAsync(log, Ct);
        Assert.Contains("SdcaTrainerBase", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Channel started", text, StringComparison.Ordinal); // traces are below the default minimum

        Assert.NotNull(session.LoggedModel);
        Assert.True(session.LoggedModel!.OnnxExported);
        Assert.Equal(["X1", "X2"], session.LoggedModel.Logged.Model.Signature!.Inputs!.Select(i => i.Name!)); // the trainer's label is left out by default
    }

    [Fact]
    public async Task Refitting_with_other_settings_keeps_both_values_and_duration_comes_from_the_clock()
    {
        using var store = new LocalStore();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Blobs(80));
        var clock = new SteppingClock(TimeSpan.FromSeconds(3));
        string runId;
        await using (var run = await store.Client.StartRunAsync(new StartRunOptions { ExperimentName = "mlnet-autolog" }, Ct))
        {
            runId = run.RunId;
            await using var session = ml.AutologToMlflow(run, new MLNetAutologOptions { TimeProvider = clock, MinimumMessageKind = ChannelMessageKind.Trace });
            session.Fit(BinaryPipeline(ml, l2: 0.1f), data);
            session.Fit(BinaryPipeline(ml, l2: 0.2f), data);
            Assert.Contains("Channel started", session.GetMessages(), StringComparison.Ordinal);
        }

        var stored = await store.Client.Runs.GetAsync(runId, Ct);
        Assert.Equal("0.1", stored.Data.Params["sdcalogisticregressionbinarytrainer__l2_regularization"]);
        Assert.Equal("0.2", stored.Data.Params["sdcalogisticregressionbinarytrainer__l2_regularization_fit2"]);
        var durations = await store.Client.Runs.GetMetricHistoryAsync(runId, "training_duration_seconds", cancellationToken: Ct).ToListAsync(Ct);
        Assert.Equal([3.0, 3.0], durations.OrderBy(d => d.Step).Select(d => d.Value));
    }

    [Fact]
    public async Task An_ended_run_is_refused()
    {
        using var store = new LocalStore();
        var run = await store.Client.StartRunAsync(new StartRunOptions { ExperimentName = "mlnet-autolog" }, Ct);
        await run.EndAsync(cancellationToken: Ct);

        Assert.Throws<ArgumentException>(() => new MLContext().AutologToMlflow(run));
    }

    /// <summary>Each timestamp read advances the clock by a fixed step, so a duration measured with two reads equals the step.</summary>
    private sealed class SteppingClock(TimeSpan step) : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Add(ref _ticks, step.Ticks);
    }
}
