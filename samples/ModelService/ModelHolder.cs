using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLOpsDemo.Mlflow;

namespace MLOpsDemo.Samples.ModelService;

/// <summary>Which registered model to serve (section "Model" of appsettings.json).</summary>
internal sealed class ModelSettings
{
    public string Name { get; set; } = "quickstart-classifier";

    public string Alias { get; set; } = "champion";

    /// <summary>How long to wait before trying again when the model could not be loaded (0 = never retry).</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(30);

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

/// <summary>
/// The loaded ONNX model, shared by the requests. The state is one immutable snapshot swapped atomically, so readers
/// never see a half-loaded model. ONNX Runtime's <see cref="InferenceSession.Run(IReadOnlyCollection{NamedOnnxValue})"/>
/// is safe to call concurrently.
/// </summary>
internal sealed class ModelHolder(IOptions<ModelSettings> settings) : IDisposable
{
    private State _state = new(null, 0, null, null, null);

    /// <summary>True once a model is loaded.</summary>
    public bool IsLoaded => Volatile.Read(ref _state).Session is not null;

    /// <summary>Why the last load failed, or <see langword="null"/>.</summary>
    public string? Error => Volatile.Read(ref _state).Error;

    /// <summary>How many features each input row has.</summary>
    public int FeatureCount => Volatile.Read(ref _state).FeatureCount;

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

    /// <summary>Loads the ONNX file of a downloaded model; throws (leaving the state unchanged) if ONNX Runtime cannot.</summary>
    public void Load(DownloadedModel model, string onnxFile, string downloadDirectory)
    {
        var session = new InferenceSession(onnxFile);
        var input = session.InputMetadata.Values.First();
        var features = input.Dimensions.Length == 2 && input.Dimensions[1] > 0 ? input.Dimensions[1] : 0;
        if (features == 0)
        {
            session.Dispose();
            throw new InvalidOperationException($"{model.Source.Uri}: the model's input must be [N, features] with a fixed number of features; it is [{string.Join(", ", input.Dimensions)}].");
        }

        var previous = Interlocked.Exchange(ref _state, new State(session, features, model, null, downloadDirectory));
        previous.Dispose();
    }

    public void Fail(string error)
    {
        var state = Volatile.Read(ref _state);
        if (state.Session is null)
        {
            Interlocked.CompareExchange(ref _state, state with { Error = error }, state);
        }
    }

    /// <summary>The probability of class 1 for each row; rows must have <see cref="FeatureCount"/> numbers.</summary>
    public float[] Predict(IReadOnlyList<IReadOnlyList<float>> rows)
    {
        var state = Volatile.Read(ref _state);
        var session = state.Session ?? throw new InvalidOperationException("The model is not loaded.");
        var input = new DenseTensor<float>([rows.Count, state.FeatureCount]);
        for (var i = 0; i < rows.Count; i++)
        {
            for (var j = 0; j < state.FeatureCount; j++)
            {
                input[i, j] = rows[i][j];
            }
        }

        var inputName = session.InputMetadata.Keys.First();
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(inputName, input)]);
        return results[0].AsEnumerable<float>().ToArray();
    }

    public void Dispose() => Interlocked.Exchange(ref _state, new State(null, 0, null, "The service is stopping.", null)).Dispose();

    private static JsonElement? Parse(string? json)
    {
        if (json is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    private sealed record State(InferenceSession? Session, int FeatureCount, DownloadedModel? Model, string? Error, string? DownloadDirectory) : IDisposable
    {
        public void Dispose()
        {
            Session?.Dispose();
            if (DownloadDirectory is not null && Directory.Exists(DownloadDirectory))
            {
                try
                {
                    Directory.Delete(DownloadDirectory, recursive: true);
                }
                catch (IOException)
                {
                    // A leftover temp folder is harmless.
                }
            }
        }
    }
}

/// <summary>
/// Resolves, downloads and loads the model in the background, so the host starts (and answers /health) at once. A
/// failure never stops the host: it is logged, reported by /health and /predict, and retried every
/// <see cref="ModelSettings.RetryInterval"/>.
/// </summary>
internal sealed partial class ModelLoader(MlflowClient client, ModelHolder holder, IOptions<ModelSettings> settings, ILogger<ModelLoader> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var uri = settings.Value.Uri;
        while (!stoppingToken.IsCancellationRequested)
        {
            if (await TryLoadAsync(uri, stoppingToken).ConfigureAwait(false) || settings.Value.RetryInterval <= TimeSpan.Zero)
            {
                return;
            }

            try
            {
                await Task.Delay(settings.Value.RetryInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<bool> TryLoadAsync(string uri, CancellationToken stoppingToken)
    {
        var directory = Path.Combine(Path.GetTempPath(), "mlflow-model-service", Guid.NewGuid().ToString("N"));
        try
        {
            var model = await client.Models.DownloadModelAsync(uri, directory, stoppingToken).ConfigureAwait(false);
            var onnx = model.GetDataPath() ?? throw new InvalidOperationException($"{uri} has no onnx flavor (flavors: {string.Join(", ", model.Model.Flavors.Keys)}); this service serves ONNX models.");
            holder.Load(model, onnx, directory);
            LogLoaded(logger, uri, model.Source.Version, model.Source.ArtifactUri);
            return true;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return true;
        }
#pragma warning disable CA1031 // Any failure (registry, transport, timeout, files, ONNX Runtime) must leave the service up and report it.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            var reason = ex is MlflowException ? ex.Message : $"{ex.GetType().Name}: {ex.Message}";
            holder.Fail($"Could not load {uri} from {client.TrackingUri} ({reason}). Run samples/TrainAndRegister first, or point Mlflow:TrackingUri (or MLFLOW_TRACKING_URI) at the right server.");
            LogFailed(logger, uri, client.TrackingUri, reason, settings.Value.RetryInterval);
            TryDelete(directory);
            return false;
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving {Uri} (version {Version}, from {ArtifactUri})")]
    private static partial void LogLoaded(ILogger logger, string uri, string? version, string artifactUri);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not load {Uri} from {TrackingUri}: {Reason}. Next try in {RetryInterval}.")]
    private static partial void LogFailed(ILogger logger, string uri, string trackingUri, string reason, TimeSpan retryInterval);
}
