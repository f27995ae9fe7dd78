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
}

/// <summary>What GET /model answers.</summary>
internal sealed record ModelDescription(string Uri, string? Version, string? RunId, IReadOnlyList<string> Flavors, string? Signature, bool Loaded, string? Error);

/// <summary>The loaded ONNX model, shared by the requests.</summary>
internal sealed class ModelHolder : IDisposable
{
    private readonly Lock _gate = new();

    public InferenceSession? Session { get; private set; }

    public string? Error { get; private set; }

    public int FeatureCount { get; private set; }

    public ModelDescription Description { get; private set; } = new("(not resolved)", null, null, [], null, false, null);

    public ModelDescription Describe() => Description with { Loaded = Session is not null, Error = Error };

    public void Load(DownloadedModel model, string onnxFile)
    {
        var session = new InferenceSession(onnxFile);
        var input = session.InputMetadata.Values.First();
        lock (_gate)
        {
            Session = session;
            FeatureCount = input.Dimensions[^1];
            Description = new ModelDescription(model.Source.Uri, model.Source.Version, model.Model.RunId, model.Model.Flavors.Keys.ToList(), model.Model.Signature is { } s ? $"inputs: {s.InputsJson}; outputs: {s.OutputsJson}" : null, true, null);
            Error = null;
        }
    }

    public void Fail(string error) => Error = error;

    public IReadOnlyList<float> Predict(IReadOnlyList<IReadOnlyList<float>> rows)
    {
        var session = Session!;
        var input = new DenseTensor<float>([rows.Count, FeatureCount]);
        for (var i = 0; i < rows.Count; i++)
        {
            for (var j = 0; j < FeatureCount; j++)
            {
                input[i, j] = rows[i][j];
            }
        }

        var inputName = session.InputMetadata.Keys.First();
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(inputName, input)]);
        return results[0].AsEnumerable<float>().ToArray();
    }

    public void Dispose() => Session?.Dispose();
}

/// <summary>Resolves, downloads and loads the model at start-up without blocking the host.</summary>
internal sealed partial class ModelLoader(MlflowClient client, ModelHolder holder, IOptions<ModelSettings> settings, ILogger<ModelLoader> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var uri = $"models:/{settings.Value.Name}@{settings.Value.Alias}";
        try
        {
            var directory = Path.Combine(Path.GetTempPath(), "mlflow-model-service", Guid.NewGuid().ToString("N"));
            var model = await client.ModelRegistry.DownloadModelAsync(uri, directory, stoppingToken);
            var onnx = model.GetDataPath() ?? throw new InvalidOperationException($"{uri} has no onnx flavor; this service serves ONNX models.");
            holder.Load(model, onnx);
            LogLoaded(logger, uri, model.Source.Version);
        }
        catch (Exception ex) when (ex is MlflowException or InvalidOperationException or IOException or NotSupportedException or OnnxRuntimeException)
        {
            holder.Fail($"Could not load {uri} from {client.TrackingUri}: {ex.Message}. Run samples/TrainAndRegister first, or point Mlflow:TrackingUri at the right server.");
            LogFailed(logger, uri, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving {Uri} (version {Version})")]
    private static partial void LogLoaded(ILogger logger, string uri, string? version);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not load {Uri}: {Error}")]
    private static partial void LogFailed(ILogger logger, string uri, string error);
}
