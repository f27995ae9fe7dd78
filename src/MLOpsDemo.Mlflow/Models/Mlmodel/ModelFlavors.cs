using System.Globalization;

namespace MLOpsDemo.Mlflow;

#pragma warning disable SA1402 // the flavor definitions belong together

/// <summary>
/// How a model is stored and loaded: produces the <c>flavors</c> entries of <c>MLmodel</c> and names the model file
/// inside the model directory. Use <see cref="OnnxFlavor"/> or <see cref="CustomFlavor"/>.
/// </summary>
public abstract record ModelFlavor
{
    /// <summary>The model file's path relative to the model root (e.g. <c>model.onnx</c>), or <see langword="null"/>.</summary>
    public abstract string? DataPath { get; }

    /// <summary>
    /// The Python environment whose files (<c>conda.yaml</c>, <c>python_env.yaml</c>, <c>requirements.txt</c>) are
    /// written into the model directory, as the <c>python_function</c> entry's <c>env</c> names them, or
    /// <see langword="null"/> when the flavor names none.
    /// </summary>
    public virtual PythonEnvironment? PythonEnvironment => null;

    /// <summary>The <c>flavors</c> entries this flavor writes.</summary>
    /// <returns>The entries.</returns>
    public abstract IReadOnlyList<MlflowFlavor> ToMlflowFlavors();
}

/// <summary>
/// The <c>onnx</c> flavor, plus (by default) the <c>python_function</c> entry with <c>loader_module: mlflow.onnx</c>, so
/// that Python's <c>mlflow.onnx.load_model</c> and <c>mlflow.pyfunc.load_model</c> load a model logged from .NET. As
/// Python's <c>mlflow.onnx.save_model</c>, the entry carries <c>python_version</c> and <c>env</c>, and the model
/// directory gets <c>conda.yaml</c>, <c>python_env.yaml</c> and <c>requirements.txt</c> (mlflow, onnx, onnxruntime).
/// </summary>
public sealed record OnnxFlavor : ModelFlavor
{
    /// <summary>The flavor name, <c>onnx</c>.</summary>
    public const string FlavorName = "onnx";

    /// <summary>The <c>onnx</c> package version recorded (informational).</summary>
    public string OnnxVersion { get; init; } = "1.17.0";

    /// <summary>The model file, relative to the model root; it must sit directly in the root (MODELS.md §5).</summary>
    public string Data { get; init; } = "model.onnx";

    /// <summary>onnxruntime execution providers, in order of preference.</summary>
    public IReadOnlyList<string> Providers { get; init; } = ["CPUExecutionProvider"];

    /// <summary>Session options (<c>intra_op_num_threads</c>, <c>execution_mode</c>…), or <see langword="null"/>.</summary>
    public IReadOnlyDictionary<string, object?>? SessionOptions { get; init; }

    /// <summary>Whether to add the <c>python_function</c> entry (default true).</summary>
    public bool IncludePythonFunction { get; init; } = true;

    /// <summary>
    /// The Python version recorded in <c>python_function</c> and the env files (a mismatch only warns). Default
    /// <see cref="PythonEnvironment.DefaultPythonVersion"/>; <see langword="null"/> leaves the key out.
    /// </summary>
    public string? PythonVersion { get; init; } = PythonEnvironment.DefaultPythonVersion;

    /// <summary>The <c>onnxruntime</c> version written to the requirements. Default <c>1.19.2</c>.</summary>
    public string OnnxRuntimeVersion { get; init; } = "1.19.2";

    /// <summary>
    /// Whether <c>python_function</c> names the env files (<c>env: {conda: conda.yaml, virtualenv: python_env.yaml}</c>)
    /// and the model directory gets them, as Python writes them (for <c>mlflow models serve --env-manager</c>). Default true.
    /// </summary>
    public bool IncludeEnv { get; init; } = true;

    /// <inheritdoc />
    public override string? DataPath => Data;

    /// <inheritdoc />
    public override PythonEnvironment? PythonEnvironment => IncludePythonFunction && IncludeEnv
        ? new PythonEnvironment
        {
            PythonVersion = PythonVersion ?? PythonEnvironment.DefaultPythonVersion,
            Requirements = [$"onnx=={OnnxVersion}", $"onnxruntime=={OnnxRuntimeVersion}"],
        }
        : null;

    /// <inheritdoc />
    public override IReadOnlyList<MlflowFlavor> ToMlflowFlavors()
    {
        if (Data.Contains('/', StringComparison.Ordinal) || Data.Contains('\\', StringComparison.Ordinal) || Data.Length == 0)
        {
            throw new InvalidOperationException($"OnnxFlavor.Data '{Data}' must be a file name directly in the model root (Python's ONNX loader reads MLmodel from the data file's directory).");
        }

        var onnx = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["code"] = null,
            ["data"] = Data,
            ["onnx_session_options"] = SessionOptions,
            ["onnx_version"] = OnnxVersion,
            ["providers"] = Providers.Select(p => (object?)p).ToList(),
        };
        var flavors = new List<MlflowFlavor> { new(FlavorName, onnx) };
        if (IncludePythonFunction)
        {
            flavors.Add(new PythonFunctionFlavor("mlflow.onnx", Data) { PythonVersion = PythonVersion, Environment = PythonEnvironment }.ToMlflowFlavor());
        }

        return flavors;
    }

    internal static OnnxFlavor FromConfig(IReadOnlyDictionary<string, object?> config, IReadOnlyDictionary<string, object?>? pythonFunction) => new()
    {
        OnnxVersion = config.GetValueOrDefault("onnx_version") is { } v ? Convert.ToString(v, CultureInfo.InvariantCulture) ?? "" : "",
        Data = config.GetValueOrDefault("data") as string ?? "model.onnx",
        Providers = config.GetValueOrDefault("providers") is IReadOnlyList<object?> list ? list.Select(p => Convert.ToString(p, CultureInfo.InvariantCulture) ?? "").ToList() : ["CUDAExecutionProvider", "CPUExecutionProvider"],
        SessionOptions = config.GetValueOrDefault("onnx_session_options") as IReadOnlyDictionary<string, object?>,
        IncludePythonFunction = pythonFunction is not null,
        PythonVersion = pythonFunction?.GetValueOrDefault("python_version") is { } python ? Convert.ToString(python, CultureInfo.InvariantCulture) : null,
        IncludeEnv = pythonFunction?.GetValueOrDefault("env") is not null,
    };
}

/// <summary>The <c>python_function</c> entry: which Python module loads the model (MODELS.md §5).</summary>
/// <param name="LoaderModule">The module with <c>_load_pyfunc</c>, e.g. <c>mlflow.onnx</c>.</param>
/// <param name="Data">The data path relative to the model root, or <see langword="null"/>.</param>
public sealed record PythonFunctionFlavor(string LoaderModule, string? Data = null)
{
    /// <summary>The flavor name, <c>python_function</c>.</summary>
    public const string FlavorName = "python_function";

    /// <summary>The Python version recorded (optional).</summary>
    public string? PythonVersion { get; init; }

    /// <summary>Environment files, e.g. <c>{conda: conda.yaml, virtualenv: python_env.yaml}</c> (optional).</summary>
    public IReadOnlyDictionary<string, object?>? Env { get; init; }

    /// <summary>
    /// The Python environment: when set (and <see cref="Env"/> is not), the entry names its files
    /// (<c>env: {conda: conda.yaml, virtualenv: python_env.yaml}</c>) and records its <c>python_version</c> unless
    /// <see cref="PythonVersion"/> is set. The flavor that carries this entry has the files written.
    /// </summary>
    public PythonEnvironment? Environment { get; init; }

    /// <summary>The entry as written to <c>MLmodel</c>.</summary>
    /// <returns>The flavor entry.</returns>
    public MlflowFlavor ToMlflowFlavor()
    {
        var config = new Dictionary<string, object?>(StringComparer.Ordinal) { ["loader_module"] = LoaderModule };
        if (Data is not null)
        {
            config["data"] = Data;
        }

        if ((Env ?? (Environment is null ? null : PythonEnvironment.EnvConfig)) is { } env)
        {
            config["env"] = env;
        }

        if ((PythonVersion ?? Environment?.PythonVersion) is { } pythonVersion)
        {
            config["python_version"] = pythonVersion;
        }

        return new MlflowFlavor(FlavorName, config);
    }
}

/// <summary>
/// Any other flavor, e.g. an ML.NET model: <c>new CustomFlavor("mlnet", "model.zip", new Dictionary&lt;string, object?&gt; { ["mlnet_version"] = "4.0.0" })</c>.
/// MLflow keeps unknown flavors and ignores them when loading; add <see cref="PythonFunction"/> to make it loadable from Python.
/// </summary>
/// <param name="Name">The flavor name (a YAML key, e.g. <c>mlnet</c>).</param>
/// <param name="Data">The model file relative to the model root (also written as the <c>data</c> key), or <see langword="null"/>.</param>
/// <param name="Config">Other keys of the flavor.</param>
public sealed record CustomFlavor(string Name, string? Data = null, IReadOnlyDictionary<string, object?>? Config = null) : ModelFlavor
{
    /// <summary>An optional <c>python_function</c> entry written next to this flavor.</summary>
    public PythonFunctionFlavor? PythonFunction { get; init; }

    /// <inheritdoc />
    public override string? DataPath => Data;

    /// <inheritdoc />
    public override PythonEnvironment? PythonEnvironment => PythonFunction?.Environment;

    /// <inheritdoc />
    public override IReadOnlyList<MlflowFlavor> ToMlflowFlavors()
    {
        if (string.IsNullOrWhiteSpace(Name))
        {
            throw new InvalidOperationException("A custom flavor needs a name, e.g. 'mlnet'.");
        }

        var config = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (Config is not null)
        {
            foreach (var (key, value) in Config)
            {
                config[key] = value;
            }
        }

        if (Data is not null)
        {
            config["data"] = Data;
        }

        var flavors = new List<MlflowFlavor> { new(Name, config) };
        if (PythonFunction is not null)
        {
            flavors.Add(PythonFunction.ToMlflowFlavor());
        }

        return flavors;
    }
}

/// <summary>An input example saved with a model (<c>input_example.json</c> and <c>serving_input_example.json</c>).</summary>
/// <param name="Json">The example as JSON: a list for an ndarray, <c>{"columns": [...], "data": [[...]]}</c> for a DataFrame, any JSON for <c>json_object</c>.</param>
/// <param name="Type"><c>ndarray</c> (default), <c>dataframe</c> or <c>json_object</c>.</param>
public sealed record ModelInputExample(string Json, string Type = "ndarray")
{
    /// <summary>For DataFrames: <c>split</c> (default for <c>dataframe</c>) or <c>values</c>.</summary>
    public string? PandasOrient { get; init; }

    /// <summary>The scoring-server request body; <see langword="null"/> derives it (<c>{"inputs": …}</c> or <c>{"dataframe_split": …}</c>).</summary>
    public string? ServingInputJson { get; init; }
}
