using System.Globalization;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace MLOpsDemo.Mlflow.MLNet;

#pragma warning disable SA1402 // the session, its options and its entry point belong together

/// <summary>What <see cref="MLNetAutologExtensions.AutologToMlflow(MLContext, MlflowRun, MLNetAutologOptions?)"/> records.</summary>
public sealed record MLNetAutologOptions
{
    /// <summary>Log the estimator chain's settings as params on <see cref="MLNetAutolog.Fit"/>. Default true.</summary>
    public bool LogParams { get; init; } = true;

    /// <summary>Collect <c>MLContext.Log</c> messages and upload them as <see cref="MessagesArtifactPath"/> when the session ends. Default true.</summary>
    public bool LogMessages { get; init; } = true;

    /// <summary>The least severe message kind kept. Default <see cref="ChannelMessageKind.Info"/> (ML.NET's traces are very chatty).</summary>
    public ChannelMessageKind MinimumMessageKind { get; init; } = ChannelMessageKind.Info;

    /// <summary>The artifact file of the messages. Default <c>mlnet/training_log.txt</c>.</summary>
    public string MessagesArtifactPath { get; init; } = "mlnet/training_log.txt";

    /// <summary>At most this many characters of messages are kept (the rest is counted, not stored). Default 1,000,000.</summary>
    public int MaxMessageCharacters { get; init; } = 1_000_000;

    /// <summary>Log the last fitted model (with its training data as input data) when the session ends. Default false.</summary>
    public bool LogModel { get; init; }

    /// <summary>
    /// How the model is logged when <see cref="LogModel"/> is set (path, registration, ONNX…), given the training data;
    /// <c>InputData</c> is always the training data. Default: the trainer's label column is excluded from the input.
    /// </summary>
    public Func<IDataView, MLNetModelOptions>? ModelOptions { get; init; }

    /// <summary>The clock for training durations (tests substitute a fake one). Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// For a session started on a client (<see cref="MLNetAutologExtensions.AutologToMlflow(MLContext, MlflowClient, MLNetAutologOptions?)"/>):
    /// how the runs of the fits are started (experiment, run name, tags). Default: the client's default experiment
    /// (<c>MLFLOW_EXPERIMENT_NAME</c>/<c>MLFLOW_EXPERIMENT_ID</c>, else <c>0</c>), as <c>StartRunAsync</c> does.
    /// </summary>
    public StartRunOptions? RunOptions { get; init; }
}

/// <summary>
/// An autologging session for one <see cref="MLContext"/> and one run, from <see cref="MLNetAutologExtensions.AutologToMlflow(MLContext, MlflowRun, MLNetAutologOptions?)"/>.
/// ML.NET has no global hook around <c>Fit</c> or <c>Evaluate</c>, so the session offers pass-through calls that
/// keep pipelines unchanged: <c>autolog.Fit(pipeline, data)</c> instead of <c>pipeline.Fit(data)</c>, and
/// <c>autolog.LogEvaluation(mlContext.X.Evaluate(...))</c> around an evaluation. The context's <c>Log</c> event is
/// the real hook for messages. Dispose the session (<c>await using</c>) to upload the messages and, if asked, the model.
/// A session started on a client instead of a run records each <see cref="FitAsync"/> into the run active in the
/// caller's flow or, with none, into a run of its own (see <see cref="MLNetAutologExtensions.AutologToMlflow(MLContext, MlflowClient, MLNetAutologOptions?)"/>).
/// Thread-safe.
/// </summary>
public sealed class MLNetAutolog : IAsyncDisposable
{
    private readonly MlflowClient? _client;
    private readonly SemaphoreSlim _runGate = new(1, 1);
    private readonly MLContext _mlContext;
    private readonly MLNetAutologOptions _options;
    private readonly object _gate = new();
    private readonly StringBuilder _messages = new();
    private readonly Dictionary<string, string> _params = new(StringComparer.Ordinal);
    private long _droppedMessages;
    private int _fits;
    private ITransformer? _lastModel;
    private IDataView? _lastTrainingData;
    private string? _lastLabelColumn;
    private bool _disposed;
    private MlflowRun? _run;
    private bool _ownsRun;

    internal MLNetAutolog(MLContext mlContext, MlflowRun? run, MlflowClient? client, MLNetAutologOptions options)
    {
        _mlContext = mlContext;
        _run = run;
        _client = client;
        _options = options;
        if (options.LogMessages)
        {
            mlContext.Log += OnLog;
        }
    }

    /// <summary>
    /// The run the session records into: the run it was started on; for a session started on a client, the run of the
    /// last fit.
    /// </summary>
    /// <exception cref="InvalidOperationException">A session started on a client has not recorded a fit yet.</exception>
    public MlflowRun Run => Volatile.Read(ref _run)
        ?? throw new InvalidOperationException("This autologging session was started on a client and has recorded no fit yet: it has no run until the first FitAsync.");

    /// <summary>The last model fitted through <see cref="Fit"/>, or <see langword="null"/>.</summary>
    public ITransformer? LastModel
    {
        get
        {
            lock (_gate)
            {
                return _lastModel;
            }
        }
    }

    /// <summary>The result of logging the model at the end of the session (with <see cref="MLNetAutologOptions.LogModel"/>), else <see langword="null"/>.</summary>
    public MLNetModelLogResult? LoggedModel { get; private set; }

    /// <summary>
    /// Fits <paramref name="estimator"/> on <paramref name="trainingData"/> exactly as <c>estimator.Fit(trainingData)</c>
    /// does, and records the chain's settings as params (the first time a key is seen; a later fit with a different value
    /// logs <c>&lt;key&gt;_fit&lt;n&gt;</c>), the duration as the metric <c>training_duration_seconds</c> (step = fit number − 1)
    /// and the number of training rows (<c>training_rows</c>, when ML.NET knows it without a pass).
    /// </summary>
    /// <typeparam name="TTransformer">The fitted transformer type.</typeparam>
    /// <param name="estimator">The estimator or chain, unchanged.</param>
    /// <param name="trainingData">The training data.</param>
    /// <returns>What <c>Fit</c> returned.</returns>
    /// <exception cref="InvalidOperationException">
    /// The session was started on a client and no run is active in the caller's flow (starting one is asynchronous:
    /// use <see cref="FitAsync"/>), or the run a previous <see cref="FitAsync"/> started is still open.
    /// </exception>
    public TTransformer Fit<TTransformer>(IEstimator<TTransformer> estimator, IDataView trainingData)
        where TTransformer : ITransformer
    {
        ArgumentNullException.ThrowIfNull(estimator);
        ArgumentNullException.ThrowIfNull(trainingData);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_client is not null)
        {
            lock (_gate)
            {
                if (_ownsRun && _run is { IsEnded: false })
                {
                    throw new InvalidOperationException($"The run {_run.RunId} the previous FitAsync started is still open: call FitAsync (it ends that run first), or dispose the session.");
                }

                var active = _client.ActiveRun
                    ?? throw new InvalidOperationException("This autologging session was started on a client, and no run is active: use 'await autolog.FitAsync(estimator, data)', which starts a run for the fit, or start a run first (client.StartRunAsync) and Fit records into it.");
                UseRun(active, owned: false);
            }
        }

        return RecordFit(Run, estimator, trainingData);
    }

    /// <summary>
    /// <see cref="Fit"/> for any session. On a session started on a client it first ends the run its previous fit
    /// started (FINISHED, after uploading its messages and, with <see cref="MLNetAutologOptions.LogModel"/>, its model),
    /// then records into the run active in the caller's flow, or starts a run (<see cref="MLNetAutologOptions.RunOptions"/>)
    /// that stays open for <see cref="LogEvaluation"/> and <see cref="LogCrossValidation"/> until the next fit or the
    /// end of the session. If the fit throws, a run it started ends FAILED.
    /// </summary>
    /// <typeparam name="TTransformer">The fitted transformer type.</typeparam>
    /// <param name="estimator">The estimator or chain, unchanged.</param>
    /// <param name="trainingData">The training data.</param>
    /// <param name="cancellationToken">Cancels ending the previous run and starting the new one (not the fit).</param>
    /// <returns>What <c>Fit</c> returned.</returns>
    public async Task<TTransformer> FitAsync<TTransformer>(IEstimator<TTransformer> estimator, IDataView trainingData, CancellationToken cancellationToken = default)
        where TTransformer : ITransformer
    {
        ArgumentNullException.ThrowIfNull(estimator);
        ArgumentNullException.ThrowIfNull(trainingData);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_client is null)
        {
            return RecordFit(Run, estimator, trainingData);
        }

        MlflowRun run;
        bool owned;
        await _runGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FinishRunAsync(RunStatus.Finished, cancellationToken).ConfigureAwait(false);
            var active = _client.ActiveRun;
            owned = active is null;
            run = active ?? await _client.StartRunAsync((_options.RunOptions ?? new StartRunOptions()) with { Nested = false }, cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                UseRun(run, owned);
            }
        }
        finally
        {
            _runGate.Release();
        }

        try
        {
            return RecordFit(run, estimator, trainingData);
        }
        catch (Exception) when (owned)
        {
            await _runGate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                await FinishRunAsync(RunStatus.Failed, CancellationToken.None).ConfigureAwait(false);
            }
            finally
            {
                _runGate.Release();
            }

            throw;
        }
    }

    private TTransformer RecordFit<TTransformer>(MlflowRun run, IEstimator<TTransformer> estimator, IDataView trainingData)
        where TTransformer : ITransformer
    {
        var fit = Interlocked.Increment(ref _fits);
        if (_options.LogParams)
        {
            LogParams(run, EstimatorParams.Read(estimator), fit);
        }

        var started = _options.TimeProvider.GetTimestamp();
        var model = estimator.Fit(trainingData);
        var elapsed = _options.TimeProvider.GetElapsedTime(started);
        run.LogMetric("training_duration_seconds", elapsed.TotalSeconds, step: fit - 1);
        if (trainingData.GetRowCount() is { } rows)
        {
            run.LogMetric("training_rows", rows, step: fit - 1);
        }

        lock (_gate)
        {
            _lastModel = model;
            _lastTrainingData = trainingData;
            _lastLabelColumn = EstimatorParams.LabelColumn(estimator) is { } label && trainingData.Schema.GetColumnOrNull(label) is not null ? label : null;
        }

        return model;
    }

    /// <summary>
    /// Logs an evaluation result (from <c>mlContext.&lt;Task&gt;.Evaluate</c>) as MLflow metrics with MLflow's names
    /// (see <see cref="MLNetMetrics.ToMlflowMetrics"/>) and returns it unchanged.
    /// </summary>
    /// <typeparam name="TMetrics">The metrics type.</typeparam>
    /// <param name="metrics">The evaluation result.</param>
    /// <param name="prefix">Put before every name, e.g. <c>test_</c> (default none).</param>
    /// <param name="step">The step (default 0).</param>
    /// <returns><paramref name="metrics"/>.</returns>
    public TMetrics LogEvaluation<TMetrics>(TMetrics metrics, string prefix = "", long step = 0)
        where TMetrics : class
    {
        ArgumentNullException.ThrowIfNull(metrics);
        ObjectDisposedException.ThrowIf(_disposed, this);
        TargetRun().LogMetrics(MLNetMetrics.ToMlflowMetrics(metrics, prefix), step);
        return metrics;
    }

    /// <summary>
    /// Logs the folds of <c>mlContext.&lt;Task&gt;.CrossValidate</c>: each fold's metrics as steps (step = fold index)
    /// under <paramref name="prefix"/> (default <c>cv_</c>, e.g. <c>cv_accuracy</c>), then their means as
    /// <c>&lt;prefix&gt;mean_&lt;name&gt;</c>; returns the results unchanged.
    /// </summary>
    /// <typeparam name="TMetrics">The metrics type.</typeparam>
    /// <param name="results">The folds.</param>
    /// <param name="prefix">The metric name prefix.</param>
    /// <returns><paramref name="results"/>.</returns>
    public IReadOnlyList<TrainCatalogBase.CrossValidationResult<TMetrics>> LogCrossValidation<TMetrics>(IReadOnlyList<TrainCatalogBase.CrossValidationResult<TMetrics>> results, string prefix = "cv_")
        where TMetrics : class
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(prefix);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var run = TargetRun();
        var sums = new Dictionary<string, (double Sum, int Count)>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var fold in results)
        {
            var metrics = MLNetMetrics.ToMlflowMetrics(fold.Metrics, prefix);
            run.LogMetrics(metrics, step: fold.Fold);
            foreach (var (name, value) in metrics)
            {
                if (!sums.TryGetValue(name, out var entry))
                {
                    order.Add(name);
                }

                sums[name] = (entry.Sum + value, entry.Count + 1);
            }
        }

        run.LogMetrics(order.Select(name => KeyValuePair.Create(prefix + "mean_" + name[prefix.Length..], sums[name].Sum / sums[name].Count)));
        run.LogParam(prefix + "folds", results.Count);
        return results;
    }

    /// <summary>The messages collected so far (what is uploaded at the end).</summary>
    /// <returns>The text.</returns>
    public string GetMessages()
    {
        lock (_gate)
        {
            return GetMessagesCore();
        }
    }

    private string GetMessagesCore() =>
        _droppedMessages == 0
            ? _messages.ToString()
            : _messages + string.Create(CultureInfo.InvariantCulture, $"... {_droppedMessages} more messages not kept (MLNetAutologOptions.MaxMessageCharacters).\n");

    /// <summary>
    /// Stops listening, uploads the messages, logs the model when asked and flushes the run; a run the session started
    /// (on a client) is ended FINISHED.
    /// </summary>
    /// <returns>A task that completes when everything is sent.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_options.LogMessages)
        {
            _mlContext.Log -= OnLog;
        }

        await _runGate.WaitAsync().ConfigureAwait(false);
        try
        {
            await FinishRunAsync(RunStatus.Finished, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _runGate.Release();
        }
    }

    /// <summary>Makes <paramref name="run"/> the target; a new run starts its own params and fit count. Called under <c>_gate</c>.</summary>
    private void UseRun(MlflowRun run, bool owned)
    {
        if (!ReferenceEquals(_run, run))
        {
            _params.Clear();
            _fits = 0;
            _lastModel = null;
            _lastTrainingData = null;
            _lastLabelColumn = null;
        }

        Volatile.Write(ref _run, run);
        _ownsRun = owned;
    }

    /// <summary>The run evaluations go to.</summary>
    private MlflowRun TargetRun()
    {
        if (Volatile.Read(ref _run) is { } run)
        {
            return run;
        }

        var active = _client?.ActiveRun
            ?? throw new InvalidOperationException("This autologging session was started on a client and has recorded no fit yet, and no run is active: evaluations go to the run of the last FitAsync; fit first, or start a run (client.StartRunAsync).");
        lock (_gate)
        {
            UseRun(active, owned: false);
        }

        return active;
    }

    /// <summary>
    /// Uploads the messages and (when asked) the last model to the current run and flushes it; a run the session
    /// started is ended with <paramref name="status"/> and let go. Called under <c>_runGate</c>.
    /// </summary>
    private async Task FinishRunAsync(RunStatus status, CancellationToken cancellationToken)
    {
        MlflowRun? run;
        bool owned;
        ITransformer? model;
        IDataView? data;
        string? label;
        string text;
        lock (_gate)
        {
            (run, owned, model, data, label) = (_run, _ownsRun, _lastModel, _lastTrainingData, _lastLabelColumn);
            text = GetMessagesCore();
            _messages.Clear();
            _droppedMessages = 0;
        }

        if (run is null || run.IsEnded)
        {
            return;
        }

        try
        {
            if (_options.LogMessages && text.Length > 0)
            {
                await run.LogTextAsync(text, _options.MessagesArtifactPath, cancellationToken).ConfigureAwait(false);
            }

            if (_options.LogModel && status == RunStatus.Finished && model is not null && data is not null)
            {
                var modelOptions = _options.ModelOptions?.Invoke(data) ?? new MLNetModelOptions { InputData = data, ExcludeColumns = label is null ? null : [label] };
                LoggedModel = await run.LogMLNetModelAsync(_mlContext, model, modelOptions with { InputData = data }, cancellationToken).ConfigureAwait(false);
            }

            await run.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (owned)
            {
                await run.EndAsync(status, CancellationToken.None).ConfigureAwait(false);
                lock (_gate)
                {
                    _ownsRun = false;
                }
            }
        }
    }

    private static void LogParams(MlflowRun run, List<KeyValuePair<string, string>> fresh)
    {
        if (fresh.Count > 0)
        {
            run.LogParams(fresh);
        }
    }

    private void LogParams(MlflowRun run, IReadOnlyList<KeyValuePair<string, string>> values, int fit)
    {
        var fresh = new List<KeyValuePair<string, string>>();
        lock (_gate)
        {
            foreach (var (key, value) in values)
            {
                if (!_params.TryGetValue(key, out var existing))
                {
                    _params[key] = value;
                    fresh.Add(new(key, value));
                }
                else if (existing != value)
                {
                    var again = string.Create(CultureInfo.InvariantCulture, $"{key}_fit{fit}");
                    if (_params.TryAdd(again, value))
                    {
                        fresh.Add(new(again, value));
                    }
                }
            }
        }

        LogParams(run, fresh);
    }

    private void OnLog(object? sender, LoggingEventArgs e)
    {
        if (e.Kind < _options.MinimumMessageKind)
        {
            return;
        }

        lock (_gate)
        {
            if (_messages.Length + e.Message.Length + 1 > _options.MaxMessageCharacters)
            {
                _droppedMessages++;
                return;
            }

            _messages.Append(e.Message).Append('\n');
        }
    }
}

/// <summary>Starts ML.NET autologging.</summary>
public static class MLNetAutologExtensions
{
    /// <summary>
    /// Starts recording this context's training into <paramref name="run"/>: <c>Log</c> messages at once, and what goes
    /// through the session's <see cref="MLNetAutolog.Fit"/>, <see cref="MLNetAutolog.LogEvaluation"/> and
    /// <see cref="MLNetAutolog.LogCrossValidation"/>.
    /// <code>
    /// await using var autolog = mlContext.AutologToMlflow(run);
    /// var model = autolog.Fit(pipeline, split.TrainSet);
    /// autolog.LogEvaluation(mlContext.BinaryClassification.Evaluate(model.Transform(split.TestSet)));
    /// </code>
    /// </summary>
    /// <param name="mlContext">The context the pipeline is built from.</param>
    /// <param name="run">The run to record into.</param>
    /// <param name="options">What to record; <see langword="null"/> for the defaults.</param>
    /// <returns>The session; dispose it to upload the messages (and the model).</returns>
    public static MLNetAutolog AutologToMlflow(this MLContext mlContext, MlflowRun run, MLNetAutologOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(run);
        options ??= new MLNetAutologOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxMessageCharacters, nameof(options));
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options));
        if (run.IsEnded)
        {
            throw new ArgumentException($"Run {run.RunId} has ended; start autologging on an active run.", nameof(run));
        }

        return new MLNetAutolog(mlContext, run, null, options);
    }

    /// <summary>
    /// Starts autologging without a run, as Python's <c>mlflow.autolog()</c>: each <see cref="MLNetAutolog.FitAsync"/>
    /// records into the run active in the caller's flow or, when there is none, starts a run
    /// (<see cref="MLNetAutologOptions.RunOptions"/>, default: the client's default experiment) that receives the fit,
    /// the evaluations and cross-validations that follow, the messages and (with <see cref="MLNetAutologOptions.LogModel"/>)
    /// the model, and ends FINISHED at the next fit or when the session is disposed (FAILED if the fit throws).
    /// <code>
    /// await using var autolog = mlContext.AutologToMlflow(client);
    /// var model = await autolog.FitAsync(pipeline, split.TrainSet);
    /// autolog.LogEvaluation(mlContext.BinaryClassification.Evaluate(model.Transform(split.TestSet)));
    /// </code>
    /// </summary>
    /// <param name="mlContext">The context the pipeline is built from.</param>
    /// <param name="client">The client the runs go to.</param>
    /// <param name="options">What to record and how runs start; <see langword="null"/> for the defaults.</param>
    /// <returns>The session; dispose it to end the last run.</returns>
    public static MLNetAutolog AutologToMlflow(this MLContext mlContext, MlflowClient client, MLNetAutologOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(client);
        options ??= new MLNetAutologOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxMessageCharacters, nameof(options));
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options));
        return new MLNetAutolog(mlContext, null, client, options);
    }
}
