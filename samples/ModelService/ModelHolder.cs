using System.Text.Json;
using Microsoft.Extensions.Options;
using MLOpsDemo.Mlflow;
using MLOpsDemo.Mlflow.MLNet;

namespace MLOpsDemo.Samples.ModelService;

/// <summary>Which registered model to serve (section "Model" of appsettings.json).</summary>
internal sealed class ModelSettings
{
    public string Name { get; set; } = "quickstart-classifier";

    public string Alias { get; set; } = "champion";

    /// <summary>How often the alias is read again (and, while nothing is loaded, the load retried); 0 = load once.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Auto (mlnet if the model has it, else onnx), MLNet or Onnx (ONNX Runtime).</summary>
    public ServingFlavor Flavor { get; set; } = ServingFlavor.Auto;

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
    string? Flavor,
    string? RunId,
    string? ArtifactUri,
    IReadOnlyList<string> Flavors,
    SignatureDescription? Signature,
    string? Error);

/// <summary>The input of the served model: TrainAndRegister's two features (ML.NET input columns, or ONNX graph inputs).</summary>
internal sealed class ServiceInput
{
    public float X1 { get; set; }

    public float X2 { get; set; }
}

/// <summary>What the served model predicts (ML.NET output column, or the ONNX output <c>Probability.output</c>).</summary>
internal sealed class ServiceOutput
{
    public float Probability { get; set; }
}

/// <summary>
/// The served model: the library's <see cref="ChampionModel{TIn, TOut}"/> follows <c>models:/&lt;name&gt;@&lt;alias&gt;</c>,
/// swaps in a new version when the alias moves and keeps the old one serving when the new one fails to load.
/// </summary>
internal static class ServedModelDescription
{
    /// <summary>The input columns the service feeds, in the order of a request's feature rows.</summary>
    public static readonly string[] Features = [nameof(ServiceInput.X1), nameof(ServiceInput.X2)];

    public static ModelDescription Describe(ChampionModel<ServiceInput, ServiceOutput> champion)
    {
        if (champion.Current is not { } served)
        {
            return new ModelDescription(champion.Uri, false, champion.ModelName, null, null, null, null, [], null, champion.LastError);
        }

        var signature = served.Model.Signature is { } s ? new SignatureDescription(Parse(s.InputsJson), Parse(s.OutputsJson)) : null;
        return new ModelDescription(
            served.Uri,
            true,
            champion.ModelName,
            served.Version,
            served.Flavor,
            served.Model.RunId ?? served.Source.RunId,
            served.Source.ArtifactUri,
            served.Model.Flavors.Keys.ToList(),
            signature,
            champion.LastError);
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
}

/// <summary>
/// Starts the champion in the background, so the host starts (and answers /health) at once. A failed load never stops
/// the host: it is logged, reported by /health and /predict (until a first model is loaded; afterwards the current one
/// keeps serving), and retried at every poll. The DI container disposes the champion (and stops its timer) at shutdown.
/// </summary>
internal sealed class ChampionStarter(ChampionModel<ServiceInput, ServiceOutput> champion) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await champion.StartAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down before the first load finished.
        }
    }
}

/// <summary>Builds the champion from the settings and the DI services.</summary>
internal static class ChampionFactory
{
    public static ChampionModel<ServiceInput, ServiceOutput> Create(IServiceProvider services)
    {
        var settings = services.GetRequiredService<IOptions<ModelSettings>>().Value;
        return new ChampionModel<ServiceInput, ServiceOutput>(
            services.GetRequiredService<MlflowClient>(),
            settings.Name,
            settings.Alias,
            new ChampionModelOptions
            {
                PollInterval = settings.PollInterval <= TimeSpan.Zero ? Timeout.InfiniteTimeSpan : settings.PollInterval,
                Flavor = settings.Flavor,
                Logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("MLOpsDemo.Samples.ModelService.Champion"),
            });
    }
}
