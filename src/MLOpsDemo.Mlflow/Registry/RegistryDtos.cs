using System.Text.Json.Serialization;
using MLOpsDemo.Mlflow.Rest;

namespace MLOpsDemo.Mlflow.Registry;

#pragma warning disable SA1402 // wire DTOs are grouped by endpoint family

internal sealed record CreateRegisteredModelBody
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("tags")]
    public IReadOnlyList<KeyValueDto>? Tags { get; init; }

    [JsonPropertyName("description")]
    public string? Description { get; init; }
}

internal sealed record RegisteredModelResponse([property: JsonPropertyName("registered_model")] RegisteredModel RegisteredModel);

internal sealed record RenameRegisteredModelBody(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("new_name")] string NewName);

internal sealed record UpdateRegisteredModelBody(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("description")] string? Description);

internal sealed record NameBody([property: JsonPropertyName("name")] string Name);

internal sealed record SearchRegisteredModelsResponse
{
    [JsonPropertyName("registered_models")]
    public IReadOnlyList<RegisteredModel>? RegisteredModels { get; init; }

    [JsonPropertyName("next_page_token")]
    public string? NextPageToken { get; init; }
}

internal sealed record RegisteredModelTagBody(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("value")] string? Value);

internal sealed record GetLatestVersionsBody(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("stages")] IReadOnlyList<string>? Stages);

internal sealed record ModelVersionsResponse([property: JsonPropertyName("model_versions")] IReadOnlyList<ModelVersion>? ModelVersions);

internal sealed record CreateModelVersionBody
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    [JsonPropertyName("source")]
    public required string Source { get; init; }

    [JsonPropertyName("run_id")]
    public string? RunId { get; init; }

    [JsonPropertyName("description")]
    public string? Description { get; init; }

    [JsonPropertyName("tags")]
    public IReadOnlyList<KeyValueDto>? Tags { get; init; }

    [JsonPropertyName("run_link")]
    public string? RunLink { get; init; }

    [JsonPropertyName("model_id")]
    public string? ModelId { get; init; }
}

internal sealed record ModelVersionResponse([property: JsonPropertyName("model_version")] ModelVersion ModelVersion);

internal sealed record UpdateModelVersionBody(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("description")] string? Description);

internal sealed record NameVersionBody(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] string Version);

internal sealed record SearchModelVersionsResponse
{
    [JsonPropertyName("model_versions")]
    public IReadOnlyList<ModelVersion>? ModelVersions { get; init; }

    [JsonPropertyName("next_page_token")]
    public string? NextPageToken { get; init; }
}

internal sealed record DownloadUriResponse([property: JsonPropertyName("artifact_uri")] string? ArtifactUri);

internal sealed record ModelVersionTagBody(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("value")] string? Value);

internal sealed record TransitionStageBody(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("stage")] string Stage,
    [property: JsonPropertyName("archive_existing_versions")] bool ArchiveExistingVersions);

internal sealed record SetAliasBody(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("alias")] string Alias,
    [property: JsonPropertyName("version")] string Version);

internal sealed record AliasBody(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("alias")] string Alias);

internal sealed record LogModelBody(
    [property: JsonPropertyName("run_id")] string RunId,
    [property: JsonPropertyName("model_json")] string ModelJson);
