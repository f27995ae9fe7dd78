using System.Text.Json.Serialization;
using MLOpsDemo.Mlflow.Rest;

namespace MLOpsDemo.Mlflow.Serialization;

/// <summary>
/// The one source-generated JSON context of the library: every request, response and error type. Other parts of the
/// library add types in their own partial declarations (e.g. <c>MlflowJsonContext.Registry.cs</c>).
/// NaN and ±Infinity are written as the strings MLflow expects and read back from strings; int64 values are also
/// accepted as strings (Databricks sends them so).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals,
    PropertyNameCaseInsensitive = false)]
[JsonSerializable(typeof(MlflowErrorBody))]
[JsonSerializable(typeof(EmptyResponse))]
[JsonSerializable(typeof(Experiment))]
[JsonSerializable(typeof(Run))]
[JsonSerializable(typeof(CreateExperimentBody))]
[JsonSerializable(typeof(CreateExperimentResponse))]
[JsonSerializable(typeof(ExperimentResponse))]
[JsonSerializable(typeof(SearchExperimentsBody))]
[JsonSerializable(typeof(SearchExperimentsResponse))]
[JsonSerializable(typeof(ExperimentIdBody))]
[JsonSerializable(typeof(UpdateExperimentBody))]
[JsonSerializable(typeof(ExperimentTagBody))]
[JsonSerializable(typeof(CreateRunBody))]
[JsonSerializable(typeof(RunResponse))]
[JsonSerializable(typeof(UpdateRunBody))]
[JsonSerializable(typeof(UpdateRunResponse))]
[JsonSerializable(typeof(RunIdBody))]
[JsonSerializable(typeof(SearchRunsBody))]
[JsonSerializable(typeof(SearchRunsResponse))]
[JsonSerializable(typeof(LogMetricBody))]
[JsonSerializable(typeof(RunKeyValueBody))]
[JsonSerializable(typeof(RunKeyBody))]
[JsonSerializable(typeof(LogInputsBody))]
[JsonSerializable(typeof(LogOutputsBody))]
[JsonSerializable(typeof(MetricsResponse))]
[JsonSerializable(typeof(ListArtifactsResponse))]
internal sealed partial class MlflowJsonContext : JsonSerializerContext
{
}
