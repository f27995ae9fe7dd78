using System.Text.Json.Serialization;
using MLOpsDemo.Mlflow.Serialization;

namespace MLOpsDemo.Mlflow;

/// <summary>An MLflow experiment.</summary>
public sealed record Experiment
{
    /// <summary>The experiment id: an opaque string ("0", "1"… on SQL servers, GUIDs on Azure ML).</summary>
    [JsonPropertyName("experiment_id")]
    public string ExperimentId { get => field ?? ""; init => field = value; }

    /// <summary>The unique experiment name.</summary>
    [JsonPropertyName("name")]
    public string Name { get => field ?? ""; init => field = value; }

    /// <summary>Where the runs of this experiment store artifacts by default.</summary>
    [JsonPropertyName("artifact_location")]
    public string? ArtifactLocation { get; init; }

    /// <summary><c>active</c> or <c>deleted</c>; see <see cref="LifecycleStage"/>.</summary>
    [JsonPropertyName("lifecycle_stage")]
    public string LifecycleStage { get => field ?? Mlflow.LifecycleStage.Active; init => field = value; }

    /// <summary>Last update time in milliseconds since the Unix epoch, when the server reports it.</summary>
    [JsonPropertyName("last_update_time")]
    public long? LastUpdateTime { get; init; }

    /// <summary>Creation time in milliseconds since the Unix epoch, when the server reports it.</summary>
    [JsonPropertyName("creation_time")]
    public long? CreationTime { get; init; }

    /// <summary>The experiment's tags.</summary>
    [JsonPropertyName("tags")]
    [JsonConverter(typeof(KeyValueListConverter))]
    public IReadOnlyDictionary<string, string> Tags { get => field ?? EmptyTags.Instance; init => field = value; }
}

/// <summary>An MLflow run: its info, logged data, inputs and (MLflow 3) outputs.</summary>
public sealed record Run
{
    /// <summary>Metadata of the run.</summary>
    [JsonPropertyName("info")]
    public RunInfo Info { get => field ?? new(); init => field = value; }

    /// <summary>Metrics (latest value per key), params and tags.</summary>
    [JsonPropertyName("data")]
    public RunData Data { get => field ?? new(); init => field = value; }

    /// <summary>Dataset (and MLflow 3 model) inputs.</summary>
    [JsonPropertyName("inputs")]
    public RunInputs Inputs { get => field ?? new(); init => field = value; }

    /// <summary>Model outputs (MLflow 3 only; empty on 2.x servers).</summary>
    [JsonPropertyName("outputs")]
    public RunOutputs Outputs { get => field ?? new(); init => field = value; }
}

/// <summary>Metadata of a run.</summary>
public sealed record RunInfo
{
    /// <summary>The run id (32 lower-case hex characters on SQL servers).</summary>
    [JsonPropertyName("run_id")]
    public string RunId { get => field ?? ""; init => field = value; }

    /// <summary>The run name (kept in sync with the <c>mlflow.runName</c> tag).</summary>
    [JsonPropertyName("run_name")]
    public string? RunName { get; init; }

    /// <summary>The experiment the run belongs to.</summary>
    [JsonPropertyName("experiment_id")]
    public string ExperimentId { get => field ?? ""; init => field = value; }

    /// <summary>The user recorded by the server (deprecated in MLflow; prefer the <c>mlflow.user</c> tag).</summary>
    [JsonPropertyName("user_id")]
    public string? UserId { get; init; }

    /// <summary>The run status.</summary>
    [JsonPropertyName("status")]
    [JsonConverter(typeof(RunStatusConverter))]
    public RunStatus Status { get; init; } = RunStatus.Running;

    /// <summary>Start time in milliseconds since the Unix epoch.</summary>
    [JsonPropertyName("start_time")]
    public long? StartTime { get; init; }

    /// <summary>End time in milliseconds since the Unix epoch, once the run has ended.</summary>
    [JsonPropertyName("end_time")]
    public long? EndTime { get; init; }

    /// <summary>Root URI of the run's artifacts, e.g. <c>mlflow-artifacts:/1/&lt;run&gt;/artifacts</c>.</summary>
    [JsonPropertyName("artifact_uri")]
    public string? ArtifactUri { get; init; }

    /// <summary><c>active</c> or <c>deleted</c>; see <see cref="LifecycleStage"/>.</summary>
    [JsonPropertyName("lifecycle_stage")]
    public string LifecycleStage { get => field ?? Mlflow.LifecycleStage.Active; init => field = value; }
}

/// <summary>The data logged to a run.</summary>
public sealed record RunData
{
    /// <summary>The latest value of each metric key (the entry with the highest step wins).</summary>
    [JsonPropertyName("metrics")]
    public IReadOnlyList<Metric> Metrics { get => field ?? []; init => field = value; }

    /// <summary>Parameters by key.</summary>
    [JsonPropertyName("params")]
    [JsonConverter(typeof(KeyValueListConverter))]
    public IReadOnlyDictionary<string, string> Params { get => field ?? EmptyTags.Instance; init => field = value; }

    /// <summary>Tags by key, including system tags such as <c>mlflow.runName</c>.</summary>
    [JsonPropertyName("tags")]
    [JsonConverter(typeof(KeyValueListConverter))]
    public IReadOnlyDictionary<string, string> Tags { get => field ?? EmptyTags.Instance; init => field = value; }
}

/// <summary>One metric data point.</summary>
public sealed record Metric
{
    /// <summary>Creates a metric point.</summary>
    /// <param name="key">The metric key.</param>
    /// <param name="value">The value; NaN and ±Infinity are allowed.</param>
    /// <param name="timestamp">Milliseconds since the Unix epoch.</param>
    /// <param name="step">The step (0 by default).</param>
    public Metric(string key, double value, long timestamp, long step = 0)
    {
        Key = key;
        Value = value;
        Timestamp = timestamp;
        Step = step;
    }

    /// <summary>Creates an empty metric (used by deserialization).</summary>
    public Metric()
    {
    }

    /// <summary>The metric key.</summary>
    [JsonPropertyName("key")]
    public string Key { get => field ?? ""; init => field = value; }

    /// <summary>The value. NaN and ±Infinity travel as the JSON strings "NaN", "Infinity", "-Infinity".</summary>
    [JsonPropertyName("value")]
    public double Value { get; init; }

    /// <summary>Milliseconds since the Unix epoch.</summary>
    [JsonPropertyName("timestamp")]
    public long Timestamp { get; init; }

    /// <summary>The step.</summary>
    [JsonPropertyName("step")]
    public long Step { get; init; }

    /// <summary>The run the point belongs to (MLflow 3 and bulk-interval history only).</summary>
    [JsonPropertyName("run_id")]
    public string? RunId { get; init; }

    /// <summary>The logged model the point is linked to (MLflow 3).</summary>
    [JsonPropertyName("model_id")]
    public string? ModelId { get; init; }

    /// <summary>The dataset name the point was computed on (MLflow 3).</summary>
    [JsonPropertyName("dataset_name")]
    public string? DatasetName { get; init; }

    /// <summary>The dataset digest the point was computed on (MLflow 3).</summary>
    [JsonPropertyName("dataset_digest")]
    public string? DatasetDigest { get; init; }
}

/// <summary>Inputs of a run.</summary>
public sealed record RunInputs
{
    /// <summary>Datasets used by the run.</summary>
    [JsonPropertyName("dataset_inputs")]
    public IReadOnlyList<DatasetInput> DatasetInputs { get => field ?? []; init => field = value; }

    /// <summary>Logged models used as inputs (MLflow 3).</summary>
    [JsonPropertyName("model_inputs")]
    public IReadOnlyList<ModelInput> ModelInputs { get => field ?? []; init => field = value; }
}

/// <summary>Outputs of a run (MLflow 3).</summary>
public sealed record RunOutputs
{
    /// <summary>Logged models produced by the run.</summary>
    [JsonPropertyName("model_outputs")]
    public IReadOnlyList<ModelOutput> ModelOutputs { get => field ?? []; init => field = value; }
}

/// <summary>A logged model used as a run input (MLflow 3).</summary>
public sealed record ModelInput
{
    /// <summary>The logged model id (<c>m-…</c>).</summary>
    [JsonPropertyName("model_id")]
    public string ModelId { get => field ?? ""; init => field = value; }
}

/// <summary>A logged model produced by a run at a step (MLflow 3).</summary>
public sealed record ModelOutput
{
    /// <summary>The logged model id (<c>m-…</c>).</summary>
    [JsonPropertyName("model_id")]
    public string ModelId { get => field ?? ""; init => field = value; }

    /// <summary>The step at which the model was produced.</summary>
    [JsonPropertyName("step")]
    public long Step { get; init; }
}

/// <summary>A dataset used by a run, with input tags such as <c>mlflow.data.context</c>.</summary>
public sealed record DatasetInput
{
    /// <summary>Input tags, e.g. <c>mlflow.data.context</c> = <c>training</c>.</summary>
    [JsonPropertyName("tags")]
    [JsonConverter(typeof(KeyValueListConverter))]
    public IReadOnlyDictionary<string, string> Tags { get => field ?? EmptyTags.Instance; init => field = value; }

    /// <summary>The dataset.</summary>
    [JsonPropertyName("dataset")]
    public Dataset Dataset { get => field ?? new(); init => field = value; }
}

/// <summary>A dataset description as MLflow records it.</summary>
public sealed record Dataset
{
    /// <summary>Name (≤ 500 characters).</summary>
    [JsonPropertyName("name")]
    public string Name { get => field ?? ""; init => field = value; }

    /// <summary>Digest identifying the content (≤ 36 characters).</summary>
    [JsonPropertyName("digest")]
    public string Digest { get => field ?? ""; init => field = value; }

    /// <summary>Source type, e.g. <c>local</c>, <c>http</c>, <c>s3</c>.</summary>
    [JsonPropertyName("source_type")]
    public string SourceType { get => field ?? ""; init => field = value; }

    /// <summary>Source description, usually a JSON string such as <c>{"uri": "file:///data.csv"}</c>.</summary>
    [JsonPropertyName("source")]
    public string Source { get => field ?? ""; init => field = value; }

    /// <summary>Optional schema as a JSON string.</summary>
    [JsonPropertyName("schema")]
    public string? Schema { get; init; }

    /// <summary>Optional profile as a JSON string.</summary>
    [JsonPropertyName("profile")]
    public string? Profile { get; init; }
}

/// <summary>An entry of an artifact listing.</summary>
public sealed record ArtifactFileInfo
{
    /// <summary>The path, relative to the listed root (run-relative for run listings).</summary>
    [JsonPropertyName("path")]
    public string Path { get => field ?? ""; init => field = value; }

    /// <summary>Whether the entry is a directory.</summary>
    [JsonPropertyName("is_dir")]
    public bool IsDirectory { get; init; }

    /// <summary>The size in bytes (absent for directories).</summary>
    [JsonPropertyName("file_size")]
    public long? FileSize { get; init; }
}

/// <summary>One page of results and the token for the next page, if any.</summary>
/// <typeparam name="T">The item type.</typeparam>
/// <param name="Items">The items of this page.</param>
/// <param name="NextPageToken">The token of the next page, or <see langword="null"/> on the last page.</param>
public sealed record MlflowPage<T>(IReadOnlyList<T> Items, string? NextPageToken);
