using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLOpsDemo.Mlflow;
using MLOpsDemo.Mlflow.MLNet;

namespace MLOpsDemo.Samples.ModelService;

/// <summary>Which registered model to serve (section "Model" of appsettings.json).</summary>
internal sealed class ModelSettings
{
    public string Name { get; set; } = "quickstart-classifier";

    public string Alias { get; set; } = "champion";

    /// <summary>How long to wait before trying again when the model could not be loaded (0 = never retry).</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often to check whether the alias has moved to another version (0 = never).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    public string Uri => $"models:/{Name}@{Alias}";
}

/// <summary>The signature of the served model, as MLflow stores it (JSON arrays of column or tensor specs).</summary>
internal sealed record SignatureDescription(JsonElement? Inputs, JsonElement? Outputs);

/// <summary>What GET /model answers.</summary>
internal sealed record ModelDescription(
    string Uri,
    bool Loaded,
    string? Name,
    string? Version,
    string? RunId,
    string? ArtifactUri,
    IReadOnlyList<string> Flavors,
    SignatureDescription? Signature,
    string? Error);

/// <summary>The input of the served model: TrainAndRegister's two features.</summary>
internal sealed class ServiceInput
{
    public float X1 { get; set; }

    public float X2 { get; set; }
}

/// <summary>What the served model predicts.</summary>
internal sealed class ServiceOutput
{
    public float Probability { get; set; }
}

/// <summary>
/// The loaded ML.NET model, shared by the requests. The state is one immutable snapshot swapped atomically, so readers
/// never see a half-loaded model; a PredictionEngine is not thread-safe, so each snapshot's engine is used under its lock.
/// </summary>
internal sealed class ModelHolder(IOptions<ModelSettings> settings)
{
    /// <summary>The input columns the service can feed, in the order of a request's feature rows.</summary>
    public static readonly string[] Features = [nameof(ServiceInput.X1), nameof(ServiceInput.X2)];

    private State _state = new(null, null, null);

    /// <summary>True once a model is loaded.</summary>
    public bool IsLoaded => Volatile.Read(ref _state).Engine is not null;

    /// <summary>Why the last load failed, or <see langword="null"/>.</summary>
    public string? Error => Volatile.Read(ref _state).Error;

    /// <summary>How many features each input row has.</summary>
    public int FeatureCount => Features.Length;

    /// <summary>The registered version being served, or <see langword="null"/>.</summary>
    public string? Version => Volatile.Read(ref _state).Model?.Source.Version;

    public ModelDescription Describe()
    {
        var state = Volatile.Read(ref _state);
        if (state.Model is not { } model)
        {
            return new ModelDescription(settings.Value.Uri, false, settings.Value.Name, null, null, null, [], null, state.Error);
        }

        var signature = model.Model.Signature is { } s ? new SignatureDescription(Parse(s.InputsJson), Parse(s.OutputsJson)) : null;
        return new ModelDescription(
            model.Source.Uri,
            true,
            model.Source.Name,
            model.Source.Version,
            model.Model.RunId ?? model.Source.RunId,
            model.Source.ArtifactUri,
            model.Model.Flavors.Keys.ToList(),
            signature,
            null);
    }

    /// <summary>Checks the model's inputs and swaps it in; throws (leaving the state unchanged) if it cannot be served.</summary>
    public void Load(MLContext mlContext, MLNetModel model)
    {
        var columns = model.InputSchema.Where(c => !c.IsHidden).ToList();
        var usable = columns.Count == Features.Length && Features.All(f => model.InputSchema.GetColumnOrNull(f) is { Type: var t } && t == NumberDataViewType.Single);
        if (!usable)
        {
            throw new InvalidOperationException($"{model.Source.Uri}: this service feeds the float columns {string.Join(", ", Features)} (TrainAndRegister's model); the model's inputs are {string.Join(", ", columns.Select(c => $"{c.Name}: {c.Type}"))}.");
        }

        var engine = mlContext.Model.CreatePredictionEngine<ServiceInput, ServiceOutput>(model.Transformer);
        // The previous engine is left to the garbage collector: a request may still be using it.
        Interlocked.Exchange(ref _state, new State(engine, model, null));
    }

    public void Fail(string error)
    {
        var state = Volatile.Read(ref _state);
        if (state.Engine is null)
        {
            Interlocked.CompareExchange(ref _state, state with { Error = error }, state);
        }
    }

    /// <summary>The probability of class true for each row; rows must have <see cref="FeatureCount"/> numbers.</summary>
    public float[] Predict(IReadOnlyList<IReadOnlyList<float>> rows)
    {
        var state = Volatile.Read(ref _state);
        var engine = state.Engine ?? throw new InvalidOperationException("The model is not loaded.");
        var result = new float[rows.Count];
        lock (engine)
        {
            var output = new ServiceOutput();
            for (var i = 0; i < rows.Count; i++)
            {
                engine.Predict(new ServiceInput { X1 = rows[i][0], X2 = rows[i][1] }, ref output);
                result[i] = output.Probability;
            }
        }

        return result;
    }

    private static JsonElement? Parse(string? json)
    {
        if (json is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    private sealed record State(PredictionEngine<ServiceInput, ServiceOutput>? Engine, MLNetModel? Model, string? Error);
}

/// <summary>
/// Resolves and loads the model in the background, so the host starts (and answers /health) at once, then polls the
/// alias and swaps in the new version when it moves. A failure never stops the host: it is logged, reported by /health
/// and /predict (until a first model is loaded; afterwards the current one keeps serving), and retried every
/// <see cref="ModelSettings.RetryInterval"/>.
/// </summary>
internal sealed partial class ModelLoader(MlflowClient client, ModelHolder holder, IOptions<ModelSettings> settings, ILogger<ModelLoader> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var uri = settings.Value.Uri;
        while (!stoppingToken.IsCancellationRequested)
        {
            var loaded = await TryLoadAsync(uri, stoppingToken).ConfigureAwait(false);
            var wait = loaded ? settings.Value.PollInterval : settings.Value.RetryInterval;
            if (wait <= TimeSpan.Zero)
            {
                return;
            }

            // Wait, then load again only when the alias points at another version than the one served.
            do
            {
                try
                {
                    await Task.Delay(wait, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            while (holder.IsLoaded && !await AliasMovedAsync(stoppingToken).ConfigureAwait(false));
        }
    }

    private async Task<bool> AliasMovedAsync(CancellationToken stoppingToken)
    {
        try
        {
            var version = await client.ModelRegistry.GetVersionByAliasAsync(settings.Value.Name, settings.Value.Alias, stoppingToken).ConfigureAwait(false);
            if (version.Version == holder.Version)
            {
                return false;
            }

            LogAliasMoved(logger, settings.Value.Uri, holder.Version, version.Version);
            return true;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return false;
        }
#pragma warning disable CA1031 // A failed poll keeps the current model serving; the next poll tries again.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogPollFailed(logger, settings.Value.Uri, ex.Message);
            return false;
        }
    }

    private async Task<bool> TryLoadAsync(string uri, CancellationToken stoppingToken)
    {
        try
        {
            var mlContext = new MLContext();
            var model = await client.Models.LoadMLNetModelAsync(uri, mlContext, stoppingToken).ConfigureAwait(false);
            holder.Load(mlContext, model);
            LogLoaded(logger, uri, model.Source.Version, model.Source.ArtifactUri);
            return true;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return true;
        }
#pragma warning disable CA1031 // Any failure (registry, transport, timeout, files, ML.NET) must leave the service up and report it.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            var reason = ex is MlflowException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";
            holder.Fail($"Could not load {uri} from {client.TrackingUri} ({reason}). Run samples/TrainAndRegister first, or point Mlflow:TrackingUri (or MLFLOW_TRACKING_URI) at the right server.");
            LogFailed(logger, uri, client.TrackingUri, reason, settings.Value.RetryInterval);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving {Uri} (version {Version}, from {ArtifactUri})")]
    private static partial void LogLoaded(ILogger logger, string uri, string? version, string artifactUri);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Uri} moved from version {Previous} to {Current}; loading it")]
    private static partial void LogAliasMoved(ILogger logger, string uri, string? previous, string current);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not check {Uri} for a new version ({Reason}); still serving the current one")]
    private static partial void LogPollFailed(ILogger logger, string uri, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not load {Uri} from {TrackingUri}: {Reason}. Next try in {RetryInterval}.")]
    private static partial void LogFailed(ILogger logger, string uri, string trackingUri, string reason, TimeSpan retryInterval);
}
