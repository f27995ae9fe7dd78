using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Microsoft.ML;
using static MLOpsDemo.Mlflow.MLNet.Tests.Data;

namespace MLOpsDemo.Mlflow.MLNet.Tests;

/// <summary>
/// <see cref="ChampionModel{TIn, TOut}"/> on the local SQLite store (registry, aliases, artifacts; no network), with a
/// fake clock driving the poll timer.
/// </summary>
[Collection(nameof(LocalStoreCollection))]
public class ChampionModelTests
{
    private const string Name = "champ";
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);
    private static readonly BlobRow[] Probe = [new() { X1 = 1.5f, X2 = 1.5f }, new() { X1 = -1.5f, X2 = -1.5f }, new() { X1 = 0.3f, X2 = -0.1f }];

    [Fact]
    public async Task Serves_the_aliased_version_and_swaps_in_the_new_one_when_the_alias_moves()
    {
        using var store = new LocalStore();
        var (v1, expected1) = await RegisterAsync(store, Blobs());
        var (v2, expected2) = await RegisterAsync(store, Flipped(Blobs()));
        await store.Client.ModelRegistry.SetAliasAsync(Name, "champion", v1, Ct);
        var clock = new FakeTimeProvider();
        var logger = new ListLogger();

        await using var champion = new ChampionModel<BlobRow, BlobPrediction>(store.Client, Name, "champion", new ChampionModelOptions { PollInterval = Interval, TimeProvider = clock, Logger = logger });
        Assert.False(champion.IsLoaded);
        Assert.Contains("StartAsync", Assert.Throws<InvalidOperationException>(() => champion.Predict(Probe[0])).Message, StringComparison.Ordinal);

        var first = await champion.StartAsync(Ct);

        Assert.Equal(ChampionModelPollOutcome.Loaded, first.Outcome);
        Assert.Equal("1", champion.Current!.Version);
        Assert.Equal("mlnet", champion.Current.Flavor);
        Assert.Equal($"models:/{Name}/1", champion.Current.Uri);
        Assert.Equal(expected1, champion.Predict(Probe).Select(p => p.Probability));

        // The alias has not moved: a poll changes nothing.
        var unchanged = await AdvanceAndWaitAsync(champion, clock);
        Assert.Equal(ChampionModelPollOutcome.Unchanged, unchanged.Outcome);

        // The alias moves: after the next tick the new version serves, without a restart.
        await store.Client.ModelRegistry.SetAliasAsync(Name, "champion", v2, Ct);
        Assert.Equal("1", champion.Current.Version); // nothing happens before the timer fires
        var moved = await AdvanceAndWaitAsync(champion, clock);

        Assert.Equal(ChampionModelPollOutcome.Loaded, moved.Outcome);
        Assert.Equal(("2", "1"), (moved.Version, moved.PreviousVersion));
        Assert.Equal("2", champion.Current!.Version);
        Assert.Equal(expected2, champion.Predict(Probe).Select(p => p.Probability));
        Assert.NotEqual(expected1, expected2);
        Assert.Null(champion.LastError);
        Assert.Contains(logger.Messages, m => m.Contains("moved from version 1 to 2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_version_that_fails_to_load_is_reported_and_the_previous_one_keeps_serving()
    {
        using var store = new LocalStore();
        var (v1, expected1) = await RegisterAsync(store, Blobs());
        var broken = await RegisterOtherInputsAsync(store);
        await store.Client.ModelRegistry.SetAliasAsync(Name, "champion", v1, Ct);
        var clock = new FakeTimeProvider();
        var logger = new ListLogger();
        await using var champion = new ChampionModel<BlobRow, BlobPrediction>(store.Client, Name, options: new ChampionModelOptions { PollInterval = Interval, TimeProvider = clock, Logger = logger });
        await champion.StartAsync(Ct);

        await store.Client.ModelRegistry.SetAliasAsync(Name, "champion", broken, Ct);
        var failed = await AdvanceAndWaitAsync(champion, clock);

        Assert.Equal(ChampionModelPollOutcome.LoadFailed, failed.Outcome);
        Assert.Equal(broken, failed.Version);
        Assert.NotNull(failed.Error);
        Assert.Equal("1", champion.Current!.Version);
        Assert.Equal(expected1, champion.Predict(Probe).Select(p => p.Probability));
        Assert.Contains($"Could not load version {broken} of models:/{Name}@champion", champion.LastError, StringComparison.Ordinal);
        Assert.Contains("Still serving version 1", champion.LastError, StringComparison.Ordinal);
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Error && e.Message.Contains("BlobRow cannot feed the model", StringComparison.Ordinal));

        // The next poll tries again (the failure may have been transient); the alias moving back clears the error.
        await store.Client.ModelRegistry.SetAliasAsync(Name, "champion", v1, Ct);
        var back = await AdvanceAndWaitAsync(champion, clock);
        Assert.Equal(ChampionModelPollOutcome.Unchanged, back.Outcome);
        Assert.Null(champion.LastError);
    }

    [Fact]
    public async Task A_first_load_that_fails_leaves_nothing_served_and_is_retried_at_each_poll()
    {
        using var store = new LocalStore();
        var clock = new FakeTimeProvider();
        await using var champion = new ChampionModel<BlobRow, BlobPrediction>(store.Client, Name, options: new ChampionModelOptions { PollInterval = Interval, TimeProvider = clock });

        var first = await champion.StartAsync(Ct);

        Assert.Equal(ChampionModelPollOutcome.CheckFailed, first.Outcome);
        Assert.False(champion.IsLoaded);
        var ex = Assert.Throws<InvalidOperationException>(() => champion.Predict(Probe[0]));
        Assert.Contains($"Could not read models:/{Name}@champion", ex.Message, StringComparison.Ordinal);

        var (v1, expected1) = await RegisterAsync(store, Blobs());
        await store.Client.ModelRegistry.SetAliasAsync(Name, "champion", v1, Ct);
        var loaded = await AdvanceAndWaitAsync(champion, clock);
        Assert.Equal(ChampionModelPollOutcome.Loaded, loaded.Outcome);
        Assert.Equal(expected1, champion.Predict(Probe).Select(p => p.Probability));
    }

    [Fact]
    public async Task Dispose_stops_polling_and_releases_the_model()
    {
        using var store = new LocalStore();
        var (v1, _) = await RegisterAsync(store, Blobs(count: 60));
        await store.Client.ModelRegistry.SetAliasAsync(Name, "champion", v1, Ct);
        var clock = new FakeTimeProvider();
        var champion = new ChampionModel<BlobRow, BlobPrediction>(store.Client, Name, options: new ChampionModelOptions { PollInterval = Interval, TimeProvider = clock });
        await champion.StartAsync(Ct);

        // The timer fires on the fake clock (the poll starts inside Advance).
        await AdvanceAndWaitAsync(champion, clock);
        Assert.Equal(1, champion.PollsStarted);

        await champion.DisposeAsync();
        clock.Advance(Interval * 10);

        Assert.Equal(1, champion.PollsStarted);
        Assert.False(champion.IsLoaded);
        Assert.Throws<ObjectDisposedException>(() => champion.Predict(Probe[0]));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => champion.PollAsync(Ct));
        await champion.DisposeAsync(); // twice is fine
    }

    [Fact]
    public async Task Concurrent_predictions_during_swaps_always_get_a_whole_model()
    {
        using var store = new LocalStore();
        var (v1, expected1) = await RegisterAsync(store, Blobs());
        var (v2, expected2) = await RegisterAsync(store, Flipped(Blobs()));
        await store.Client.ModelRegistry.SetAliasAsync(Name, "champion", v1, Ct);
        await using var champion = new ChampionModel<BlobRow, BlobPrediction>(store.Client, Name, options: new ChampionModelOptions { PollInterval = Timeout.InfiniteTimeSpan });
        await champion.StartAsync(Ct);

        var seen = new ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                var probabilities = champion.Predict(Probe).Select(p => p.Probability).ToArray();
                seen.Add(probabilities.SequenceEqual(expected1) ? "1" : probabilities.SequenceEqual(expected2) ? "2" : "torn");
            }
        })).ToArray();
        foreach (var version in new[] { v2, v1, v2 })
        {
            await store.Client.ModelRegistry.SetAliasAsync(Name, "champion", version, Ct);
            Assert.Equal(ChampionModelPollOutcome.Loaded, (await champion.PollAsync(Ct)).Outcome);
        }

        await stop.CancelAsync();
        await Task.WhenAll(readers);

        Assert.DoesNotContain("torn", seen);
        Assert.Contains("1", seen);
        Assert.Equal("2", champion.Current!.Version);
    }

    [Fact]
    public async Task The_onnx_flavor_is_served_by_option_and_when_the_model_has_no_mlnet_flavor()
    {
        Assert.SkipWhen(OnnxRuntimeProbe.Unavailable() is not null, OnnxRuntimeProbe.Unavailable() ?? "");
        using var store = new LocalStore();
        var (v1, expected1) = await RegisterAsync(store, Blobs());
        await store.Client.ModelRegistry.SetAliasAsync(Name, "champion", v1, Ct);

        // The label was excluded when logging, so the graph's inputs are the features only: a label-less input type feeds it.
        await using (var onnx = new ChampionModel<BlobFeatures, BlobPrediction>(store.Client, Name, options: new ChampionModelOptions { Flavor = ServingFlavor.Onnx, PollInterval = Timeout.InfiniteTimeSpan }))
        {
            Assert.Equal(ChampionModelPollOutcome.Loaded, (await onnx.StartAsync(Ct)).Outcome);
            Assert.Equal("onnx", onnx.Current!.Flavor);
            var predicted = onnx.Predict(Probe.Select(p => new BlobFeatures { X1 = p.X1, X2 = p.X2 }).ToList());
            Assert.Equal(expected1.Length, predicted.Length);
            for (var i = 0; i < predicted.Length; i++)
            {
                Assert.Equal(expected1[i], predicted[i].Probability, 1e-5f);
            }

            Assert.Equal([true, false], predicted.Take(2).Select(p => p.PredictedLabel));
        }

        // A model with the onnx flavor only (as Python logs it): Auto falls back to ONNX Runtime; MLNet refuses it.
        var directory = Path.Combine(store.Path, "onnx-only");
        var downloaded = await store.Client.Models.DownloadModelAsync($"models:/{Name}/{v1}", directory, Ct);
        string onnxOnly;
        await using (var run = await store.Client.StartRunAsync(new StartRunOptions { ExperimentName = "champion" }, Ct))
        {
            onnxOnly = (await store.Client.Models.LogModelAsync(run.RunId, new LogModelOptions { Flavor = new OnnxFlavor(), ModelFile = downloaded.GetDataPath("onnx"), RegisteredModelName = Name }, Ct)).RegisteredVersion!.Version;
        }

        await store.Client.ModelRegistry.SetAliasAsync(Name, "champion", onnxOnly, Ct);
        await using (var auto = new ChampionModel<BlobRow, BlobPrediction>(store.Client, Name, options: new ChampionModelOptions { PollInterval = Timeout.InfiniteTimeSpan }))
        {
            Assert.Equal(ChampionModelPollOutcome.Loaded, (await auto.StartAsync(Ct)).Outcome);
            Assert.Equal("onnx", auto.Current!.Flavor);
            Assert.Equal(expected1[0], auto.Predict(Probe[0]).Probability, 1e-5f);
        }

        await using var mlnetOnly = new ChampionModel<BlobRow, BlobPrediction>(store.Client, Name, options: new ChampionModelOptions { Flavor = ServingFlavor.MLNet, PollInterval = Timeout.InfiniteTimeSpan });
        var refused = await mlnetOnly.StartAsync(Ct);
        Assert.Equal(ChampionModelPollOutcome.LoadFailed, refused.Outcome);
        Assert.Contains("its flavors: onnx, python_function", mlnetOnly.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_are_checked_at_construction()
    {
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = "http://127.0.0.1:9" });
        var ex = Assert.Throws<ArgumentException>(() => new ChampionModel<BlobRow, BlobPrediction>(client, Name, options: new ChampionModelOptions { PollInterval = TimeSpan.Zero }));
        Assert.Contains("PollInterval", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new ChampionModel<BlobRow, BlobPrediction>(client, " "));
    }

    /// <summary>Advances the fake clock by one interval and waits (bounded) for the poll the timer started.</summary>
    private static async Task<ChampionModelPolledEventArgs> AdvanceAndWaitAsync(ChampionModel<BlobRow, BlobPrediction> champion, FakeTimeProvider clock)
    {
        var polled = new TaskCompletionSource<ChampionModelPolledEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        void Handler(object? sender, ChampionModelPolledEventArgs e) => polled.TrySetResult(e);
        champion.Polled += Handler;
        try
        {
            clock.Advance(Interval);
            return await polled.Task.WaitAsync(TimeSpan.FromMinutes(2), Ct);
        }
        finally
        {
            champion.Polled -= Handler;
        }
    }

    /// <summary>Trains on <paramref name="rows"/>, logs and registers the model; returns its version and its probabilities on <see cref="Probe"/>.</summary>
    private static async Task<(string Version, float[] Probabilities)> RegisterAsync(LocalStore store, List<BlobRow> rows)
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = BinaryPipeline(ml).Fit(data);
        await using var run = await store.Client.StartRunAsync(new StartRunOptions { ExperimentName = "champion" }, Ct);
        var logged = await run.LogMLNetModelAsync(ml, model, new MLNetModelOptions { InputData = data, ExcludeColumns = ["Label"], RegisteredModelName = Name, InputExampleRows = 0 }, Ct);
        var probabilities = MLNetModelLoggingTests.Probabilities(ml, model, ml.Data.LoadFromEnumerable(Probe));
        return (logged.Logged.RegisteredVersion!.Version, probabilities);
    }

    /// <summary>Registers a model whose inputs are <c>A</c> and <c>B</c>: <see cref="BlobRow"/> cannot feed it.</summary>
    private static async Task<string> RegisterOtherInputsAsync(LocalStore store)
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(Blobs(60).Select(r => new OtherRow { A = r.X1, B = r.X2, Label = r.Label }));
        var model = ml.Transforms.Concatenate("Features", "A", "B").Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression(maximumNumberOfIterations: 5)).Fit(data);
        await using var run = await store.Client.StartRunAsync(new StartRunOptions { ExperimentName = "champion" }, Ct);
        var logged = await run.LogMLNetModelAsync(ml, model, new MLNetModelOptions { InputData = data, ExcludeColumns = ["Label"], RegisteredModelName = Name, ExportOnnx = false, InputExampleRows = 0 }, Ct);
        return logged.Logged.RegisteredVersion!.Version;
    }

    private static List<BlobRow> Flipped(List<BlobRow> rows) => rows.Select(r => new BlobRow { X1 = r.X1, X2 = r.X2, Label = !r.Label }).ToList();

    public sealed class OtherRow
    {
        public float A { get; set; }

        public float B { get; set; }

        public bool Label { get; set; }
    }
}
