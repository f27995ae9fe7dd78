// ModelService: an ASP.NET Core minimal API that serves the registered model models:/<Model:Name>@<Model:Alias>.
// The MLflow client comes from DI (AddMlflowClient bound to the "Mlflow" section; MLFLOW_TRACKING_URI and the other
// MLFLOW_* variables apply when the section leaves them out; with neither, ./mlflow.db is used). At start-up the model
// is resolved through the registry, downloaded and loaded with ONNX Runtime.
//
//   dotnet run --project samples/TrainAndRegister      # once, to have a champion
//   dotnet run --project samples/ModelService --urls http://127.0.0.1:5080
//   curl http://127.0.0.1:5080/health ; curl http://127.0.0.1:5080/model
//   curl -X POST http://127.0.0.1:5080/predict -H 'Content-Type: application/json' -d '{"features": [[1, 1], [-1, -1]]}'
using System.Text.Json.Serialization;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using MLOpsDemo.Samples.ModelService;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddMlflowClient(builder.Configuration.GetSection("Mlflow"));
builder.Services.Configure<ModelSettings>(builder.Configuration.GetSection("Model"));
builder.Services.AddSingleton<ModelHolder>();
builder.Services.AddHostedService<ModelLoader>();
builder.Services.AddHealthChecks()
    .AddMlflowHealthCheck()
    .AddCheck<ModelHealthCheck>("model");
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, ServiceJson.Default));

var app = builder.Build();
app.MapHealthChecks("/health");
app.MapGet("/model", (ModelHolder holder) => holder.Describe());
app.MapPost("/predict", (PredictRequest request, ModelHolder holder) =>
{
    if (holder.Session is null)
    {
        return Results.Problem(holder.Error ?? "The model is still loading.", statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    if (request.Features is not { Count: > 0 } rows || rows.Any(r => r.Count != holder.FeatureCount))
    {
        return Results.Problem($"'features' must be a non-empty list of rows with {holder.FeatureCount} numbers each.", statusCode: StatusCodes.Status400BadRequest);
    }

    return Results.Ok(new PredictResponse(holder.Predict(rows)));
});
app.Run();

namespace MLOpsDemo.Samples.ModelService
{
    /// <summary>The body of POST /predict.</summary>
    internal sealed record PredictRequest(IReadOnlyList<IReadOnlyList<float>> Features);

    /// <summary>The answer of POST /predict.</summary>
    internal sealed record PredictResponse(IReadOnlyList<float> Probabilities);

    [JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
    [JsonSerializable(typeof(PredictRequest))]
    [JsonSerializable(typeof(PredictResponse))]
    [JsonSerializable(typeof(ModelDescription))]
    internal sealed partial class ServiceJson : JsonSerializerContext;

    /// <summary>Reports whether the model is loaded.</summary>
    internal sealed class ModelHealthCheck(ModelHolder holder) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(holder.Session is not null
                ? HealthCheckResult.Healthy($"Serving {holder.Describe().Uri}")
                : holder.Error is null ? HealthCheckResult.Degraded("The model is loading.") : HealthCheckResult.Unhealthy(holder.Error));
    }
}
