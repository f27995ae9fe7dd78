using System.Reflection;
using Microsoft.ML;

namespace MLOpsDemo.Mlflow.MLNet;

/// <summary>
/// The <c>mlnet</c> flavor: the model saved by <c>mlContext.Model.Save</c> (<see cref="Data"/>), the ML.NET version and
/// the input schema. With <see cref="Onnx"/> set it also writes MLflow's <c>onnx</c> flavor and a <c>python_function</c>
/// entry (loader <c>mlflow.onnx</c>, with <c>env</c> and <c>python_version</c> as Python's <c>mlflow.onnx.save_model</c>
/// writes them), so that Python loads the ONNX export.
/// </summary>
public sealed record MLNetFlavor : ModelFlavor
{
    /// <summary>The flavor name, <c>mlnet</c>.</summary>
    public const string FlavorName = "mlnet";

    /// <summary>The ML.NET model file, relative to the model root. Default <c>model.zip</c>.</summary>
    public string Data { get; init; } = "model.zip";

    /// <summary>The ML.NET version that saved the model. Default: the version of the loaded <c>Microsoft.ML</c>.</summary>
    public string MLNetVersion { get; init; } = CurrentMLNetVersion;

    /// <summary>The input columns as <c>{name, type}</c> entries (ML.NET type names), or <see langword="null"/>.</summary>
    public IReadOnlyList<object?>? InputSchema { get; init; }

    /// <summary>The ONNX export, or <see langword="null"/> when the model is logged with the <c>mlnet</c> flavor only.</summary>
    public OnnxFlavor? Onnx { get; init; }

    /// <summary>The Python version recorded in <c>python_function</c> (and in the env files). Default <c>3.11.7</c>.</summary>
    public string PythonVersion { get; init; } = "3.11.7";

    /// <summary>
    /// Whether <c>python_function</c> names the env files (<c>conda.yaml</c>, <c>python_env.yaml</c>) Python writes and the
    /// model directory gets them (with <c>requirements.txt</c>; see <see cref="OnnxFlavor.IncludeEnv"/>). Default true.
    /// </summary>
    public bool IncludeEnv { get; init; } = true;

    /// <summary>The version of the loaded <c>Microsoft.ML</c> assembly (its informational version, without build metadata).</summary>
    public static string CurrentMLNetVersion { get; } = ReadVersion();

    /// <inheritdoc />
    public override string? DataPath => Data;

    /// <inheritdoc />
    public override PythonEnvironment? PythonEnvironment => PythonLoadable?.PythonEnvironment;

    // The ONNX export as Python loads it: the onnx flavor and its python_function entry, with this flavor's Python
    // version and env choice (the one mechanism of the core's OnnxFlavor, which also names the env files to write).
    private OnnxFlavor? PythonLoadable => Onnx is null ? null : Onnx with { IncludePythonFunction = true, PythonVersion = PythonVersion, IncludeEnv = IncludeEnv };

    /// <inheritdoc />
    public override IReadOnlyList<MlflowFlavor> ToMlflowFlavors()
    {
        if (string.IsNullOrWhiteSpace(Data) || Data.Contains('\\', StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"MLNetFlavor.Data '{Data}' must be a relative file name such as 'model.zip'.");
        }

        var config = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["code"] = null,
            ["data"] = Data,
            ["mlnet_version"] = MLNetVersion,
        };
        if (InputSchema is not null)
        {
            config["input_schema"] = InputSchema;
        }

        if (Onnx is not null)
        {
            config["onnx_data"] = Onnx.Data;
        }

        var flavors = new List<MlflowFlavor> { new(FlavorName, config) };
        if (Onnx is not null)
        {
            flavors.AddRange(PythonLoadable!.ToMlflowFlavors());
        }

        return flavors;
    }

    private static string ReadVersion()
    {
        var assembly = typeof(MLContext).Assembly;
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? assembly.GetName().Version?.ToString() ?? "unknown";
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? version : version[..plus];
    }
}
