using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML;

namespace MLOpsDemo.Mlflow.MLNet;

#pragma warning disable SA1402 // the watcher, its options and what it reports belong together

/// <summary>Which flavor of the registered model <see cref="ChampionModel{TIn, TOut}"/> serves.</summary>
public enum ServingFlavor
{
    /// <summary>The <c>mlnet</c> flavor when the model has it, else the <c>onnx</c> flavor (e.g. a model logged by Python).</summary>
    Auto,

    /// <summary>Only the <c>mlnet</c> flavor, with ML.NET prediction engines.</summary>
    MLNet,

    /// <summary>Only the <c>onnx</c> flavor, with ONNX Runtime (the application needs the <c>Microsoft.ML.OnnxRuntime</c> package).</summary>
    Onnx,
}

/// <summary>How <see cref="ChampionModel{TIn, TOut}"/> watches the alias and loads the model.</summary>
public sealed record ChampionModelOptions
{
    /// <summary>
    /// How often the alias is read again (and, while no model is loaded, the load retried). Default 30 s;
    /// <see cref="Timeout.InfiniteTimeSpan"/> loads once and never polls.
    /// </summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The flavor to serve. Default <see cref="ServingFlavor.Auto"/>.</summary>
    public ServingFlavor Flavor { get; init; } = ServingFlavor.Auto;

    /// <summary>The clock of the poll timer (tests substitute a fake one). Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Where loads, alias moves and failures are reported. Default none.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Creates the ML.NET context each <c>mlnet</c> model is loaded into. Default <c>new MLContext()</c>.</summary>
    public Func<MLContext>? MLContextFactory { get; init; }
}

/// <summary>The model version being served.</summary>
public sealed record ServedModel
{
    /// <summary>The registered version, e.g. <c>3</c>.</summary>
    public required string Version { get; init; }

    /// <summary>The URI it was loaded from, <c>models:/&lt;name&gt;/&lt;version&gt;</c>.</summary>
    public required string Uri { get; init; }

    /// <summary>The flavor served: <c>mlnet</c> or <c>onnx</c>.</summary>
    public required string Flavor { get; init; }

    /// <summary>The parsed <c>MLmodel</c> (flavors, signature, run id).</summary>
    public required MlflowModel Model { get; init; }

    /// <summary>How the URI was resolved (registered name and version, run, artifact URI).</summary>
    public required ResolvedModelUri Source { get; init; }

    /// <summary>When it was swapped in (from <see cref="ChampionModelOptions.TimeProvider"/>).</summary>
    public required DateTimeOffset LoadedAt { get; init; }
}

/// <summary>What one check of the alias did.</summary>
public enum ChampionModelPollOutcome
{
    /// <summary>The alias still points at the served version.</summary>
    Unchanged,

    /// <summary>The alias pointed at another version, which was loaded and swapped in.</summary>
    Loaded,

    /// <summary>The version the alias points at could not be loaded; the previous model (if any) keeps serving.</summary>
    LoadFailed,

    /// <summary>The alias could not be read (registry or transport error); the current model keeps serving.</summary>
    CheckFailed,
}

/// <summary>The result of one check of the alias (<see cref="ChampionModel{TIn, TOut}.PollAsync"/> and <see cref="ChampionModel{TIn, TOut}.Polled"/>).</summary>
public sealed class ChampionModelPolledEventArgs : EventArgs
{
    internal ChampionModelPolledEventArgs(ChampionModelPollOutcome outcome, string? version, string? previousVersion, Exception? error)
    {
        Outcome = outcome;
        Version = version;
        PreviousVersion = previousVersion;
        Error = error;
    }

    /// <summary>What happened.</summary>
    public ChampionModelPollOutcome Outcome { get; }

    /// <summary>The version the alias pointed at, or <see langword="null"/> when it could not be read.</summary>
    public string? Version { get; }

    /// <summary>The version served before the check, or <see langword="null"/>.</summary>
    public string? PreviousVersion { get; }

    /// <summary>Why the check or the load failed, else <see langword="null"/>.</summary>
    public Exception? Error { get; }
}

/// <summary>
/// Serves the registered model an alias points at (<c>models:/name@champion</c>) and follows the alias: every
/// <see cref="ChampionModelOptions.PollInterval"/> (on <see cref="ChampionModelOptions.TimeProvider"/>'s timer) the
/// alias is read through the client; when it points at another version, that version is downloaded and loaded
/// (its <c>mlnet</c> flavor in ML.NET prediction engines, or its <c>onnx</c> flavor in ONNX Runtime, see
/// <see cref="ServingFlavor"/>), and swapped in atomically. A version that fails to load (download error, wrong flavor,
/// inputs <typeparamref name="TIn"/> cannot feed) is reported to the logger and <see cref="LastError"/>, and the
/// previous model keeps serving; the next poll tries again. <see cref="Predict(TIn)"/> is thread-safe and never sees
/// a half-loaded model; a replaced model is disposed once the predictions using it have finished.
/// <code>
/// await using var champion = new ChampionModel&lt;ChurnInput, ChurnPrediction&gt;(client, "churn", "champion");
/// await champion.StartAsync();
/// var prediction = champion.Predict(new ChurnInput { X1 = 1, X2 = 2 });
/// </code>
/// </summary>
/// <typeparam name="TIn">The input row type: ML.NET input columns, or ONNX graph inputs, by property name.</typeparam>
/// <typeparam name="TOut">The output type: ML.NET output columns, or ONNX graph outputs (<c>name</c> or <c>name.output</c>).</typeparam>
public sealed class ChampionModel<TIn, TOut> : IAsyncDisposable
    where TIn : class
    where TOut : class, new()
{
    private readonly MlflowClient _client;
    private readonly ChampionModelOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _pollGate = new(1, 1);
    private readonly CancellationTokenSource _disposing = new();
    private readonly object _timerLock = new();
    private Snapshot? _current;
    private ITimer? _timer;
    private string? _lastError;
    private int _started;
    private volatile bool _disposed;
    private int _pollsStarted;

    /// <summary>Creates the watcher; nothing is loaded until <see cref="StartAsync"/>.</summary>
    /// <param name="client">The client whose registry holds the model.</param>
    /// <param name="modelName">The registered model name.</param>
    /// <param name="alias">The alias to follow. Default <c>champion</c>.</param>
    /// <param name="options">Polling, flavor, clock and logger; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentException">A name or an option is invalid.</exception>
    public ChampionModel(MlflowClient client, string modelName, string alias = "champion", ChampionModelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelName);
        ArgumentException.ThrowIfNullOrWhiteSpace(alias);
        options ??= new ChampionModelOptions();
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options));
        if (options.PollInterval <= TimeSpan.Zero && options.PollInterval != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException($"ChampionModelOptions.PollInterval is {options.PollInterval}; use a positive interval, or Timeout.InfiniteTimeSpan to load once and never poll.", nameof(options));
        }

        if (!Enum.IsDefined(options.Flavor))
        {
            throw new ArgumentException($"ChampionModelOptions.Flavor {(int)options.Flavor} is not a ServingFlavor (Auto, MLNet, Onnx).", nameof(options));
        }

        _client = client;
        ModelName = modelName;
        Alias = alias;
        _options = options;
        _logger = options.Logger ?? NullLogger.Instance;
    }

    /// <summary>Raised after every check of the alias (from <see cref="StartAsync"/>, the timer or <see cref="PollAsync"/>).</summary>
    public event EventHandler<ChampionModelPolledEventArgs>? Polled;

    /// <summary>The registered model name.</summary>
    public string ModelName { get; }

    /// <summary>The alias followed.</summary>
    public string Alias { get; }

    /// <summary>The URI followed, <c>models:/&lt;name&gt;@&lt;alias&gt;</c>.</summary>
    public string Uri => $"models:/{ModelName}@{Alias}";

    /// <summary>The model being served, or <see langword="null"/> before the first successful load.</summary>
    public ServedModel? Current => Volatile.Read(ref _current)?.Info;

    /// <summary>Whether a model is being served.</summary>
    public bool IsLoaded => Volatile.Read(ref _current) is not null;

    /// <summary>Why the last check or load failed (cleared by the next successful one), or <see langword="null"/>.</summary>
    public string? LastError => Volatile.Read(ref _lastError);

    /// <summary>How many timer polls were started (tests).</summary>
    internal int PollsStarted => Volatile.Read(ref _pollsStarted);

    /// <summary>
    /// Loads the version the alias points at (a failure is logged and kept in <see cref="LastError"/>, not thrown),
    /// then starts the poll timer. Call once.
    /// </summary>
    /// <param name="cancellationToken">Cancels the first load (nothing is started then; call again).</param>
    /// <returns>The result of the first check.</returns>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    public async Task<ChampionModelPolledEventArgs> StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException($"The ChampionModel for {Uri} is already started.");
        }

        ChampionModelPolledEventArgs result;
        try
        {
            await _pollGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                result = await PollCoreAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _pollGate.Release();
            }
        }
        catch (OperationCanceledException)
        {
            Volatile.Write(ref _started, 0);
            throw;
        }

        ArmTimer(create: true);
        Polled?.Invoke(this, result);
        return result;
    }

    /// <summary>Checks the alias now (as the timer does) and swaps in the version it points at if that is another one.</summary>
    /// <param name="cancellationToken">Cancels the check and the load.</param>
    /// <returns>What the check did.</returns>
    public async Task<ChampionModelPolledEventArgs> PollAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        ChampionModelPolledEventArgs result;
        await _pollGate.WaitAsync(linked.Token).ConfigureAwait(false);
        try
        {
            result = await PollCoreAsync(linked.Token).ConfigureAwait(false);
        }
        finally
        {
            _pollGate.Release();
        }

        Polled?.Invoke(this, result);
        return result;
    }

    /// <summary>Predicts one row with the served model.</summary>
    /// <param name="input">The input row.</param>
    /// <returns>The prediction.</returns>
    /// <exception cref="InvalidOperationException">No model is loaded yet (the message says why, when a load failed).</exception>
    public TOut Predict(TIn input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return Predict([input])[0];
    }

    /// <summary>Predicts rows with the served model (all with the same version, even if a swap happens meanwhile).</summary>
    /// <param name="inputs">The input rows.</param>
    /// <returns>One prediction per row.</returns>
    /// <exception cref="InvalidOperationException">No model is loaded yet (the message says why, when a load failed).</exception>
    public TOut[] Predict(IReadOnlyList<TIn> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (true)
        {
            var snapshot = Volatile.Read(ref _current)
                ?? throw new InvalidOperationException($"No model of {Uri} is loaded yet" + (LastError is { } error ? $": {error}" : "; call StartAsync and wait for the first load."));
            if (!snapshot.TryAcquire())
            {
                continue; // swapped out and released meanwhile: read the new one
            }

            try
            {
                return snapshot.Predictor.Predict(inputs);
            }
            finally
            {
                snapshot.Release();
            }
        }
    }

    /// <summary>Stops polling, waits for a running check to end, and disposes the served model.</summary>
    /// <returns>A task that completes when everything is released.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        lock (_timerLock)
        {
            _timer?.Dispose();
            _timer = null;
        }

        await _disposing.CancelAsync().ConfigureAwait(false);
        await _pollGate.WaitAsync().ConfigureAwait(false);
        Interlocked.Exchange(ref _current, null)?.Release();
        _pollGate.Release();
        _pollGate.Dispose();
        _disposing.Dispose();
    }

    private void ArmTimer(bool create)
    {
        if (_options.PollInterval == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        lock (_timerLock)
        {
            if (_disposed)
            {
                return;
            }

            if (create)
            {
                _timer = _options.TimeProvider.CreateTimer(_ => OnTimer(), null, _options.PollInterval, Timeout.InfiniteTimeSpan);
            }
            else
            {
                _timer?.Change(_options.PollInterval, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void OnTimer()
    {
        if (_disposed)
        {
            return;
        }

        Interlocked.Increment(ref _pollsStarted);
        _ = TimerPollAsync();
    }

    private async Task TimerPollAsync()
    {
        ChampionModelPolledEventArgs? result = null;
        try
        {
            var token = _disposing.Token;
            await _pollGate.WaitAsync(token).ConfigureAwait(false);
            try
            {
                result = await PollCoreAsync(token).ConfigureAwait(false);
            }
            finally
            {
                _pollGate.Release();
            }
        }
        catch (OperationCanceledException)
        {
            return; // disposing
        }
        catch (ObjectDisposedException)
        {
            return; // disposed while the callback was on its way
        }

        // Re-armed before the event, so that an observer reacting to it finds the next poll scheduled.
        ArmTimer(create: false);
        Polled?.Invoke(this, result);
    }

    /// <summary>Reads the alias; loads and swaps when it moved. Never throws but for cancellation.</summary>
    private async Task<ChampionModelPolledEventArgs> PollCoreAsync(CancellationToken cancellationToken)
    {
        var previous = Volatile.Read(ref _current)?.Info.Version;
        string version;
        try
        {
            version = (await _client.ModelRegistry.GetVersionByAliasAsync(ModelName, Alias, cancellationToken).ConfigureAwait(false)).Version;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // A failed check keeps the current model serving; the next poll tries again.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            var message = $"Could not read {Uri} from {_client.TrackingUri}: {Reason(ex)}";
            Volatile.Write(ref _lastError, message);
            ChampionModelLog.CheckFailed(_logger, message, previous);
            return new ChampionModelPolledEventArgs(ChampionModelPollOutcome.CheckFailed, null, previous, ex);
        }

        if (version == previous)
        {
            Volatile.Write(ref _lastError, null);
            return new ChampionModelPolledEventArgs(ChampionModelPollOutcome.Unchanged, version, previous, null);
        }

        if (previous is not null)
        {
            ChampionModelLog.AliasMoved(_logger, Uri, previous, version);
        }

        try
        {
            var snapshot = await LoadAsync(version, cancellationToken).ConfigureAwait(false);
            if (_disposed)
            {
                snapshot.Release();
                throw new OperationCanceledException("The ChampionModel was disposed while loading.", cancellationToken);
            }

            Interlocked.Exchange(ref _current, snapshot)?.Release();
            Volatile.Write(ref _lastError, null);
            ChampionModelLog.Loaded(_logger, Uri, version, snapshot.Info.Flavor, snapshot.Info.Source.ArtifactUri);
            return new ChampionModelPolledEventArgs(ChampionModelPollOutcome.Loaded, version, previous, null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested || _disposed)
        {
            throw;
        }
#pragma warning disable CA1031 // Any failure (registry, transport, files, ML.NET, ONNX Runtime) keeps the previous model serving.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            var message = $"Could not load version {version} of {Uri}: {Reason(ex)}" + (previous is null ? "" : $" Still serving version {previous}.");
            Volatile.Write(ref _lastError, message);
            ChampionModelLog.LoadFailed(_logger, ex, message);
            return new ChampionModelPolledEventArgs(ChampionModelPollOutcome.LoadFailed, version, previous, ex);
        }
    }

    private async Task<Snapshot> LoadAsync(string version, CancellationToken cancellationToken)
    {
        var uri = $"models:/{ModelName}/{version}";
        var directory = Path.Combine(Path.GetTempPath(), "mlflow-champion-" + Guid.NewGuid().ToString("N"));
        try
        {
            var downloaded = await _client.Models.DownloadModelAsync(uri, directory, cancellationToken).ConfigureAwait(false);
            var model = downloaded.Model;
            var hasMLNet = model.GetFlavor(MLNetFlavor.FlavorName) is not null;
            var hasOnnx = model.GetFlavor(OnnxFlavor.FlavorName) is not null;
            var flavor = _options.Flavor switch
            {
                ServingFlavor.MLNet when hasMLNet => MLNetFlavor.FlavorName,
                ServingFlavor.Onnx when hasOnnx => OnnxFlavor.FlavorName,
                ServingFlavor.Auto when hasMLNet => MLNetFlavor.FlavorName,
                ServingFlavor.Auto when hasOnnx => OnnxFlavor.FlavorName,
                _ => throw new InvalidOperationException(
                    $"{uri} has no flavor this server can serve with ServingFlavor.{_options.Flavor} (its flavors: {(model.Flavors.Count == 0 ? "none" : string.Join(", ", model.Flavors.Keys.Order(StringComparer.Ordinal)))}); "
                    + "ML.NET serves 'mlnet', ONNX Runtime serves 'onnx'."),
            };
            var file = downloaded.GetDataPath(flavor);
            if (file is null || !File.Exists(file))
            {
                throw new InvalidOperationException($"{uri}: the {flavor} flavor names '{model.GetFlavor(flavor)!.GetString("data")}', which the model directory does not contain.");
            }

            var bytes = await File.ReadAllBytesAsync(file, cancellationToken).ConfigureAwait(false);
            IModelPredictor<TIn, TOut> predictor;
            if (flavor == MLNetFlavor.FlavorName)
            {
                var mlContext = _options.MLContextFactory?.Invoke() ?? new MLContext();
                using var stream = new MemoryStream(bytes, writable: false);
                var transformer = mlContext.Model.Load(stream, out _);
                predictor = CreateMLNet(mlContext, transformer, uri);
            }
            else
            {
                predictor = OnnxPredictor<TIn, TOut>.Create(bytes, uri);
            }

            var info = new ServedModel { Version = version, Uri = uri, Flavor = flavor, Model = model, Source = downloaded.Source, LoadedAt = _options.TimeProvider.GetUtcNow() };
            return new Snapshot(info, predictor);
        }
        finally
        {
            MLNetModels.TryDelete(directory);
        }
    }

    private static MLNetPredictor<TIn, TOut> CreateMLNet(MLContext mlContext, ITransformer transformer, string uri)
    {
        try
        {
            return new MLNetPredictor<TIn, TOut>(mlContext, transformer);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            (transformer as IDisposable)?.Dispose();
            throw new InvalidOperationException($"{uri}: {typeof(TIn).Name} cannot feed the model or {typeof(TOut).Name} cannot take its outputs: {ex.Message}", ex);
        }
    }

    private static string Reason(Exception ex) => ex is MlflowException or InvalidOperationException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";

    /// <summary>
    /// One loaded version. The holder owns one reference; each prediction takes one while it runs. The predictor is
    /// disposed when the count drops to zero, i.e. when the version was swapped out and its last prediction ended.
    /// </summary>
    private sealed class Snapshot(ServedModel info, IModelPredictor<TIn, TOut> predictor)
    {
        private int _references = 1;

        public ServedModel Info { get; } = info;

        public IModelPredictor<TIn, TOut> Predictor { get; } = predictor;

        public bool TryAcquire()
        {
            while (true)
            {
                var count = Volatile.Read(ref _references);
                if (count == 0)
                {
                    return false;
                }

                if (Interlocked.CompareExchange(ref _references, count + 1, count) == count)
                {
                    return true;
                }
            }
        }

        public void Release()
        {
            if (Interlocked.Decrement(ref _references) == 0)
            {
                Predictor.Dispose();
            }
        }
    }
}

/// <summary>Log messages of <see cref="ChampionModel{TIn, TOut}"/>.</summary>
internal static partial class ChampionModelLog
{
    [LoggerMessage(EventId = 7201, Level = LogLevel.Information, Message = "Serving {Uri}: version {Version} ({Flavor} flavor, from {ArtifactUri})")]
    public static partial void Loaded(ILogger logger, string uri, string version, string flavor, string artifactUri);

    [LoggerMessage(EventId = 7202, Level = LogLevel.Information, Message = "{Uri} moved from version {Previous} to {Current}; loading it")]
    public static partial void AliasMoved(ILogger logger, string uri, string previous, string current);

    [LoggerMessage(EventId = 7203, Level = LogLevel.Warning, Message = "{Message} (serving version {Serving})")]
    public static partial void CheckFailed(ILogger logger, string message, string? serving);

    [LoggerMessage(EventId = 7204, Level = LogLevel.Error, Message = "{Message}")]
    public static partial void LoadFailed(ILogger logger, Exception exception, string message);
}
