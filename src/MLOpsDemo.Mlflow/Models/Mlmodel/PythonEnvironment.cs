using System.Globalization;
using System.Text;

namespace MLOpsDemo.Mlflow;

/// <summary>
/// The Python environment saved with a model, as Python's <c>mlflow.&lt;flavor&gt;.save_model</c> writes it:
/// <c>conda.yaml</c>, <c>python_env.yaml</c> and <c>requirements.txt</c> in the model root, named by the
/// <c>python_function</c> entry's <c>env</c> key, so that <c>mlflow models serve --env-manager virtualenv|uv|conda</c>
/// can rebuild it. A flavor exposes it through <see cref="ModelFlavor.PythonEnvironment"/>.
/// </summary>
public sealed record PythonEnvironment
{
    /// <summary>The Python version recorded when none is given, <c>3.11.7</c>.</summary>
    public const string DefaultPythonVersion = "3.11.7";

    /// <summary>The conda environment file, <c>conda.yaml</c>.</summary>
    public const string CondaFileName = "conda.yaml";

    /// <summary>The virtualenv environment file, <c>python_env.yaml</c>.</summary>
    public const string PythonEnvFileName = "python_env.yaml";

    /// <summary>The pip requirements file, <c>requirements.txt</c>.</summary>
    public const string RequirementsFileName = "requirements.txt";

    /// <summary>The Python version (<c>python=…</c> in <c>conda.yaml</c>, <c>python:</c> in <c>python_env.yaml</c>).</summary>
    public string PythonVersion { get; init; } = DefaultPythonVersion;

    /// <summary>
    /// The pip requirements besides MLflow itself, e.g. <c>onnx==1.17.0</c>; <c>mlflow==&lt;mlflow_version&gt;</c> is
    /// written first.
    /// </summary>
    public IReadOnlyList<string> Requirements { get; init; } = [];

    /// <summary>The <c>env</c> value of the <c>python_function</c> entry.</summary>
    internal static IReadOnlyDictionary<string, object?> EnvConfig => new Dictionary<string, object?>(StringComparer.Ordinal)
    {
        ["conda"] = CondaFileName,
        ["virtualenv"] = PythonEnvFileName,
    };

    /// <summary>The three files and their text, with the same keys and layout as Python's.</summary>
    /// <param name="mlflowVersion">The MLflow version the model claims (the first requirement).</param>
    /// <returns>File name and text, in the order Python writes them.</returns>
    internal IReadOnlyList<(string Name, string Text)> Files(string mlflowVersion)
    {
        if (string.IsNullOrWhiteSpace(PythonVersion))
        {
            throw new InvalidOperationException("PythonEnvironment.PythonVersion is empty; set a version such as '3.11.7'.");
        }

        var requirements = new List<string> { "mlflow==" + mlflowVersion };
        requirements.AddRange(Requirements.Where(r => !string.IsNullOrWhiteSpace(r)).Select(r => r.Trim()));

        var conda = new StringBuilder()
            .Append("channels:\n- conda-forge\ndependencies:\n")
            .Append(CultureInfo.InvariantCulture, $"- python={PythonVersion}\n")
            .Append("- pip<=24.2\n- pip:\n");
        foreach (var requirement in requirements)
        {
            conda.Append(CultureInfo.InvariantCulture, $"  - {requirement}\n");
        }

        conda.Append("name: mlflow-env\n");
        var pythonEnv = string.Create(
            CultureInfo.InvariantCulture,
            $"python: {PythonVersion}\nbuild_dependencies:\n- pip==24.2\n- setuptools==74.1.2\n- wheel==0.44.0\ndependencies:\n- -r {RequirementsFileName}\n");
        return [(CondaFileName, conda.ToString()), (PythonEnvFileName, pythonEnv), (RequirementsFileName, string.Join("\n", requirements))];
    }
}
