using System.Globalization;
using System.Text.Json.Serialization;
using MLOpsDemo.Mlflow.Serialization;

namespace MLOpsDemo.Mlflow;

#pragma warning disable SA1402 // the registry's public models are grouped in one file

/// <summary>A registered model of the MLflow model registry.</summary>
public sealed record RegisteredModel
{
    /// <summary>The unique name.</summary>
    [JsonPropertyName("name")]
    public string Name { get; init => field = value ?? ""; } = "";

    /// <summary>Creation time in milliseconds since the Unix epoch.</summary>
    [JsonPropertyName("creation_timestamp")]
    public long? CreationTimestamp { get; init; }

    /// <summary>Last update time in milliseconds since the Unix epoch.</summary>
    [JsonPropertyName("last_updated_timestamp")]
    public long? LastUpdatedTimestamp { get; init; }

    /// <summary>The creator (OSS servers leave it empty).</summary>
    [JsonPropertyName("user_id")]
    public string? UserId { get; init; }

    /// <summary>The description, or <see langword="null"/> when there is none.</summary>
    [JsonPropertyName("description")]
    public string? Description { get; init; }

    /// <summary>The newest version per stage (stages without a version are absent).</summary>
    [JsonPropertyName("latest_versions")]
    public IReadOnlyList<ModelVersion> LatestVersions { get; init => field = value ?? []; } = [];

    /// <summary>Tags by key.</summary>
    [JsonPropertyName("tags")]
    [JsonConverter(typeof(KeyValueListConverter))]
    public IReadOnlyDictionary<string, string> Tags { get; init => field = value ?? EmptyTags.Instance; } = EmptyTags.Instance;

    /// <summary>The aliases of the model's versions.</summary>
    [JsonPropertyName("aliases")]
    public IReadOnlyList<RegisteredModelAlias> Aliases { get; init => field = value ?? []; } = [];
}

/// <summary>An alias (e.g. <c>champion</c>) pointing at a version of a registered model.</summary>
public sealed record RegisteredModelAlias
{
    /// <summary>The alias name.</summary>
    [JsonPropertyName("alias")]
    public string Alias { get; init => field = value ?? ""; } = "";

    /// <summary>The version it points at, e.g. <c>"3"</c>.</summary>
    [JsonPropertyName("version")]
    public string Version { get; init => field = value ?? ""; } = "";
}

/// <summary>A version of a registered model.</summary>
public sealed record ModelVersion
{
    /// <summary>The registered model's name.</summary>
    [JsonPropertyName("name")]
    public string Name { get; init => field = value ?? ""; } = "";

    /// <summary>The version number as MLflow sends it: a decimal string such as <c>"1"</c>.</summary>
    [JsonPropertyName("version")]
    public string Version { get; init => field = value ?? ""; } = "";

    /// <summary><see cref="Version"/> as a number (0 when it is not a number).</summary>
    [JsonIgnore]
    public long VersionNumber => long.TryParse(Version, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;

    /// <summary>Creation time in milliseconds since the Unix epoch.</summary>
    [JsonPropertyName("creation_timestamp")]
    public long? CreationTimestamp { get; init; }

    /// <summary>Last update time in milliseconds since the Unix epoch.</summary>
    [JsonPropertyName("last_updated_timestamp")]
    public long? LastUpdatedTimestamp { get; init; }

    /// <summary>The creator, when the server records it.</summary>
    [JsonPropertyName("user_id")]
    public string? UserId { get; init; }

    /// <summary>The (deprecated) stage: <c>None</c>, <c>Staging</c>, <c>Production</c> or <c>Archived</c>; see <see cref="ModelVersionStage"/>.</summary>
    [JsonPropertyName("current_stage")]
    public string CurrentStage { get; init => field = value ?? ModelVersionStage.None; } = ModelVersionStage.None;

    /// <summary>The description, if any.</summary>
    [JsonPropertyName("description")]
    public string? Description { get; init; }

    /// <summary>Where the model files are, as given at creation (e.g. <c>mlflow-artifacts:/1/&lt;run&gt;/artifacts/model</c> or <c>models:/m-…</c>).</summary>
    [JsonPropertyName("source")]
    public string? Source { get; init; }

    /// <summary>The run that produced the model, if any.</summary>
    [JsonPropertyName("run_id")]
    public string? RunId { get; init; }

    /// <summary>The registration status; see <see cref="ModelVersionStatus"/> (OSS servers answer <c>READY</c> at once).</summary>
    [JsonPropertyName("status")]
    public string? Status { get; init; }

    /// <summary>Details of the status, if any.</summary>
    [JsonPropertyName("status_message")]
    public string? StatusMessage { get; init; }

    /// <summary>Tags by key.</summary>
    [JsonPropertyName("tags")]
    [JsonConverter(typeof(KeyValueListConverter))]
    public IReadOnlyDictionary<string, string> Tags { get; init => field = value ?? EmptyTags.Instance; } = EmptyTags.Instance;

    /// <summary>A link to the run (often empty).</summary>
    [JsonPropertyName("run_link")]
    public string? RunLink { get; init; }

    /// <summary>The aliases that point at this version.</summary>
    [JsonPropertyName("aliases")]
    public IReadOnlyList<string> Aliases { get; init => field = value ?? []; } = [];

    /// <summary>The MLflow 3 logged model behind this version (<c>m-…</c>), when the server reports it.</summary>
    [JsonPropertyName("model_id")]
    public string? ModelId { get; init; }
}

/// <summary>The model version stages (deprecated by MLflow in favour of aliases, but still served).</summary>
public static class ModelVersionStage
{
    /// <summary>No stage.</summary>
    public const string None = "None";

    /// <summary>Staging.</summary>
    public const string Staging = "Staging";

    /// <summary>Production.</summary>
    public const string Production = "Production";

    /// <summary>Archived.</summary>
    public const string Archived = "Archived";
}

/// <summary>The values of <see cref="ModelVersion.Status"/>.</summary>
public static class ModelVersionStatus
{
    /// <summary>The registration is in progress.</summary>
    public const string PendingRegistration = "PENDING_REGISTRATION";

    /// <summary>The registration failed.</summary>
    public const string FailedRegistration = "FAILED_REGISTRATION";

    /// <summary>The version is ready.</summary>
    public const string Ready = "READY";
}

/// <summary>Options of <see cref="ModelRegistryClient.CreateVersionAsync"/>.</summary>
public sealed record CreateModelVersionOptions
{
    /// <summary>The run that produced the model.</summary>
    public string? RunId { get; init; }

    /// <summary>A link to the run.</summary>
    public string? RunLink { get; init; }

    /// <summary>Tags of the version.</summary>
    public IReadOnlyDictionary<string, string>? Tags { get; init; }

    /// <summary>A description.</summary>
    public string? Description { get; init; }

    /// <summary>The MLflow 3 logged model id (<c>m-…</c>) the version is made from.</summary>
    public string? ModelId { get; init; }
}

/// <summary>Options of <see cref="ModelRegistryClient.SearchAsync"/>.</summary>
public sealed record SearchRegisteredModelsOptions
{
    /// <summary>A filter, e.g. <c>name LIKE 'iris%'</c> or <c>tags.team = 'vision'</c>.</summary>
    public string? Filter { get; init; }

    /// <summary>Order clauses, e.g. <c>["name ASC"]</c> (the server's default), <c>["last_updated_timestamp DESC"]</c>.</summary>
    public IReadOnlyList<string>? OrderBy { get; init; }

    /// <summary>How many models each request fetches (1–1000, default 100).</summary>
    public int? PageSize { get; init; }

    /// <summary>A page token from an earlier search to resume from.</summary>
    public string? PageToken { get; init; }
}

/// <summary>Options of <see cref="ModelRegistryClient.SearchVersionsAsync"/>.</summary>
public sealed record SearchModelVersionsOptions
{
    /// <summary>A filter, e.g. <c>name = 'iris'</c> or <c>run_id = '…'</c>.</summary>
    public string? Filter { get; init; }

    /// <summary>Order clauses; the server's default is <c>name ASC, version DESC</c>.</summary>
    public IReadOnlyList<string>? OrderBy { get; init; }

    /// <summary>How many versions each request fetches (1–200,000, default 10,000).</summary>
    public int? PageSize { get; init; }

    /// <summary>A page token from an earlier search to resume from.</summary>
    public string? PageToken { get; init; }
}

/// <summary>What kind of reference a model URI holds.</summary>
public enum ModelUriKind
{
    /// <summary><c>models:/&lt;name&gt;/&lt;version&gt;</c>.</summary>
    Version,

    /// <summary><c>models:/&lt;name&gt;@&lt;alias&gt;</c>.</summary>
    Alias,

    /// <summary><c>models:/&lt;name&gt;/&lt;stage&gt;</c> (latest version in the stage).</summary>
    Stage,

    /// <summary><c>models:/&lt;name&gt;/latest</c> (highest version).</summary>
    Latest,

    /// <summary><c>models:/&lt;model_id&gt;</c> (an MLflow 3 logged model).</summary>
    LoggedModel,

    /// <summary><c>runs:/&lt;run_id&gt;/&lt;path&gt;</c>.</summary>
    Run,
}

/// <summary>The result of <see cref="ModelRegistryClient.ResolveModelUriAsync"/>: where a model URI points.</summary>
public sealed record ResolvedModelUri
{
    /// <summary>The URI that was resolved.</summary>
    public required string Uri { get; init; }

    /// <summary>The kind of reference.</summary>
    public required ModelUriKind Kind { get; init; }

    /// <summary>The registered model name (registry URIs only).</summary>
    public string? Name { get; init; }

    /// <summary>The concrete version (registry URIs only).</summary>
    public string? Version { get; init; }

    /// <summary>The alias (alias URIs only).</summary>
    public string? Alias { get; init; }

    /// <summary>The stage (stage URIs only), canonical case.</summary>
    public string? Stage { get; init; }

    /// <summary>The logged model id, when the URI is or resolves to an MLflow 3 logged model.</summary>
    public string? ModelId { get; init; }

    /// <summary>The run id (run URIs, or the run of the version when known).</summary>
    public string? RunId { get; init; }

    /// <summary>The path inside the model that followed the reference (e.g. <c>sub/file</c>), or <see langword="null"/>.</summary>
    public string? SubPath { get; init; }

    /// <summary>The artifact location to download from, e.g. <c>mlflow-artifacts:/1/models/m-…/artifacts</c>.</summary>
    public required string ArtifactUri { get; init; }
}

/// <summary>Why <see cref="ModelRegistryClient.PromoteAsync"/> did or did not move the alias.</summary>
public enum PromotionDecision
{
    /// <summary>No version held the alias: the candidate got it.</summary>
    PromotedNoCurrentHolder,

    /// <summary>The candidate's metric beats the holder's: the alias moved.</summary>
    PromotedBeatsCurrent,

    /// <summary>The holder's run has no value for the metric: the alias moved.</summary>
    PromotedCurrentHasNoMetric,

    /// <summary>The candidate does not beat the holder (ties keep the holder): nothing changed.</summary>
    KeptCurrentNotBetter,

    /// <summary>The candidate already holds the alias: nothing changed.</summary>
    KeptAlreadyHolder,

    /// <summary>The candidate has no run or its run has no (finite) value for the metric: nothing changed.</summary>
    KeptCandidateHasNoMetric,
}

/// <summary>The outcome of <see cref="ModelRegistryClient.PromoteAsync"/>, with the numbers that decided it.</summary>
public sealed record PromotionResult
{
    /// <summary>Whether the alias now points at the candidate because of this call.</summary>
    public bool Promoted => Decision is PromotionDecision.PromotedNoCurrentHolder or PromotionDecision.PromotedBeatsCurrent or PromotionDecision.PromotedCurrentHasNoMetric;

    /// <summary>The decision.</summary>
    public required PromotionDecision Decision { get; init; }

    /// <summary>The registered model name.</summary>
    public required string Name { get; init; }

    /// <summary>The alias.</summary>
    public required string Alias { get; init; }

    /// <summary>The metric key compared.</summary>
    public required string Metric { get; init; }

    /// <summary>The candidate version.</summary>
    public required string CandidateVersion { get; init; }

    /// <summary>The candidate run's metric value, if any.</summary>
    public double? CandidateValue { get; init; }

    /// <summary>The version that held the alias before the call, if any.</summary>
    public string? PreviousVersion { get; init; }

    /// <summary>The previous holder's metric value, if any.</summary>
    public double? PreviousValue { get; init; }

    /// <summary>A one-line explanation for logs and CI output.</summary>
    public required string Reason { get; init; }
}
