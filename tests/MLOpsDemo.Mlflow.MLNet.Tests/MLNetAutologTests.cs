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

    [Fact]
    public async Task Without_a_run_each_fit_gets_its_own_run_which_takes_the_evaluation_and_ends_at_the_next_fit_or_at_dispose()
    {
        using var store = new LocalStore();
        var ml = new MLContext(seed: 1);
        var split = ml.Data.TrainTestSplit(ml.Data.LoadFromEnumerable(Blobs(160)), testFraction: 0.25, seed: 1);
        var options = new MLNetAutologOptions { RunOptions = new StartRunOptions { ExperimentName = "mlnet-autolog-client" }, LogModel = true, TimeProvider = new FakeTimeProvider() };

        string first, second;
        var session = ml.AutologToMlflow(store.Client, options);
        await using (session)
        {
            Assert.Throws<InvalidOperationException>(() => session.Run);
            Assert.Contains("fit first", Assert.Throws<InvalidOperationException>(() => session.LogEvaluation(new object())).Message, StringComparison.Ordinal);
            Assert.Contains("FitAsync", Assert.Throws<InvalidOperationException>(() => session.Fit(BinaryPipeline(ml), split.TrainSet)).Message, StringComparison.Ordinal);

            var model1 = await session.FitAsync(BinaryPipeline(ml, l2: 0.1f), split.TrainSet, Ct);
            first = session.Run!.RunId;
            session.LogEvaluation(ml.BinaryClassification.Evaluate(model1.Transform(split.TestSet)));
            Assert.Equal(RunStatus.Running, (await store.Client.Runs.GetAsync(first, Ct)).Info.Status);

            var model2 = await session.FitAsync(BinaryPipeline(ml, l2: 0.5f), split.TrainSet, Ct);
            second = session.Run!.RunId;
            Assert.NotEqual(first, second);
            Assert.Equal(RunStatus.Finished, (await store.Client.Runs.GetAsync(first, Ct)).Info.Status); // ended by the next fit
            session.LogEvaluation(ml.BinaryClassification.Evaluate(model2.Transform(split.TestSet)), prefix: "test_");
            Assert.Null(store.Client.ActiveRun); // the session's runs are not the caller's active run
        }

        var run1 = await store.Client.Runs.GetAsync(first, Ct);
        var run2 = await store.Client.Runs.GetAsync(second, Ct);
        Assert.Equal(RunStatus.Finished, run2.Info.Status);
        var experiment = await store.Client.Experiments.GetByNameAsync("mlnet-autolog-client", Ct);
        Assert.Equal([experiment!.ExperimentId, experiment.ExperimentId], new[] { run1.Info.ExperimentId, run2.Info.ExperimentId });

        // Each run has its own fit: params without _fit<n> suffixes, its own evaluation, its messages and its model.
        Assert.Equal("0.1", run1.Data.Params["sdcalogisticregressionbinarytrainer__l2_regularization"]);
        Assert.Equal("0.5", run2.Data.Params["sdcalogisticregressionbinarytrainer__l2_regularization"]);
        Assert.Contains(run1.Data.Metrics, m => m.Key == "accuracy");
        Assert.DoesNotContain(run1.Data.Metrics, m => m.Key == "test_accuracy");
        Assert.Contains(run2.Data.Metrics, m => m.Key == "test_accuracy");
        Assert.DoesNotContain(run2.Data.Metrics, m => m.Key == "accuracy");
        foreach (var runId in new[] { first, second })
        {
            var log = await store.Client.Artifacts.DownloadAsync(runId, "mlnet/training_log.txt", Path.Combine(store.Path, "log-" + runId), Ct);
            Assert.Contains("SdcaTrainerBase", await File.ReadAllTextAsync(log, Ct), StringComparison.Ordinal);
        }

        Assert.Equal(second, session.LoggedModel!.Logged.RunId);
    }

    [Fact]
    public async Task Without_a_run_a_fit_records_into_the_callers_active_run_and_leaves_it_open()
    {
        using var store = new LocalStore();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Blobs(80));
        await using var run = await store.Client.StartRunAsync(new StartRunOptions { ExperimentName = "mlnet-autolog-client" }, Ct);

        await using (var session = ml.AutologToMlflow(store.Client))
        {
            session.Fit(BinaryPipeline(ml, l2: 0.3f), data); // synchronous: there is a run to record into
            Assert.Same(run, session.Run);
            await session.FitAsync(BinaryPipeline(ml, l2: 0.3f), data, Ct);
            Assert.Same(run, session.Run);
        }

        Assert.False(run.IsEnded);
        var stored = await store.Client.Runs.GetAsync(run.RunId, Ct);
        Assert.Equal(RunStatus.Running, stored.Info.Status);
        Assert.Equal("0.3", stored.Data.Params["sdcalogisticregressionbinarytrainer__l2_regularization"]);
        var durations = await store.Client.Runs.GetMetricHistoryAsync(run.RunId, "training_duration_seconds", cancellationToken: Ct).ToListAsync(Ct);
        Assert.Equal([0L, 1L], durations.Select(d => d.Step).Order());
    }

    [Fact]
    public async Task Without_a_run_a_fit_that_throws_ends_its_run_failed()
    {
        using var store = new LocalStore();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Blobs(40));
        var broken = ml.Transforms.Concatenate("Features", "X1", "Missing").Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression());

        await using var session = ml.AutologToMlflow(store.Client, new MLNetAutologOptions { RunOptions = new StartRunOptions { ExperimentName = "mlnet-autolog-client" } });
        await Assert.ThrowsAnyAsync<ArgumentException>(() => session.FitAsync(broken, data, Ct));

        var stored = await store.Client.Runs.GetAsync(session.Run!.RunId, Ct);
        Assert.Equal(RunStatus.Failed, stored.Info.Status);
        Assert.Equal("SdcaLogisticRegressionBinaryTrainer", stored.Data.Params["estimator"]); // the settings were recorded before the fit
    }

    /// <summary>Each timestamp read advances the clock by a fixed step, so a duration measured with two reads equals the step.</summary>
    private sealed class SteppingClock(TimeSpan step) : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Add(ref _ticks, step.Ticks);
    }
}
