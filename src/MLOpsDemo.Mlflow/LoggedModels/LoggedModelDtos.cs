using System.Text.Json.Serialization;
using MLOpsDemo.Mlflow.Rest;

namespace MLOpsDemo.Mlflow.LoggedModels;

#pragma warning disable SA1402 // wire DTOs are grouped by endpoint family

internal sealed record CreateLoggedModelBody
{
    [JsonPropertyName("experiment_id")]
    public required string ExperimentId { get; init; }

    [JsonPropertyName("name")]
    public string? Name { get; init; }

    [JsonPropertyName("model_type")]
    public string? ModelType { get; init; }

    [JsonPropertyName("source_run_id")]
    public string? SourceRunId { get; init; }

    [JsonPropertyName("params")]
    public IReadOnlyList<KeyValueDto>? Params { get; init; }

    [JsonPropertyName("tags")]
    public IReadOnlyList<KeyValueDto>? Tags { get; init; }
}

internal sealed record LoggedModelResponse([property: JsonPropertyName("model")] LoggedModel Model);

internal sealed record FinalizeLoggedModelBody(
    [property: JsonPropertyName("model_id")] string ModelId,
    [property: JsonPropertyName("status")][property: JsonConverter(typeof(LoggedModelStatusConverter))] LoggedModelStatus Status);

internal sealed record ModelIdBody([property: JsonPropertyName("model_id")] string ModelId);

internal sealed record SetLoggedModelTagsBody([property: JsonPropertyName("tags")] IReadOnlyList<KeyValueDto> Tags);

internal sealed record LoggedModelOrderByDto
{
    [JsonPropertyName("field_name")]
    public required string FieldName { get; init; }

    [JsonPropertyName("ascending")]
    public bool Ascending { get; init; }

    [JsonPropertyName("dataset_name")]
    public string? DatasetName { get; init; }

    [JsonPropertyName("dataset_digest")]
    public string? DatasetDigest { get; init; }
}

internal sealed record LoggedModelDatasetDto
{
    [JsonPropertyName("dataset_name")]
    public required string DatasetName { get; init; }

    [JsonPropertyName("dataset_digest")]
    public string? DatasetDigest { get; init; }
}

internal sealed record SearchLoggedModelsBody
{
    [JsonPropertyName("experiment_ids")]
    public required IReadOnlyList<string> ExperimentIds { get; init; }

    [JsonPropertyName("filter")]
    public string? Filter { get; init; }

    [JsonPropertyName("datasets")]
    public IReadOnlyList<LoggedModelDatasetDto>? Datasets { get; init; }

    [JsonPropertyName("max_results")]
    public int MaxResults { get; init; }

    [JsonPropertyName("order_by")]
    public IReadOnlyList<LoggedModelOrderByDto>? OrderBy { get; init; }

    [JsonPropertyName("page_token")]
    public string? PageToken { get; init; }
}

internal sealed record SearchLoggedModelsResponse
{
    [JsonPropertyName("models")]
    public IReadOnlyList<LoggedModel>? Models { get; init; }

    [JsonPropertyName("next_page_token")]
    public string? NextPageToken { get; init; }
}
