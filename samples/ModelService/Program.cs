// ModelService: an ASP.NET Core minimal API that serves the registered model models:/<Model:Name>@<Model:Alias>.
// The MLflow client comes from DI (AddMlflowClient bound to the "Mlflow" section of appsettings.json, which any
// configuration source can override, e.g. Mlflow__TrackingUri=http://host:5000; MLFLOW_TRACKING_URI is used when the
// section has no TrackingUri; with neither, ./mlflow.db of the directory you run from is used). At start-up the model is
// resolved through the registry, downloaded and loaded in the background by the library's ChampionModel (its mlnet flavor
// in ML.NET prediction engines, or with Model:Flavor=Onnx, or for a model without an mlnet flavor, its onnx flavor in ONNX
// Runtime); until then (or if that fails) /predict answers 503 and /health reports why. Every Model:PollInterval the alias
// is read again; when it has moved to another version, that version is loaded and swapped in without a restart, and if
// the new version cannot be loaded the old one keeps serving (GET /model shows the error).
//
//   dotnet run --project samples/TrainAndRegister      # once, to have a champion
//   dotnet run --project samples/ModelService --urls http://127.0.0.1:5080
//   curl http://127.0.0.1:5080/health ; curl http://127.0.0.1:5080/model
//   curl -X POST http://127.0.0.1:5080/predict -H 'Content-Type: application/json' -d '{"features": [[1, 1], [-1, -1]]}'
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using MLOpsDemo.Mlflow.MLNet;
using MLOpsDemo.Samples.ModelService;

// appsettings.json is read from the build output, whatever the working directory; ./mlflow.db stays relative to the
// directory `dotnet run` was typed in (RunWorkingDirectory in the project file).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.Services.AddMlflowClient(builder.Configuration.GetSection("Mlflow"));
builder.Services.Configure<ModelSettings>(builder.Configuration.GetSection("Model"));
builder.Services.AddSingleton(ChampionFactory.Create);
builder.Services.AddHostedService<ChampionStarter>();
builder.Services.AddHealthChecks()
    .AddMlflowHealthCheck()
    .AddCheck<ModelHealthCheck>("model");
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ServiceJson.Default));

var app = builder.Build();
app.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = HealthReportWriter.WriteAsync });
app.MapGet("/model", (ChampionModel<ServiceInput, ServiceOutput> champion) => ServedModelDescription.Describe(champion));
app.MapPost("/predict", (PredictRequest request, ChampionModel<ServiceInput, ServiceOutput> champion) =>
{
    if (!champion.IsLoaded)
    {
        return Results.Problem(champion.LastError ?? "The model is still loading; try again shortly (GET /health shows the progress).", statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    var features = ServedModelDescription.Features.Length;
    if (request.Features is not { Count: > 0 } rows || rows.Any(r => r is null || r.Count != features))
    {
        return Results.Problem($"'features' must be a non-empty list of rows with {features} numbers each, e.g. {{\"features\": [[1, 1], [-1, -1]]}}.", statusCode: StatusCodes.Status400BadRequest);
    }

    var inputs = rows.Select(r => new ServiceInput { X1 = r[0], X2 = r[1] }).ToList();
    return Results.Ok(new PredictResponse(champion.Predict(inputs).Select(o => o.Probability).ToList()));
});
app.Run();

namespace MLOpsDemo.Samples.ModelService
{
    /// <summary>The body of POST /predict.</summary>
    internal sealed record PredictRequest(IReadOnlyList<IReadOnlyList<float>>? Features);

    /// <summary>The answer of POST /predict: the probability of class 1 for each row.</summary>
    internal sealed record PredictResponse(IReadOnlyList<float> Probabilities);

    [JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
    [JsonSerializable(typeof(PredictRequest))]
    [JsonSerializable(typeof(PredictResponse))]
    [JsonSerializable(typeof(ModelDescription))]
    internal sealed partial class ServiceJson : JsonSerializerContext;

    /// <summary>
    /// Reports whether the model is loaded: Degraded while loading or while an older version serves because the alias's
    /// version could not be loaded, Unhealthy (with the reason) when nothing could be loaded.
    /// </summary>
    internal sealed class ModelHealthCheck(ChampionModel<ServiceInput, ServiceOutput> champion) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(champion.Current is { } served
                ? champion.LastError is { } last
                    ? HealthCheckResult.Degraded($"Serving {champion.Uri}: version {served.Version} ({served.Flavor}), but the last check failed: {last}")
                    : HealthCheckResult.Healthy($"Serving {champion.Uri}: version {served.Version} ({served.Flavor}).")
                : champion.LastError is { } error ? HealthCheckResult.Unhealthy(error) : HealthCheckResult.Degraded("The model is loading."));
    }

    /// <summary>Writes the health report as JSON: the overall status and each check's status and description.</summary>
    internal static class HealthReportWriter
    {
        public static async Task WriteAsync(HttpContext context, HealthReport report)
        {
            context.Response.ContentType = "application/json; charset=utf-8";
            await using var json = new Utf8JsonWriter(context.Response.Body, new JsonWriterOptions { Indented = true });
            json.WriteStartObject();
            json.WriteString("status", report.Status.ToString());
            json.WriteStartObject("checks");
            foreach (var (name, entry) in report.Entries)
            {
                json.WriteStartObject(name);
                json.WriteString("status", entry.Status.ToString());
                json.WriteString("description", entry.Description);
                json.WriteNumber("durationMs", Math.Round(entry.Duration.TotalMilliseconds, 1));
                json.WriteEndObject();
            }

            json.WriteEndObject();
            json.WriteEndObject();
            await json.FlushAsync(context.RequestAborted);
        }
    }
}
