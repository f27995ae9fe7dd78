using MLOpsDemo.Mlflow.Http;
using System.Text.Json;
using MLOpsDemo.Mlflow.Internal;
using MLOpsDemo.Mlflow.Models.Mlmodel;
using MLOpsDemo.Mlflow.Registry;

namespace MLOpsDemo.Mlflow;

/// <summary>
/// MLflow models (MODELS.md): log a model directory to a run (as an MLflow 3 logged model, or as run artifacts on
/// 2.x servers), optionally register it, and download models by URI. Obtain it from <see cref="MlflowClient.Models"/>.
/// </summary>
public class ModelsClient
{
    /// <summary>The run tag MLflow 2.x uses to list the models logged by a run.</summary>
    public const string LogModelHistoryTag = "mlflow.log-model.history";

    private const string ModelVersionsTag = "mlflow.modelVersions";

    private readonly MlflowClient _client;

    internal ModelsClient(MlflowClient client) => _client = client;

    /// <summary>Creates a client for mocking.</summary>
    protected ModelsClient() => _client = null!;

    /// <summary>
    /// Writes an MLflow model directory (<c>MLmodel</c>, the model file, the input example) and uploads it for a run.
    /// Against an MLflow 3 server: creates a logged model, links it to the run (<c>runs/outputs</c>), uploads to the
    /// logged model's artifact location and finalizes it READY (UPLOAD_FAILED if the upload fails). Against 2.x: uploads
    /// under the run's artifacts at <see cref="LogModelOptions.ArtifactPath"/> and appends to the run's
    /// <c>mlflow.log-model.history</c> tag. Which one is found out by asking the server once per client.
    /// With <see cref="LogModelOptions.RegisteredModelName"/> the model is then registered.
    /// </summary>
    /// <param name="runId">The run.</param>
    /// <param name="options">Flavor, model file, signature, input example and registration.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>Where the model went and the <c>MLmodel</c> written.</returns>
    public virtual async Task<ModelLogResult> LogModelAsync(string runId, LogModelOptions options, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        ModelDirectory.ValidateOptions(options, nameof(options));
        if (options.RegisteredModelName is not null)
        {
            RegistryValidation.ValidateName(options.RegisteredModelName, nameof(options));
        }

        var run = await _client.Runs.GetAsync(runId, cancellationToken).ConfigureAwait(false);
        var created = _client.Options.TimeProvider.GetUtcNow().UtcDateTime;
        created = new DateTime(created.Ticks - (created.Ticks % 10), DateTimeKind.Utc);
        var logged = await TryCreateLoggedModelAsync(run, options, cancellationToken).ConfigureAwait(false);
        var directory = Path.Combine(Path.GetTempPath(), "mlflow-model-" + Guid.NewGuid().ToString("N"));
        try
        {
            return logged is null
                ? await LogAsRunArtifactsAsync(run, options, created, directory, cancellationToken).ConfigureAwait(false)
                : await LogAsLoggedModelAsync(run, logged, options, created, directory, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            TryDelete(directory);
        }
    }

    /// <summary>Writes a model directory locally (no run, no upload): what <see cref="LogModelAsync"/> uploads.</summary>
    /// <param name="directory">The directory to write.</param>
    /// <param name="options">Flavor, model file, signature and input example.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The <c>MLmodel</c> written.</returns>
    public virtual Task<MlflowModel> SaveModelAsync(string directory, LogModelOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ModelDirectory.ValidateOptions(options, nameof(options));
        var header = new MlflowModel { UtcTimeCreated = _client.Options.TimeProvider.GetUtcNow().UtcDateTime, ModelUuid = Guid.NewGuid().ToString("N") };
        return ModelDirectory.WriteAsync(directory, options, header, cancellationToken);
    }

    /// <summary>
    /// Resolves a model URI (see <see cref="ModelRegistryClient.ResolveModelUriAsync"/>), downloads the model directory
    /// into <paramref name="localDirectory"/> and parses its <c>MLmodel</c>.
    /// </summary>
    /// <param name="modelUri">E.g. <c>models:/iris@champion</c>, <c>models:/iris/3</c>, <c>models:/m-…</c>, <c>runs:/&lt;run&gt;/model</c>.</param>
    /// <param name="localDirectory">The directory to download into.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The local path, the parsed model and the resolution.</returns>
    public virtual async Task<DownloadedModel> DownloadModelAsync(string modelUri, string localDirectory, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(localDirectory);
        var resolved = await _client.ModelRegistry.ResolveModelUriAsync(modelUri, cancellationToken).ConfigureAwait(false);
        Directory.CreateDirectory(localDirectory);
        var local = await _client.Artifacts.DownloadUriAsync(resolved.ArtifactUri, localDirectory, cancellationToken).ConfigureAwait(false);
        var modelDirectory = File.Exists(local) && Path.GetFileName(local) == MlflowModel.FileName ? Path.GetDirectoryName(local)! : local;
        var model = await MlflowModel.LoadAsync(modelDirectory, cancellationToken).ConfigureAwait(false);
        return new DownloadedModel { LocalPath = modelDirectory, Model = model, Source = resolved };
    }

    private async Task<LoggedModel?> TryCreateLoggedModelAsync(Run run, LogModelOptions options, CancellationToken cancellationToken)
    {
        if (_client.Capabilities.LoggedModels == ServerSupport.Unsupported)
        {
            return null;
        }

        try
        {
            var model = await _client.LoggedModels.CreateAsync(
                run.Info.ExperimentId,
                new CreateLoggedModelOptions
                {
                    Name = LoggedModelName(options.ArtifactPath),
                    ModelType = options.ModelType,
                    SourceRunId = run.Info.RunId,
                    Params = run.Data.Params.Count == 0 ? null : run.Data.Params,
                    Tags = LoggedModelTags(options.Tags),
                },
                cancellationToken).ConfigureAwait(false);
            _client.Capabilities.LoggedModels = ServerSupport.Supported;
            return model;
        }
        catch (MlflowException ex) when (ServerCapabilities.IsMissingRoute(ex))
        {
            // An MLflow 2.x server answers the logged-models route with an HTML 404: log the 2.x way from now on.
            _client.Capabilities.LoggedModels = ServerSupport.Unsupported;
            return null;
        }
    }

    private async Task<ModelLogResult> LogAsLoggedModelAsync(Run run, LoggedModel logged, LogModelOptions options, DateTime created, string directory, CancellationToken cancellationToken)
    {
        var modelId = logged.Info.ModelId;
        var artifactUri = logged.Info.ArtifactUri ?? throw new MlflowException($"The server created logged model {modelId} without an artifact location.");
        await _client.Runs.LogOutputsAsync(run.Info.RunId, [new ModelOutput { ModelId = modelId, Step = options.Step }], cancellationToken).ConfigureAwait(false);
        await LinkRunMetricsAsync(run, modelId, options.Step, cancellationToken).ConfigureAwait(false);

        var header = new MlflowModel { ArtifactPath = artifactUri, RunId = run.Info.RunId, UtcTimeCreated = created, ModelUuid = modelId, ModelId = modelId };
        MlflowModel written;
        try
        {
            written = await ModelDirectory.WriteAsync(directory, options, header, cancellationToken).ConfigureAwait(false);
            await _client.Artifacts.UploadDirectoryAsync(artifactUri, directory, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            try
            {
                await _client.LoggedModels.FinalizeAsync(modelId, LoggedModelStatus.UploadFailed, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is MlflowException or HttpRequestException or TaskCanceledException)
            {
                // The upload failure is the error to report; the model stays PENDING if marking it failed fails too.
            }

            throw;
        }

        var ready = await _client.LoggedModels.FinalizeAsync(modelId, LoggedModelStatus.Ready, cancellationToken).ConfigureAwait(false);
        ModelVersion? version = null;
        if (options.RegisteredModelName is { } name)
        {
            version = await RegisterAsync(name, "models:/" + modelId, run.Info.RunId, modelId, cancellationToken).ConfigureAwait(false);
            await RecordModelVersionAsync(modelId, version.Name.Length > 0 ? version.Name : name, version.Version, cancellationToken).ConfigureAwait(false);
        }

        return new ModelLogResult { ModelUri = "models:/" + modelId, ArtifactUri = artifactUri, RunId = run.Info.RunId, ModelId = modelId, Model = written, LoggedModel = ready, RegisteredVersion = version };
    }

    /// <summary>
    /// The tags of a logged model, as Python's <c>mlflow.&lt;flavor&gt;.log_model</c> resolves them: the context tags
    /// (<c>mlflow.user</c>, <c>mlflow.source.name</c>, <c>mlflow.source.type</c>, <c>mlflow.source.git.commit</c>,
    /// <c>MLFLOW_RUN_CONTEXT</c>), then the caller's tags, which win.
    /// </summary>
    private Dictionary<string, string> LoggedModelTags(IReadOnlyDictionary<string, string>? tags)
    {
        var resolved = Fluent.RunContext.SystemTags(_client, _client.EnvironmentReader, includeGitBranchAndOrigin: false);
        foreach (var (key, value) in tags ?? new Dictionary<string, string>())
        {
            resolved[key] = value;
        }

        return resolved;
    }

    /// <summary>
    /// Links the run's metrics of the model's step to the logged model, as MLflow 3's <c>Model.log</c> does: every point
    /// of the run's metric histories at <paramref name="step"/> that belongs to no model is logged again with the model id
    /// (same key, value, timestamp, step and dataset), which the store records as the logged model's metrics.
    /// </summary>
    private async Task LinkRunMetricsAsync(Run run, string modelId, long step, CancellationToken cancellationToken)
    {
        var points = new List<Metric>();
        foreach (var key in run.Data.Metrics.Select(m => m.Key).Distinct(StringComparer.Ordinal))
        {
            await foreach (var metric in _client.Runs.GetMetricHistoryAsync(run.Info.RunId, key, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                if (metric.Step == step && metric.ModelId is null)
                {
                    points.Add(metric with { ModelId = modelId });
                }
            }
        }

        if (points.Count > 0)
        {
            await _client.Runs.LogBatchAsync(run.Info.RunId, points, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Adds <c>{"name": …, "version": N}</c> to the logged model's <c>mlflow.modelVersions</c> tag unless it is there
    /// already: an MLflow 3 server records it itself when the version is created (with the version as a JSON number,
    /// as its store's <c>set_model_versions_tags</c> does), and the local store and older servers do not.
    /// </summary>
    private async Task RecordModelVersionAsync(string modelId, string name, string version, CancellationToken cancellationToken)
    {
        var model = await _client.LoggedModels.GetAsync(modelId, cancellationToken).ConfigureAwait(false);
        model.Info.Tags.TryGetValue(ModelVersionsTag, out var existing);
        if (AppendModelVersion(existing, name, version) is { } value)
        {
            await _client.LoggedModels.SetTagsAsync(modelId, new Dictionary<string, string> { [ModelVersionsTag] = value }, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The <c>mlflow.modelVersions</c> value with the version appended, written as Python's <c>json.dumps</c> writes it
    /// (the version a number when it is one, as MLflow's stores write it), or <see langword="null"/> when the value
    /// already lists that name and version (as a number or a string).
    /// </summary>
    /// <param name="existing">The tag's current value, if any; a value that is not a JSON array is replaced.</param>
    /// <param name="name">The registered model name.</param>
    /// <param name="version">The version.</param>
    /// <returns>The new value, or <see langword="null"/> when nothing changes.</returns>
    internal static string? AppendModelVersion(string? existing, string name, string version)
    {
        var entries = new List<object?>();
        if (!string.IsNullOrWhiteSpace(existing))
        {
            try
            {
                using var document = JsonDocument.Parse(existing);
                if (document.RootElement.ValueKind == JsonValueKind.Array)
                {
                    foreach (var entry in document.RootElement.EnumerateArray())
                    {
                        if (entry.ValueKind == JsonValueKind.Object
                            && entry.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() == name
                            && entry.TryGetProperty("version", out var v) && (v.ValueKind is JsonValueKind.Number or JsonValueKind.String) && (v.ValueKind == JsonValueKind.Number ? v.GetRawText() : v.GetString()) == version)
                        {
                            return null;
                        }

                        entries.Add(entry.Clone());
                    }
                }
            }
            catch (JsonException)
            {
                // A corrupt tag is replaced rather than blocking the registration.
            }
        }

        object? typed = long.TryParse(version, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) ? number : version;
        entries.Add(new OrderedTree([("name", name), ("version", typed)]));
        return new PythonJson().Value(entries).ToString();
    }

    private async Task<ModelLogResult> LogAsRunArtifactsAsync(Run run, LogModelOptions options, DateTime created, string directory, CancellationToken cancellationToken)
    {
        var root = run.Info.ArtifactUri ?? throw new MlflowException($"Run {run.Info.RunId} has no artifact URI.");
        var artifactUri = root.TrimEnd('/') + "/" + options.ArtifactPath;
        var header = new MlflowModel { ArtifactPath = options.ArtifactPath, RunId = run.Info.RunId, UtcTimeCreated = created, ModelUuid = Guid.NewGuid().ToString("N") };
        var written = await ModelDirectory.WriteAsync(directory, options, header, cancellationToken).ConfigureAwait(false);
        await _client.Artifacts.UploadDirectoryAsync(artifactUri, directory, cancellationToken).ConfigureAwait(false);
        await AppendHistoryAsync(run.Info.RunId, ModelDirectory.HistoryEntryJson(written), cancellationToken).ConfigureAwait(false);

        ModelVersion? version = null;
        if (options.RegisteredModelName is { } name)
        {
            version = await RegisterAsync(name, artifactUri, run.Info.RunId, modelId: null, cancellationToken).ConfigureAwait(false);
        }

        return new ModelLogResult { ModelUri = $"runs:/{run.Info.RunId}/{options.ArtifactPath}", ArtifactUri = artifactUri, RunId = run.Info.RunId, Model = written, RegisteredVersion = version };
    }

    private async Task AppendHistoryAsync(string runId, string entryJson, CancellationToken cancellationToken)
    {
        if (_client.Capabilities.LogModelHistory != ServerSupport.Unsupported)
        {
            try
            {
                await _client.RegistryStore.LogModelHistoryAsync(runId, entryJson, cancellationToken).ConfigureAwait(false);
                _client.Capabilities.LogModelHistory = ServerSupport.Supported;
                return;
            }
            catch (MlflowException ex) when (ServerCapabilities.IsMissingRoute(ex))
            {
                // Fall through: maintain the tag ourselves, from now on without asking (also when there is no
                // registry store at all: 501).
                _client.Capabilities.LogModelHistory = ServerSupport.Unsupported;
            }
        }

        var run = await _client.Runs.GetAsync(runId, cancellationToken).ConfigureAwait(false);
        var existing = run.Data.Tags.TryGetValue(LogModelHistoryTag, out var text) ? text : null;
        await _client.Runs.SetTagAsync(runId, LogModelHistoryTag, AppendHistoryEntry(existing, entryJson), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The <c>mlflow.log-model.history</c> value with <paramref name="entryJson"/> appended, written as Python's
    /// <c>json.dumps</c> writes it (MLflow's stores do <c>json.dumps(json.loads(previous) + [entry])</c>).
    /// </summary>
    /// <param name="existing">The tag's current value, if any; a corrupt value is replaced rather than blocking the log.</param>
    /// <param name="entryJson">The new entry, already in Python's JSON form.</param>
    /// <returns>The new tag value.</returns>
    internal static string AppendHistoryEntry(string? existing, string entryJson)
    {
        var entries = new List<string>();
        if (!string.IsNullOrWhiteSpace(existing))
        {
            try
            {
                using var document = JsonDocument.Parse(existing);
                if (document.RootElement.ValueKind == JsonValueKind.Array)
                {
                    entries.AddRange(document.RootElement.EnumerateArray().Select(e => new PythonJson().Value(e).ToString()));
                }
            }
            catch (JsonException)
            {
                // A corrupt tag is replaced rather than blocking the log.
            }
        }

        entries.Add(entryJson);
        return "[" + string.Join(", ", entries) + "]";
    }

    private async Task<ModelVersion> RegisterAsync(string name, string source, string runId, string? modelId, CancellationToken cancellationToken)
    {
        try
        {
            await _client.ModelRegistry.CreateAsync(name, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (MlflowException ex) when (ex.ErrorCode is MlflowErrorCodes.ResourceAlreadyExists or "ALREADY_EXISTS")
        {
            // Registering a new version of an existing model.
        }

        return await _client.ModelRegistry.CreateVersionAsync(name, source, new CreateModelVersionOptions { RunId = runId, ModelId = modelId }, cancellationToken).ConfigureAwait(false);
    }

    private static string LoggedModelName(string artifactPath)
    {
        var chars = artifactPath.Select(c => c is '/' or ':' or '.' or '%' or '"' or '\'' ? '_' : c).ToArray();
        return new string(chars);
    }

    private static void TryDelete(string directory)
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
}
