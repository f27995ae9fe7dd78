using Microsoft.Extensions.Logging;
using Microsoft.ML;

namespace MLOpsDemo.Mlflow.MLNet;

#pragma warning disable SA1402 // the options and results of ML.NET model logging belong together

/// <summary>
/// Options of <see cref="MLNetModels.LogMLNetModelAsync(ModelsClient, string, MLContext, ITransformer, MLNetModelOptions, CancellationToken)"/>:
/// the same choices as <see cref="LogModelOptions"/> (path, registration, logged-model type and tags), plus the data
/// that gives the input schema, the ONNX export and the input example.
/// </summary>
public sealed record MLNetModelOptions
{
    /// <summary>
    /// Data with the model's input schema (e.g. the training data): its schema is saved with the model and becomes the
    /// signature's inputs, ONNX export reads it, and its first rows become the input example. Required.
    /// </summary>
    public required IDataView InputData { get; init; }

    /// <summary>
    /// Columns of <see cref="InputData"/> the model does not need to predict (typically the label): left out of the
    /// saved input schema, the ONNX graph's inputs, the signature and the input example.
    /// </summary>
    public IReadOnlyList<string>? ExcludeColumns { get; init; }

    /// <summary>The model's path under the run's artifacts (2.x) and the logged model's name (3.x). Default <c>model</c>.</summary>
    public string ArtifactPath { get; init; } = "model";

    /// <summary>Whether to try the ONNX export (<c>onnx</c> + <c>python_function</c> flavors). Default true.</summary>
    public bool ExportOnnx { get; init; } = true;

    /// <summary>How many rows of <see cref="InputData"/> make the input example (0: none). Default 5.</summary>
    public int InputExampleRows { get; init; } = 5;

    /// <summary>Whether to write the signature (inputs from <see cref="InputData"/>, outputs = the columns the model adds). Default true.</summary>
    public bool IncludeSignature { get; init; } = true;

    /// <summary>When set, the model is registered under this name (the registered model is created if needed).</summary>
    public string? RegisteredModelName { get; init; }

    /// <summary>MLflow 3: the logged model's type (e.g. <c>classifier</c>).</summary>
    public string? ModelType { get; init; }

    /// <summary>MLflow 3: tags of the logged model.</summary>
    public IReadOnlyDictionary<string, string>? Tags { get; init; }

    /// <summary>MLflow 3: the step at which the run produced the model.</summary>
    public long Step { get; init; }

    /// <summary>User metadata written to <c>MLmodel</c>.</summary>
    public IReadOnlyDictionary<string, object?>? Metadata { get; init; }

    /// <summary>The <c>mlflow_version</c> claimed in <c>MLmodel</c> and <c>requirements.txt</c>.</summary>
    public string MlflowVersion { get; init; } = MlflowModel.DefaultMlflowVersion;

    /// <summary>The <c>onnx</c> package version recorded in the <c>onnx</c> flavor and the requirements. Default <c>1.17.0</c>.</summary>
    public string OnnxVersion { get; init; } = "1.17.0";

    /// <summary>The <c>onnxruntime</c> version written to the requirements. Default <c>1.19.2</c>.</summary>
    public string OnnxRuntimeVersion { get; init; } = "1.19.2";

    /// <summary>The Python version recorded in <c>python_function</c> and the env files. Default <c>3.11.7</c>.</summary>
    public string PythonVersion { get; init; } = "3.11.7";

    /// <summary>Receives the warning when the ONNX export is impossible (optional; the result carries it too).</summary>
    public ILogger? Logger { get; init; }
}

/// <summary>The result of logging an ML.NET model.</summary>
public sealed record MLNetModelLogResult
{
    /// <summary>What <see cref="ModelsClient.LogModelAsync"/> returned: the model URI, the <c>MLmodel</c>, the registered version.</summary>
    public required ModelLogResult Logged { get; init; }

    /// <summary>A URI that loads the model (<c>models:/m-…</c> on MLflow 3, <c>runs:/…</c> on 2.x).</summary>
    public string ModelUri => Logged.ModelUri;

    /// <summary>Whether the <c>onnx</c> and <c>python_function</c> flavors were written.</summary>
    public bool OnnxExported { get; init; }

    /// <summary>When the export was impossible: the transform that blocked it (its type name), else <see langword="null"/>.</summary>
    public string? OnnxBlockedBy { get; init; }

    /// <summary>The warning given when the ONNX export was skipped, else <see langword="null"/>.</summary>
    public string? Warning { get; init; }
}

/// <summary>An ML.NET model loaded from MLflow.</summary>
public sealed record MLNetModel
{
    /// <summary>The fitted model.</summary>
    public required ITransformer Transformer { get; init; }

    /// <summary>The input schema saved with the model.</summary>
    public required DataViewSchema InputSchema { get; init; }

    /// <summary>The parsed <c>MLmodel</c>.</summary>
    public required MlflowModel Model { get; init; }

    /// <summary>How the URI was resolved (registered name and version, run, artifact URI).</summary>
    public required ResolvedModelUri Source { get; init; }
}
