using System.Globalization;
using MLOpsDemo.Mlflow.Models.Mlmodel;

namespace MLOpsDemo.Mlflow;

/// <summary>
/// The typed content of an <c>MLmodel</c> file (MODELS.md §2). <see cref="ToYaml"/> writes it exactly as Python's
/// MLflow does (sorted keys, PyYAML quoting and folding); <see cref="Parse"/> reads any <c>MLmodel</c>, keeping unknown
/// top-level keys in <see cref="AdditionalFields"/> so that they round-trip.
/// </summary>
public sealed record MlflowModel
{
    /// <summary>The file name of the descriptor inside a model directory.</summary>
    public const string FileName = "MLmodel";

    /// <summary>The MLflow version this library claims compatibility with by default (the <c>mlflow_version</c> field).</summary>
    public const string DefaultMlflowVersion = "2.21.3";

    /// <summary>2.x: the run-relative path (<c>model</c>); 3.x: the logged model's artifact URI; <see langword="null"/> for saved (not logged) models.</summary>
    public string? ArtifactPath { get; init; }

    /// <summary>The flavors by name (e.g. <c>onnx</c>, <c>python_function</c>).</summary>
    public IReadOnlyDictionary<string, MlflowFlavor> Flavors { get; init; } = new Dictionary<string, MlflowFlavor>();

    /// <summary>The run that logged the model, if any.</summary>
    public string? RunId { get; init; }

    /// <summary>When the model was created (UTC, microsecond precision).</summary>
    public DateTime UtcTimeCreated { get; init; }

    /// <summary>A uuid4 hex string (2.x), or the logged model id (3.x).</summary>
    public string? ModelUuid { get; init; }

    /// <summary>The MLflow version the model claims (<c>mlflow_version</c>).</summary>
    public string? MlflowVersion { get; init; } = DefaultMlflowVersion;

    /// <summary>The MLflow 3 logged model id (<c>m-…</c>); written only when set.</summary>
    public string? ModelId { get; init; }

    /// <summary>The signature, if any.</summary>
    public ModelSignature? Signature { get; init; }

    /// <summary>Where the input example is stored, if one was saved.</summary>
    public SavedInputExampleInfo? SavedInputExampleInfo { get; init; }

    /// <summary>User metadata (any YAML values).</summary>
    public IReadOnlyDictionary<string, object?>? Metadata { get; init; }

    /// <summary>The total size of the model files at save time.</summary>
    public long? ModelSizeBytes { get; init; }

    /// <summary>Other top-level keys (e.g. <c>prompts</c>, <c>env_vars</c>), kept as read so that they round-trip.</summary>
    public IReadOnlyDictionary<string, object?> AdditionalFields { get; init; } = new Dictionary<string, object?>();

    /// <summary>The flavor with the given name, or <see langword="null"/>.</summary>
    /// <param name="name">The flavor name, e.g. <c>onnx</c>.</param>
    /// <returns>The flavor.</returns>
    public MlflowFlavor? GetFlavor(string name) => Flavors.TryGetValue(name, out var flavor) ? flavor : null;

    /// <summary>The <c>onnx</c> flavor as a typed object, or <see langword="null"/> when the model has none.</summary>
    /// <returns>The ONNX flavor.</returns>
    public OnnxFlavor? GetOnnxFlavor() => GetFlavor(OnnxFlavor.FlavorName) is { } flavor ? OnnxFlavor.FromConfig(flavor.Config, GetFlavor(PythonFunctionFlavor.FlavorName)?.Config) : null;

    /// <summary>Formats a time as Python's <c>str(datetime)</c>: <c>2024-04-25 00:02:44.123456</c>, without the fraction when it is 0.</summary>
    /// <param name="utc">The time.</param>
    /// <returns>The text.</returns>
    public static string FormatTime(DateTime utc)
    {
        var microseconds = (utc.Ticks % TimeSpan.TicksPerSecond) / 10;
        var whole = utc.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        return microseconds == 0 ? whole : string.Create(CultureInfo.InvariantCulture, $"{whole}.{microseconds:000000}");
    }

    /// <summary>Writes the <c>MLmodel</c> YAML.</summary>
    /// <returns>The YAML text.</returns>
    public string ToYaml() => PyYaml.Write(ToTree());

    /// <summary>Reads an <c>MLmodel</c> YAML text.</summary>
    /// <param name="yaml">The text.</param>
    /// <returns>The model.</returns>
    /// <exception cref="FormatException">When the text is not a valid <c>MLmodel</c>.</exception>
    public static MlflowModel Parse(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        return FromTree(PyYaml.Read(yaml));
    }

    /// <summary>Reads <c>MLmodel</c> from a model directory (or the path of the file itself).</summary>
    /// <param name="path">The model directory or the <c>MLmodel</c> file.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The model.</returns>
    public static async Task<MlflowModel> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        if (!File.Exists(file))
        {
            throw new FileNotFoundException($"No {FileName} file at '{file}': the directory is not an MLflow model.", file);
        }

        return Parse(await File.ReadAllTextAsync(file, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Writes <c>MLmodel</c> into a model directory.</summary>
    /// <param name="directory">The model directory (created if missing).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The path of the written file.</returns>
    public async Task<string> SaveAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, FileName);
        await File.WriteAllTextAsync(file, ToYaml(), cancellationToken).ConfigureAwait(false);
        return file;
    }

    /// <summary>The model as a YAML tree (MLflow's <c>Model.to_dict()</c>).</summary>
    internal IReadOnlyDictionary<string, object?> ToTree()
    {
        var map = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var field in AdditionalFields)
        {
            map[field.Key] = field.Value;
        }

        if (ArtifactPath is not null)
        {
            map["artifact_path"] = ArtifactPath;
        }

        map["flavors"] = Flavors.ToDictionary(f => f.Key, f => (object?)f.Value.Config, StringComparer.Ordinal);
        if (RunId is not null)
        {
            map["run_id"] = RunId;
        }

        map["utc_time_created"] = FormatTime(UtcTimeCreated);
        map["model_uuid"] = ModelUuid;
        if (MlflowVersion is not null)
        {
            map["mlflow_version"] = MlflowVersion;
        }

        if (ModelId is not null)
        {
            map["model_id"] = ModelId;
        }

        if (Signature is not null)
        {
            map["signature"] = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["inputs"] = Signature.InputsJson,
                ["outputs"] = Signature.OutputsJson,
                ["params"] = Signature.ParamsJson,
            };
        }

        if (SavedInputExampleInfo is not null)
        {
            map["saved_input_example_info"] = SavedInputExampleInfo.ToTree();
        }

        if (Metadata is not null)
        {
            map["metadata"] = Metadata;
        }

        if (ModelSizeBytes is not null)
        {
            map["model_size_bytes"] = ModelSizeBytes.Value;
        }

        return map;
    }

    private static MlflowModel FromTree(IReadOnlyDictionary<string, object?> map)
    {
        var additional = new Dictionary<string, object?>(StringComparer.Ordinal);
        string? artifactPath = null, runId = null, modelUuid = null, mlflowVersion = null, modelId = null;
        var created = default(DateTime);
        var flavors = new Dictionary<string, MlflowFlavor>(StringComparer.Ordinal);
        ModelSignature? signature = null;
        SavedInputExampleInfo? example = null;
        IReadOnlyDictionary<string, object?>? metadata = null;
        long? size = null;
        foreach (var (key, value) in map)
        {
            switch (key)
            {
                case "artifact_path":
                    artifactPath = AsString(value);
                    break;
                case "run_id":
                    runId = AsString(value);
                    break;
                case "model_uuid":
                    modelUuid = AsString(value);
                    break;
                case "mlflow_version":
                    mlflowVersion = AsString(value);
                    break;
                case "model_id":
                    modelId = AsString(value);
                    break;
                case "utc_time_created":
                    created = ParseTime(AsString(value));
                    break;
                case "flavors" when value is IReadOnlyDictionary<string, object?> flavorMap:
                    foreach (var (name, config) in flavorMap)
                    {
                        flavors[name] = new MlflowFlavor(name, config as IReadOnlyDictionary<string, object?> ?? new Dictionary<string, object?>());
                    }

                    break;
                case "signature" when value is IReadOnlyDictionary<string, object?> sig:
                    signature = ModelSignature.FromJson(AsString(sig.GetValueOrDefault("inputs")), AsString(sig.GetValueOrDefault("outputs")), AsString(sig.GetValueOrDefault("params")));
                    break;
                case "saved_input_example_info" when value is IReadOnlyDictionary<string, object?> info:
                    example = SavedInputExampleInfo.FromTree(info);
                    break;
                case "metadata" when value is IReadOnlyDictionary<string, object?> meta:
                    metadata = meta;
                    break;
                case "model_size_bytes" when value is long bytes:
                    size = bytes;
                    break;
                default:
                    additional[key] = value;
                    break;
            }
        }

        return new MlflowModel
        {
            ArtifactPath = artifactPath,
            Flavors = flavors,
            RunId = runId,
            UtcTimeCreated = created,
            ModelUuid = modelUuid,
            MlflowVersion = mlflowVersion,
            ModelId = modelId,
            Signature = signature,
            SavedInputExampleInfo = example,
            Metadata = metadata,
            ModelSizeBytes = size,
            AdditionalFields = additional,
        };
    }

    private static string? AsString(object? value) => value switch
    {
        null => null,
        string s => s,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    private static DateTime ParseTime(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return default;
        }

        string[] formats = ["yyyy-MM-dd HH:mm:ss.ffffff", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.FFFFFFF", "yyyy-MM-ddTHH:mm:ss.FFFFFFF"];
        return DateTime.TryParseExact(text, formats, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
            ? DateTime.SpecifyKind(time, DateTimeKind.Utc)
            : throw new FormatException($"utc_time_created '{text}' is not a time like '2024-04-25 00:02:44.123456'.");
    }
}

/// <summary>One flavor entry of <c>MLmodel</c>: its name and its configuration map.</summary>
/// <param name="Name">The flavor name, e.g. <c>onnx</c>, <c>python_function</c>, <c>mlnet</c>.</param>
/// <param name="Config">The configuration (YAML values: strings, numbers, booleans, null, lists, maps).</param>
public sealed record MlflowFlavor(string Name, IReadOnlyDictionary<string, object?> Config)
{
    /// <summary>A configuration value as a string, or <see langword="null"/>.</summary>
    /// <param name="key">The key, e.g. <c>data</c>.</param>
    /// <returns>The value.</returns>
    public string? GetString(string key) => Config.TryGetValue(key, out var value) && value is not null ? System.Convert.ToString(value, CultureInfo.InvariantCulture) : null;
}

/// <summary>The <c>saved_input_example_info</c> entry (MODELS.md §4).</summary>
public sealed record SavedInputExampleInfo
{
    /// <summary>The example file, always <c>input_example.json</c>.</summary>
    public string ArtifactPath { get; init; } = "input_example.json";

    /// <summary><c>ndarray</c>, <c>dataframe</c>, <c>json_object</c>, <c>sparse_matrix_csc</c> or <c>sparse_matrix_csr</c>.</summary>
    public string Type { get; init; } = "ndarray";

    /// <summary>The scoring-server request file (<c>serving_input_example.json</c>), if written.</summary>
    public string? ServingInputPath { get; init; }

    /// <summary>For DataFrames: <c>split</c> or <c>values</c>.</summary>
    public string? PandasOrient { get; init; }

    /// <summary><c>'true'</c> when the example carried inference params.</summary>
    public string? Params { get; init; }

    internal IReadOnlyDictionary<string, object?> ToTree()
    {
        var map = new Dictionary<string, object?>(StringComparer.Ordinal) { ["artifact_path"] = ArtifactPath, ["type"] = Type };
        if (ServingInputPath is not null)
        {
            map["serving_input_path"] = ServingInputPath;
        }

        if (PandasOrient is not null)
        {
            map["pandas_orient"] = PandasOrient;
        }

        if (Params is not null)
        {
            map["params"] = Params;
        }

        return map;
    }

    internal static SavedInputExampleInfo FromTree(IReadOnlyDictionary<string, object?> map) => new()
    {
        ArtifactPath = map.GetValueOrDefault("artifact_path") as string ?? "input_example.json",
        Type = map.GetValueOrDefault("type") as string ?? "ndarray",
        ServingInputPath = map.GetValueOrDefault("serving_input_path") as string,
        PandasOrient = map.GetValueOrDefault("pandas_orient") as string,
        Params = map.GetValueOrDefault("params") is { } p ? System.Convert.ToString(p, CultureInfo.InvariantCulture)?.ToLowerInvariant() : null,
    };
}
