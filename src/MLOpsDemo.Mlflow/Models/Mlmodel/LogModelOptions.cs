namespace MLOpsDemo.Mlflow;

#pragma warning disable SA1402 // options and results of ModelsClient belong together

/// <summary>Options of <see cref="ModelsClient.LogModelAsync"/>.</summary>
public sealed record LogModelOptions
{
    /// <summary>The model's path under the run's artifacts (2.x) and the logged model's name (3.x). Default <c>model</c>.</summary>
    public string ArtifactPath { get; init; } = "model";

    /// <summary>The flavor, e.g. <c>new OnnxFlavor()</c> or <c>new CustomFlavor("mlnet", "model.zip")</c>.</summary>
    public required ModelFlavor Flavor { get; init; }

    /// <summary>The local model file, copied into the model directory as <see cref="ModelFlavor.DataPath"/> (or under its own name).</summary>
    public string? ModelFile { get; init; }

    /// <summary>More local files copied into the model root (e.g. ONNX external-data files, <c>requirements.txt</c>).</summary>
    public IReadOnlyList<string>? AdditionalFiles { get; init; }

    /// <summary>The signature.</summary>
    public ModelSignature? Signature { get; init; }

    /// <summary>An input example.</summary>
    public ModelInputExample? InputExample { get; init; }

    /// <summary>User metadata written to <c>MLmodel</c>.</summary>
    public IReadOnlyDictionary<string, object?>? Metadata { get; init; }

    /// <summary>The <c>mlflow_version</c> claimed in <c>MLmodel</c>.</summary>
    public string MlflowVersion { get; init; } = MlflowModel.DefaultMlflowVersion;

    /// <summary>When set, the model is registered under this name (the registered model is created if needed).</summary>
    public string? RegisteredModelName { get; init; }

    /// <summary>MLflow 3: the logged model's type (e.g. <c>classifier</c>).</summary>
    public string? ModelType { get; init; }

    /// <summary>MLflow 3: tags of the logged model.</summary>
    public IReadOnlyDictionary<string, string>? Tags { get; init; }

    /// <summary>MLflow 3: the step at which the run produced the model (for <c>runs/outputs</c>).</summary>
    public long Step { get; init; }
}

/// <summary>The result of <see cref="ModelsClient.LogModelAsync"/>.</summary>
public sealed record ModelLogResult
{
    /// <summary>A URI that loads the model: <c>models:/m-…</c> on MLflow 3, <c>runs:/&lt;run&gt;/&lt;path&gt;</c> on 2.x.</summary>
    public required string ModelUri { get; init; }

    /// <summary>Where the files were uploaded.</summary>
    public required string ArtifactUri { get; init; }

    /// <summary>The run.</summary>
    public required string RunId { get; init; }

    /// <summary>The logged model id on MLflow 3, else <see langword="null"/>.</summary>
    public string? ModelId { get; init; }

    /// <summary>The <c>MLmodel</c> that was written.</summary>
    public required MlflowModel Model { get; init; }

    /// <summary>The finalized logged model on MLflow 3.</summary>
    public LoggedModel? LoggedModel { get; init; }

    /// <summary>The registered version, when <see cref="LogModelOptions.RegisteredModelName"/> was given.</summary>
    public ModelVersion? RegisteredVersion { get; init; }
}

/// <summary>The result of <see cref="ModelsClient.DownloadModelAsync"/>.</summary>
public sealed record DownloadedModel
{
    /// <summary>The local model directory.</summary>
    public required string LocalPath { get; init; }

    /// <summary>The parsed <c>MLmodel</c>.</summary>
    public required MlflowModel Model { get; init; }

    /// <summary>How the URI was resolved.</summary>
    public required ResolvedModelUri Source { get; init; }

    /// <summary>The full local path of the flavor's data file (e.g. <c>…/model.onnx</c>), or <see langword="null"/>.</summary>
    /// <param name="flavor">The flavor name (default <c>onnx</c>).</param>
    /// <returns>The path.</returns>
    public string? GetDataPath(string flavor = OnnxFlavor.FlavorName) =>
        Model.GetFlavor(flavor)?.GetString("data") is { } data ? Path.Combine(LocalPath, data) : null;
}
