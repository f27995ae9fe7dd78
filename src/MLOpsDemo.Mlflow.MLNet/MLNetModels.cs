using Microsoft.Extensions.Logging;
using Microsoft.ML;

namespace MLOpsDemo.Mlflow.MLNet;

/// <summary>
/// Logs ML.NET models as MLflow models and loads them back. Logging goes through <see cref="ModelsClient.LogModelAsync"/>,
/// so MLflow 3 logged models, the 2.x fallback, registration and the <c>MLmodel</c> format are the same as for any model.
/// </summary>
public static partial class MLNetModels
{
    /// <summary>
    /// Saves <paramref name="model"/> with <c>mlContext.Model.Save</c> (flavor <c>mlnet</c>), exports it to ONNX when every
    /// transform of the chain converts (flavors <c>onnx</c> and <c>python_function</c>, so Python's <c>mlflow.onnx</c> and
    /// <c>mlflow.pyfunc</c> load it), derives the signature and the input example from <see cref="MLNetModelOptions.InputData"/>,
    /// and logs the directory for the run. When the export is impossible the model is logged with the <c>mlnet</c> flavor
    /// only and <see cref="MLNetModelLogResult.Warning"/> names the transform that blocked it.
    /// </summary>
    /// <param name="models">The models client (<c>client.Models</c>).</param>
    /// <param name="runId">The run.</param>
    /// <param name="mlContext">The ML.NET context that fitted the model.</param>
    /// <param name="model">The fitted model.</param>
    /// <param name="options">The input data, path, registration and export choices.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>Where the model went and whether ONNX was exported.</returns>
    public static async Task<MLNetModelLogResult> LogMLNetModelAsync(this ModelsClient models, string runId, MLContext mlContext, ITransformer model, MLNetModelOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(model);
        Validate(options);
        var directory = Directory.CreateTempSubdirectory("mlflow-mlnet-");
        try
        {
            var (logOptions, result) = Prepare(mlContext, model, options, directory.FullName);
            var logged = await models.LogModelAsync(runId, logOptions, cancellationToken).ConfigureAwait(false);
            return result with { Logged = logged };
        }
        finally
        {
            TryDelete(directory.FullName);
        }
    }

    /// <summary>
    /// Writes the ML.NET model directory locally (no run, no upload): what <see cref="LogMLNetModelAsync(ModelsClient, string, MLContext, ITransformer, MLNetModelOptions, CancellationToken)"/> uploads.
    /// </summary>
    /// <param name="models">The models client.</param>
    /// <param name="directory">The directory to write.</param>
    /// <param name="mlContext">The ML.NET context that fitted the model.</param>
    /// <param name="model">The fitted model.</param>
    /// <param name="options">The input data and export choices.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The <c>MLmodel</c> written and whether ONNX was exported.</returns>
    public static async Task<(MlflowModel Model, bool OnnxExported, string? Warning)> SaveMLNetModelAsync(this ModelsClient models, string directory, MLContext mlContext, ITransformer model, MLNetModelOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(model);
        Validate(options);
        var work = Directory.CreateTempSubdirectory("mlflow-mlnet-");
        try
        {
            var (logOptions, result) = Prepare(mlContext, model, options, work.FullName);
            var written = await models.SaveModelAsync(directory, logOptions, cancellationToken).ConfigureAwait(false);
            return (written, result.OnnxExported, result.Warning);
        }
        finally
        {
            TryDelete(work.FullName);
        }
    }

    /// <summary>
    /// Downloads the model at <paramref name="modelUri"/> and loads its <c>mlnet</c> flavor with <c>mlContext.Model.Load</c>.
    /// </summary>
    /// <param name="models">The models client (<c>client.Models</c>).</param>
    /// <param name="modelUri"><c>models:/name@alias</c>, <c>models:/name/3</c>, <c>models:/m-…</c> or <c>runs:/&lt;run&gt;/model</c>.</param>
    /// <param name="mlContext">The context to load into.</param>
    /// <param name="cancellationToken">Cancels the download.</param>
    /// <returns>The transformer, its input schema, the <c>MLmodel</c> and the resolution.</returns>
    /// <exception cref="InvalidOperationException">The model has no <c>mlnet</c> flavor (e.g. it was logged by Python); the message lists its flavors.</exception>
    public static async Task<MLNetModel> LoadMLNetModelAsync(this ModelsClient models, string modelUri, MLContext mlContext, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelUri);
        ArgumentNullException.ThrowIfNull(mlContext);
        var directory = Path.Combine(Path.GetTempPath(), "mlflow-mlnet-" + Guid.NewGuid().ToString("N"));
        try
        {
            var downloaded = await models.DownloadModelAsync(modelUri, directory, cancellationToken).ConfigureAwait(false);
            if (downloaded.Model.GetFlavor(MLNetFlavor.FlavorName) is null)
            {
                var flavors = downloaded.Model.Flavors.Count == 0 ? "none" : string.Join(", ", downloaded.Model.Flavors.Keys.Order(StringComparer.Ordinal));
                throw new InvalidOperationException(
                    $"{modelUri} has no '{MLNetFlavor.FlavorName}' flavor (its flavors: {flavors}), so ML.NET cannot load it. Models logged with LogMLNetModelAsync have it; "
                    + "for a model logged by Python, use the flavor it has (e.g. ONNX Runtime on the 'onnx' flavor's file via client.Models.DownloadModelAsync).");
            }

            var file = downloaded.GetDataPath(MLNetFlavor.FlavorName)!;
            if (!File.Exists(file))
            {
                throw new InvalidOperationException($"{modelUri}: the mlnet flavor names '{downloaded.Model.GetFlavor(MLNetFlavor.FlavorName)!.GetString("data")}', which the model directory does not contain.");
            }

            // Load from memory so that the download folder can go at once.
            var bytes = await File.ReadAllBytesAsync(file, cancellationToken).ConfigureAwait(false);
            using var stream = new MemoryStream(bytes, writable: false);
            var transformer = mlContext.Model.Load(stream, out var schema);
            return new MLNetModel { Transformer = transformer, InputSchema = schema, Model = downloaded.Model, Source = downloaded.Source };
        }
        finally
        {
            TryDelete(directory);
        }
    }

    internal static void Validate(MLNetModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.InputData is null)
        {
            throw new ArgumentException("MLNetModelOptions.InputData is required: pass data with the model's input schema, e.g. the training data.", nameof(options));
        }

        if (options.InputExampleRows < 0)
        {
            throw new ArgumentException($"MLNetModelOptions.InputExampleRows is {options.InputExampleRows}; use 0 (no example) or more.", nameof(options));
        }
    }

    /// <summary>Writes model.zip (and model.onnx, env files) into <paramref name="work"/> and builds the core options.</summary>
    internal static (LogModelOptions Options, MLNetModelLogResult Result) Prepare(MLContext mlContext, ITransformer model, MLNetModelOptions options, string work)
    {
        var inputData = options.InputData;
        if (options.ExcludeColumns is { Count: > 0 } exclude)
        {
            var missing = exclude.Where(c => inputData.Schema.GetColumnOrNull(c) is null).ToList();
            if (missing.Count > 0)
            {
                throw new ArgumentException($"MLNetModelOptions.ExcludeColumns names {string.Join(", ", missing)}, which InputData does not have (it has {string.Join(", ", MLNetSignature.VisibleColumns(inputData.Schema).Select(c => c.Name))}).", nameof(options));
            }

            // Cached, so that the view is a root of its own: ML.NET's ONNX converter takes the graph inputs from the
            // root of the transform chain, which would bring the dropped columns back as graph inputs.
            inputData = mlContext.Data.Cache(mlContext.Transforms.DropColumns([.. exclude]).Fit(inputData).Transform(inputData));
        }

        var inputSchema = inputData.Schema;
        var zip = Path.Combine(work, "model.zip");
        mlContext.Model.Save(model, inputSchema, zip);

        OnnxFlavor? onnx = null;
        string? blockedBy = null, warning = null;
        var additional = new List<string>();
        if (options.ExportOnnx)
        {
            var onnxFile = Path.Combine(work, "model.onnx");
            blockedBy = OnnxExport.TryExport(mlContext, model, inputData, onnxFile, out var error);
            if (blockedBy is null)
            {
                // The core writes the env files (conda.yaml, python_env.yaml, requirements.txt) the flavor names.
                onnx = new OnnxFlavor { OnnxVersion = options.OnnxVersion, OnnxRuntimeVersion = options.OnnxRuntimeVersion, PythonVersion = options.PythonVersion, Providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] };
                additional.Add(onnxFile);
            }
            else
            {
                warning = $"The model is logged with the mlnet flavor only (no onnx/python_function flavors, so Python cannot load it): {error}. Remove or replace {blockedBy} to get an ONNX export.";
                if (options.Logger is { } logger)
                {
                    LogOnnxSkipped(logger, warning);
                }
            }
        }

        ModelSignature? signature = null;
        if (options.IncludeSignature)
        {
            var inputNames = new HashSet<string>(MLNetSignature.VisibleColumns(inputSchema).Select(c => c.Name), StringComparer.Ordinal);
            var outputSchema = model.GetOutputSchema(inputSchema);
            var outputs = MLNetSignature.VisibleColumns(outputSchema).Where(c => !inputNames.Contains(c.Name)).Select(MLNetSignature.ToColSpec).ToList();
            signature = new ModelSignature { Inputs = MLNetSignature.ToColSpecs(inputSchema), Outputs = outputs.Count == 0 ? null : outputs };
        }

        var flavor = new MLNetFlavor { InputSchema = MLNetSignature.Describe(inputSchema), Onnx = onnx, PythonVersion = options.PythonVersion };
        var logOptions = new LogModelOptions
        {
            ArtifactPath = options.ArtifactPath,
            Flavor = flavor,
            ModelFile = zip,
            AdditionalFiles = additional,
            Signature = signature,
            InputExample = options.InputExampleRows > 0 ? MLNetSignature.ToInputExample(inputData, options.InputExampleRows) : null,
            Metadata = options.Metadata,
            MlflowVersion = options.MlflowVersion,
            RegisteredModelName = options.RegisteredModelName,
            ModelType = options.ModelType,
            Tags = options.Tags,
            Step = options.Step,
        };
        var placeholder = new ModelLogResult { ModelUri = "", ArtifactUri = "", RunId = "", Model = new MlflowModel() };
        return (logOptions, new MLNetModelLogResult { Logged = placeholder, OnnxExported = onnx is not null, OnnxBlockedBy = blockedBy, Warning = warning });
    }

    /// <summary>Deletes a temporary model directory; a leftover one is harmless (also used by <see cref="ChampionModel{TIn, TOut}"/>).</summary>
    internal static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Warning}")]
    private static partial void LogOnnxSkipped(ILogger logger, string warning);
}
