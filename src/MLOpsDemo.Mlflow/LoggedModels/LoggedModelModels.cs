using System.Text.Json;
using System.Text.Json.Serialization;
using MLOpsDemo.Mlflow.Serialization;

namespace MLOpsDemo.Mlflow;

#pragma warning disable SA1402 // the logged models' public types are grouped in one file

/// <summary>An MLflow 3 logged model: a first-class model entity with its own id (<c>m-…</c>), artifacts, params and metrics.</summary>
public sealed record LoggedModel
{
    /// <summary>Identity, location, status and tags.</summary>
    [JsonPropertyName("info")]
    public LoggedModelInfo Info { get; init => field = value ?? new(); } = new();

    /// <summary>Params and metrics.</summary>
    [JsonPropertyName("data")]
    public LoggedModelData Data { get; init => field = value ?? new(); } = new();

    /// <summary>The model's URI, <c>models:/&lt;model_id&gt;</c>.</summary>
    [JsonIgnore]
    public string ModelUri => "models:/" + Info.ModelId;
}

/// <summary>The metadata of a logged model.</summary>
public sealed record LoggedModelInfo
{
    /// <summary>The id, <c>m-</c> followed by 32 hex characters.</summary>
    [JsonPropertyName("model_id")]
    public string ModelId { get; init => field = value ?? ""; } = "";

    /// <summary>The experiment it belongs to.</summary>
    [JsonPropertyName("experiment_id")]
    public string ExperimentId { get; init => field = value ?? ""; } = "";

    /// <summary>The name (e.g. <c>model</c>).</summary>
    [JsonPropertyName("name")]
    public string Name { get; init => field = value ?? ""; } = "";

    /// <summary>Creation time in milliseconds since the Unix epoch.</summary>
    [JsonPropertyName("creation_timestamp_ms")]
    public long? CreationTimestampMs { get; init; }

    /// <summary>Last update time in milliseconds since the Unix epoch.</summary>
    [JsonPropertyName("last_updated_timestamp_ms")]
    public long? LastUpdatedTimestampMs { get; init; }

    /// <summary>Where its files are, e.g. <c>mlflow-artifacts:/1/models/m-…/artifacts</c>.</summary>
    [JsonPropertyName("artifact_uri")]
    public string? ArtifactUri { get; init; }

    /// <summary>The status.</summary>
    [JsonPropertyName("status")]
    [JsonConverter(typeof(LoggedModelStatusConverter))]
    public LoggedModelStatus Status { get; init; }

    /// <summary>The creator, when recorded.</summary>
    [JsonPropertyName("creator_id")]
    public string? CreatorId { get; init; }

    /// <summary>A free-form type, e.g. <c>classifier</c>.</summary>
    [JsonPropertyName("model_type")]
    public string? ModelType { get; init; }

    /// <summary>The run that produced it, if any.</summary>
    [JsonPropertyName("source_run_id")]
    public string? SourceRunId { get; init; }

    /// <summary>Details of the status, if any.</summary>
    [JsonPropertyName("status_message")]
    public string? StatusMessage { get; init; }

    /// <summary>Tags by key.</summary>
    [JsonPropertyName("tags")]
    [JsonConverter(typeof(KeyValueListConverter))]
    public IReadOnlyDictionary<string, string> Tags { get; init => field = value ?? EmptyTags.Instance; } = EmptyTags.Instance;

    /// <summary>Registered model versions made from it.</summary>
    [JsonPropertyName("registrations")]
    public IReadOnlyList<LoggedModelRegistration> Registrations { get; init => field = value ?? []; } = [];
}

/// <summary>A registered model version made from a logged model.</summary>
public sealed record LoggedModelRegistration
{
    /// <summary>The registered model name.</summary>
    [JsonPropertyName("name")]
    public string Name { get; init => field = value ?? ""; } = "";

    /// <summary>The version.</summary>
    [JsonPropertyName("version")]
    public string Version { get; init => field = value ?? ""; } = "";
}

/// <summary>The params and metrics of a logged model.</summary>
public sealed record LoggedModelData
{
    /// <summary>Params by key.</summary>
    [JsonPropertyName("params")]
    [JsonConverter(typeof(KeyValueListConverter))]
    public IReadOnlyDictionary<string, string> Params { get; init => field = value ?? EmptyTags.Instance; } = EmptyTags.Instance;

    /// <summary>Metrics linked to the model (each with <see cref="Metric.ModelId"/> and <see cref="Metric.RunId"/>).</summary>
    [JsonPropertyName("metrics")]
    public IReadOnlyList<Metric> Metrics { get; init => field = value ?? []; } = [];
}

/// <summary>The status of a logged model.</summary>
public enum LoggedModelStatus
{
    /// <summary>Not reported.</summary>
    Unspecified = 0,

    /// <summary>Created; files are being uploaded.</summary>
    Pending = 1,

    /// <summary>Finalized: files are complete.</summary>
    Ready = 2,

    /// <summary>The upload failed.</summary>
    UploadFailed = 3,
}

/// <summary>Options of <see cref="LoggedModelsClient.CreateAsync"/>.</summary>
public sealed record CreateLoggedModelOptions
{
    /// <summary>The name (no <c>/ : . % " '</c>); <see langword="null"/> lets the server choose one.</summary>
    public string? Name { get; init; }

    /// <summary>A free-form type, e.g. <c>classifier</c>.</summary>
    public string? ModelType { get; init; }

    /// <summary>The run that produces the model.</summary>
    public string? SourceRunId { get; init; }

    /// <summary>Params of the model.</summary>
    public IReadOnlyDictionary<string, string>? Params { get; init; }

    /// <summary>Tags of the model.</summary>
    public IReadOnlyDictionary<string, string>? Tags { get; init; }
}

/// <summary>One order clause of a logged model search.</summary>
/// <param name="FieldName">A field such as <c>creation_timestamp</c> or <c>metrics.accuracy</c>.</param>
/// <param name="Ascending">Whether to sort ascending.</param>
public sealed record LoggedModelOrderBy(string FieldName, bool Ascending = true)
{
    /// <summary>For metric fields: the dataset name the metric was computed on.</summary>
    public string? DatasetName { get; init; }

    /// <summary>For metric fields: the dataset digest.</summary>
    public string? DatasetDigest { get; init; }
}

/// <summary>A dataset of <see cref="SearchLoggedModelsOptions.Datasets"/>: the metrics logged for it (MLflow's <c>DatasetFilter</c>).</summary>
/// <param name="DatasetName">The dataset name (required).</param>
/// <param name="DatasetDigest">The dataset digest, or <see langword="null"/> for any digest of that name.</param>
public sealed record LoggedModelDatasetFilter(string DatasetName, string? DatasetDigest = null);

/// <summary>Options of <see cref="LoggedModelsClient.SearchAsync"/>.</summary>
public sealed record SearchLoggedModelsOptions
{
    /// <summary>The experiments to search (at least one).</summary>
    public IReadOnlyList<string> ExperimentIds { get; init => field = value ?? []; } = [];

    /// <summary>A filter, e.g. <c>name = 'model' AND metrics.accuracy &gt; 0.9</c>.</summary>
    public string? Filter { get; init; }

    /// <summary>Order clauses.</summary>
    public IReadOnlyList<LoggedModelOrderBy>? OrderBy { get; init; }

    /// <summary>
    /// Datasets that metric comparisons in <see cref="Filter"/> are restricted to: a <c>metrics.&lt;name&gt;</c>
    /// comparison only looks at values logged for one of them. Without metric comparisons, only models with a metric on
    /// one of them are found. <see langword="null"/> or empty: no restriction.
    /// </summary>
    public IReadOnlyList<LoggedModelDatasetFilter>? Datasets { get; init; }

    /// <summary>How many models each request fetches (default 50).</summary>
    public int? PageSize { get; init; }

    /// <summary>A page token from an earlier search to resume from.</summary>
    public string? PageToken { get; init; }
}

/// <summary>Reads and writes <see cref="LoggedModelStatus"/> as MLflow's names (<c>LOGGED_MODEL_READY</c>).</summary>
internal sealed class LoggedModelStatusConverter : JsonConverter<LoggedModelStatus>
{
    public static string ToWire(LoggedModelStatus status) => status switch
    {
        LoggedModelStatus.Pending => "LOGGED_MODEL_PENDING",
        LoggedModelStatus.Ready => "LOGGED_MODEL_READY",
        LoggedModelStatus.UploadFailed => "LOGGED_MODEL_UPLOAD_FAILED",
        _ => "LOGGED_MODEL_STATUS_UNSPECIFIED",
    };

    public override LoggedModelStatus Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            return (LoggedModelStatus)reader.GetInt32();
        }

        return reader.GetString() switch
        {
            "LOGGED_MODEL_PENDING" or "PENDING" => LoggedModelStatus.Pending,
            "LOGGED_MODEL_READY" or "READY" => LoggedModelStatus.Ready,
            "LOGGED_MODEL_UPLOAD_FAILED" or "UPLOAD_FAILED" or "FAILED" => LoggedModelStatus.UploadFailed,
            _ => LoggedModelStatus.Unspecified,
        };
    }

    public override void Write(Utf8JsonWriter writer, LoggedModelStatus value, JsonSerializerOptions options) =>
        writer.WriteStringValue(ToWire(value));
}
