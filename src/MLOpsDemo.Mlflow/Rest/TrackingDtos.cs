using System.Text.Json.Serialization;

namespace MLOpsDemo.Mlflow.Rest;

#pragma warning disable SA1402 // wire DTOs are grouped by endpoint family

internal sealed record KeyValueDto([property: JsonPropertyName("key")] string Key, [property: JsonPropertyName("value")] string Value);

internal sealed record MlflowErrorBody
{
    [JsonPropertyName("error_code")]
    public string? ErrorCode { get; init; }

    [JsonPropertyName("message")]
    public string? Message { get; init; }
}

internal sealed record EmptyResponse;

internal sealed record CreateExperimentBody(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("artifact_location")] string? ArtifactLocation,
    [property: JsonPropertyName("tags")] IReadOnlyList<KeyValueDto>? Tags);

internal sealed record CreateExperimentResponse([property: JsonPropertyName("experiment_id")] string ExperimentId);

internal sealed record ExperimentResponse([property: JsonPropertyName("experiment")] Experiment Experiment);

internal sealed record SearchExperimentsBody
{
    [JsonPropertyName("max_results")]
    public long MaxResults { get; init; }

    [JsonPropertyName("filter")]
    public string? Filter { get; init; }

    [JsonPropertyName("order_by")]
    public IReadOnlyList<string>? OrderBy { get; init; }

    [JsonPropertyName("view_type")]
    [JsonConverter(typeof(Serialization.ViewTypeConverter))]
    public ViewType? ViewType { get; init; }

    [JsonPropertyName("page_token")]
    public string? PageToken { get; init; }
}

internal sealed record SearchExperimentsResponse
{
    [JsonPropertyName("experiments")]
    public IReadOnlyList<Experiment>? Experiments { get; init; }

    [JsonPropertyName("next_page_token")]
    public string? NextPageToken { get; init; }
}

internal sealed record ExperimentIdBody([property: JsonPropertyName("experiment_id")] string ExperimentId);

internal sealed record UpdateExperimentBody(
    [property: JsonPropertyName("experiment_id")] string ExperimentId,
    [property: JsonPropertyName("new_name")] string NewName);

internal sealed record ExperimentTagBody(
    [property: JsonPropertyName("experiment_id")] string ExperimentId,
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("value")] string? Value);

internal sealed record CreateRunBody(
    [property: JsonPropertyName("experiment_id")] string ExperimentId,
    [property: JsonPropertyName("user_id")] string? UserId,
    [property: JsonPropertyName("run_name")] string? RunName,
    [property: JsonPropertyName("start_time")] long StartTime,
    [property: JsonPropertyName("tags")] IReadOnlyList<KeyValueDto>? Tags);

internal sealed record RunResponse([property: JsonPropertyName("run")] Run Run);

internal sealed record UpdateRunBody
{
    [JsonPropertyName("run_id")]
    public required string RunId { get; init; }

    [JsonPropertyName("status")]
    [JsonConverter(typeof(Serialization.RunStatusConverter))]
    public RunStatus? Status { get; init; }

    [JsonPropertyName("end_time")]
    public long? EndTime { get; init; }

    [JsonPropertyName("run_name")]
    public string? RunName { get; init; }
}

internal sealed record UpdateRunResponse([property: JsonPropertyName("run_info")] RunInfo RunInfo);

internal sealed record RunIdBody([property: JsonPropertyName("run_id")] string RunId);

internal sealed record SearchRunsBody
{
    [JsonPropertyName("experiment_ids")]
    public required IReadOnlyList<string> ExperimentIds { get; init; }

    [JsonPropertyName("filter")]
    public string? Filter { get; init; }

    [JsonPropertyName("run_view_type")]
    [JsonConverter(typeof(Serialization.ViewTypeConverter))]
    public ViewType? RunViewType { get; init; }

    [JsonPropertyName("order_by")]
    public IReadOnlyList<string>? OrderBy { get; init; }

    [JsonPropertyName("max_results")]
    public long MaxResults { get; init; }

    [JsonPropertyName("page_token")]
    public string? PageToken { get; init; }
}

internal sealed record SearchRunsResponse
{
    [JsonPropertyName("runs")]
    public IReadOnlyList<Run>? Runs { get; init; }

    [JsonPropertyName("next_page_token")]
    public string? NextPageToken { get; init; }
}

internal sealed record LogMetricBody
{
    [JsonPropertyName("run_id")]
    public required string RunId { get; init; }

    [JsonPropertyName("key")]
    public required string Key { get; init; }

    [JsonPropertyName("value")]
    public double Value { get; init; }

    [JsonPropertyName("timestamp")]
    public long Timestamp { get; init; }

    [JsonPropertyName("step")]
    public long? Step { get; init; }

    [JsonPropertyName("model_id")]
    public string? ModelId { get; init; }
}

internal sealed record RunKeyValueBody(
    [property: JsonPropertyName("run_id")] string RunId,
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("value")] string Value);

internal sealed record RunKeyBody(
    [property: JsonPropertyName("run_id")] string RunId,
    [property: JsonPropertyName("key")] string Key);

internal sealed record LogInputsBody
{
    [JsonPropertyName("run_id")]
    public required string RunId { get; init; }

    [JsonPropertyName("datasets")]
    public IReadOnlyList<DatasetInput>? Datasets { get; init; }

    [JsonPropertyName("models")]
    public IReadOnlyList<ModelInput>? Models { get; init; }
}

internal sealed record LogOutputsBody(
    [property: JsonPropertyName("run_id")] string RunId,
    [property: JsonPropertyName("models")] IReadOnlyList<ModelOutput> Models);

internal sealed record MetricsResponse
{
    [JsonPropertyName("metrics")]
    public IReadOnlyList<Metric>? Metrics { get; init; }

    [JsonPropertyName("next_page_token")]
    public string? NextPageToken { get; init; }
}

internal sealed record ListArtifactsResponse
{
    [JsonPropertyName("root_uri")]
    public string? RootUri { get; init; }

    [JsonPropertyName("files")]
    public IReadOnlyList<ArtifactFileInfo>? Files { get; init; }

    [JsonPropertyName("next_page_token")]
    public string? NextPageToken { get; init; }
}
