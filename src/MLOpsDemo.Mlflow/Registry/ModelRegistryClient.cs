using System.Globalization;
using System.Runtime.CompilerServices;
using MLOpsDemo.Mlflow.Internal;
using MLOpsDemo.Mlflow.Registry;

namespace MLOpsDemo.Mlflow;

/// <summary>
/// The MLflow model registry (REST <c>/api/2.0/mlflow/registered-models/*</c> and <c>model-versions/*</c>): registered
/// models, versions, tags, stages, aliases, model URI resolution and alias promotion. Obtain it from
/// <see cref="MlflowClient.ModelRegistry"/>. Inputs are validated before any request (LIMITS.md §2–3).
/// </summary>
public partial class ModelRegistryClient
{
    /// <summary>The default page size of <see cref="SearchAsync"/> (the server's default).</summary>
    public const int DefaultRegisteredModelPageSize = 100;

    /// <summary>The default page size of <see cref="SearchVersionsAsync"/> (the Python client's).</summary>
    public const int DefaultModelVersionPageSize = 10_000;

    private readonly MlflowClient _client;

    internal ModelRegistryClient(MlflowClient client) => _client = client;

    /// <summary>Creates a client for mocking.</summary>
    protected ModelRegistryClient() => _client = null!;

    private IRegistryStore Store => _client.RegistryStore;

    // ----- Registered models -----

    /// <summary>Creates a registered model.</summary>
    /// <param name="name">The unique name.</param>
    /// <param name="tags">Tags (values ≤ 5000 characters).</param>
    /// <param name="description">A description.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The created model.</returns>
    /// <exception cref="MlflowException">With <c>RESOURCE_ALREADY_EXISTS</c> (HTTP 400) when the name is taken.</exception>
    public virtual Task<RegisteredModel> CreateAsync(string name, IReadOnlyDictionary<string, string>? tags = null, string? description = null, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateName(name, nameof(name));
        RegistryValidation.ValidateTags(tags, "registered model tag", RegistryValidation.MaxRegisteredModelTagValueLength, nameof(tags));
        RegistryValidation.ValidateDescription(description, nameof(description));
        return Store.CreateRegisteredModelAsync(name, tags, description, cancellationToken);
    }

    /// <summary>Gets a registered model with its latest versions per stage, tags and aliases.</summary>
    /// <param name="name">The name.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The model.</returns>
    /// <exception cref="MlflowException">With <c>RESOURCE_DOES_NOT_EXIST</c> (HTTP 404) when there is none.</exception>
    public virtual Task<RegisteredModel> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateName(name, nameof(name));
        return Store.GetRegisteredModelAsync(name, cancellationToken);
    }

    /// <summary>Renames a registered model (its versions follow).</summary>
    /// <param name="name">The current name.</param>
    /// <param name="newName">The new name.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The renamed model.</returns>
    public virtual Task<RegisteredModel> RenameAsync(string name, string newName, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateName(name, nameof(name));
        RegistryValidation.ValidateName(newName, nameof(newName));
        return Store.RenameRegisteredModelAsync(name, newName, cancellationToken);
    }

    /// <summary>Sets the description of a registered model (<see langword="null"/> clears it, as the server does).</summary>
    /// <param name="name">The name.</param>
    /// <param name="description">The new description.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The updated model.</returns>
    public virtual Task<RegisteredModel> UpdateAsync(string name, string? description, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateName(name, nameof(name));
        RegistryValidation.ValidateDescription(description, nameof(description));
        return Store.UpdateRegisteredModelAsync(name, description, cancellationToken);
    }

    /// <summary>Deletes a registered model with its versions, tags and aliases.</summary>
    /// <param name="name">The name.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the model is deleted.</returns>
    public virtual Task DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateName(name, nameof(name));
        return Store.DeleteRegisteredModelAsync(name, cancellationToken);
    }

    /// <summary>Searches registered models, fetching pages lazily as the sequence is enumerated.</summary>
    /// <param name="options">Filter, order and page size.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The matching models.</returns>
    public virtual async IAsyncEnumerable<RegisteredModel> SearchAsync(SearchRegisteredModelsOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options ??= new SearchRegisteredModelsOptions();
        var pageSize = PageSize(options.PageSize, DefaultRegisteredModelPageSize, 1000, nameof(options));
        await foreach (var model in Paging.AllAsync((token, ct) => Store.SearchRegisteredModelsAsync(options.Filter, options.OrderBy, pageSize, token, ct), options.PageToken, cancellationToken).ConfigureAwait(false))
        {
            yield return model;
        }
    }

    /// <summary>Gets one page of a registered model search.</summary>
    /// <param name="options">Filter, order, page size and page token.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The page.</returns>
    public virtual Task<MlflowPage<RegisteredModel>> SearchPageAsync(SearchRegisteredModelsOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new SearchRegisteredModelsOptions();
        var pageSize = PageSize(options.PageSize, DefaultRegisteredModelPageSize, 1000, nameof(options));
        return Store.SearchRegisteredModelsAsync(options.Filter, options.OrderBy, pageSize, options.PageToken, cancellationToken);
    }

    /// <summary>Sets (or overwrites) a tag of a registered model.</summary>
    /// <param name="name">The name.</param>
    /// <param name="key">The tag key.</param>
    /// <param name="value">The value (≤ 5000 characters).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the tag is set.</returns>
    public virtual Task SetTagAsync(string name, string key, string value, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateName(name, nameof(name));
        RegistryValidation.ValidateTag(key, value, "registered model tag", RegistryValidation.MaxRegisteredModelTagValueLength, nameof(key));
        return Store.SetRegisteredModelTagAsync(name, key, value ?? "", cancellationToken);
    }

    /// <summary>Deletes a tag of a registered model (no error when the tag is missing).</summary>
    /// <param name="name">The name.</param>
    /// <param name="key">The tag key.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the tag is deleted.</returns>
    public virtual Task DeleteTagAsync(string name, string key, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateName(name, nameof(name));
        MlflowValidation.ValidateKey(key, "registered model tag", nameof(key));
        return Store.DeleteRegisteredModelTagAsync(name, key, cancellationToken);
    }

    /// <summary>Gets the newest version in each of <paramref name="stages"/> (all stages when none are given). Stages are deprecated in MLflow; prefer aliases.</summary>
    /// <param name="name">The name.</param>
    /// <param name="stages">Stages (case-insensitive: None, Staging, Production, Archived).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>At most one version per stage.</returns>
    public virtual Task<IReadOnlyList<ModelVersion>> GetLatestVersionsAsync(string name, IEnumerable<string>? stages = null, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateName(name, nameof(name));
        var canonical = stages?.Select(s => RegistryValidation.CanonicalStage(s, nameof(stages))).ToList() ?? [];
        return Store.GetLatestVersionsAsync(name, canonical, cancellationToken);
    }

    // ----- Model versions -----

    /// <summary>Creates a version of a registered model from model files at <paramref name="source"/>.</summary>
    /// <param name="name">The registered model name.</param>
    /// <param name="source">The artifact URI of the model directory (e.g. <c>mlflow-artifacts:/1/&lt;run&gt;/artifacts/model</c>) or <c>models:/&lt;model_id&gt;</c>.</param>
    /// <param name="options">Run id, run link, tags, description and logged model id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The new version (READY at once on OSS servers).</returns>
    /// <exception cref="MlflowException">With <c>RESOURCE_DOES_NOT_EXIST</c> when the registered model does not exist.</exception>
    public virtual Task<ModelVersion> CreateVersionAsync(string name, string source, CreateModelVersionOptions? options = null, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateName(name, nameof(name));
        RegistryValidation.ValidateSource(source, nameof(source));
        options ??= new CreateModelVersionOptions();
        if (options.RunId is not null)
        {
            MlflowValidation.ValidateRunId(options.RunId, nameof(options));
        }

        if (options.ModelId is not null)
        {
            RegistryValidation.ValidateModelId(options.ModelId, nameof(options));
        }

        if (options.RunLink is { Length: > RegistryValidation.MaxSourceLength })
        {
            throw new ArgumentException($"The run link is {options.RunLink.Length} characters long; MLflow stores at most {RegistryValidation.MaxSourceLength}.", nameof(options));
        }

        RegistryValidation.ValidateTags(options.Tags, "model version tag", RegistryValidation.MaxModelVersionTagValueLength, nameof(options));
        RegistryValidation.ValidateDescription(options.Description, nameof(options));
        return Store.CreateModelVersionAsync(name, source, options, cancellationToken);
    }

    /// <summary>Gets a model version.</summary>
    /// <param name="name">The registered model name.</param>
    /// <param name="version">The version number, e.g. <c>"1"</c>.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The version.</returns>
    /// <exception cref="MlflowException">With <c>RESOURCE_DOES_NOT_EXIST</c> (HTTP 404) when there is none.</exception>
    public virtual Task<ModelVersion> GetVersionAsync(string name, string version, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateName(name, nameof(name));
        RegistryValidation.ValidateVersion(version, nameof(version));
        return Store.GetModelVersionAsync(name, version, cancellationToken);
    }

    /// <summary>Sets the description of a model version.</summary>
    /// <param name="name">The registered model name.</param>
    /// <param name="version">The version.</param>
    /// <param name="description">The new description.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The updated version.</returns>
    public virtual Task<ModelVersion> UpdateVersionAsync(string name, string version, string? description, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateName(name, nameof(name));
        RegistryValidation.ValidateVersion(version, nameof(version));
        RegistryValidation.ValidateDescription(description, nameof(description));
        return Store.UpdateModelVersionAsync(name, version, description, cancellationToken);
    }

    /// <summary>Deletes a model version (its aliases go with it; version numbers are never reused).</summary>
    /// <param name="name">The registered model name.</param>
    /// <param name="version">The version.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the version is deleted.</returns>
    public virtual Task DeleteVersionAsync(string name, string version, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateName(name, nameof(name));
        RegistryValidation.ValidateVersion(version, nameof(version));
        return Store.DeleteModelVersionAsync(name, version, cancellationToken);
    }

    /// <summary>Searches model versions, fetching pages lazily as the sequence is enumerated.</summary>
    /// <param name="options">Filter (e.g. <c>name = 'iris'</c>), order and page size.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The matching versions.</returns>
    public virtual async IAsyncEnumerable<ModelVersion> SearchVersionsAsync(SearchModelVersionsOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options ??= new SearchModelVersionsOptions();
        var pageSize = PageSize(options.PageSize, DefaultModelVersionPageSize, 200_000, nameof(options));
        await foreach (var version in Paging.AllAsync((token, ct) => Store.SearchModelVersionsAsync(options.Filter, options.OrderBy, pageSize, token, ct), options.PageToken, cancellationToken).ConfigureAwait(false))
        {
            yield return version;
        }
    }

    /// <summary>Gets one page of a model version search.</summary>
    /// <param name="options">Filter, order, page size and page token.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The page.</returns>
    public virtual Task<MlflowPage<ModelVersion>> SearchVersionsPageAsync(SearchModelVersionsOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new SearchModelVersionsOptions();
        var pageSize = PageSize(options.PageSize, DefaultModelVersionPageSize, 200_000, nameof(options));
        return Store.SearchModelVersionsAsync(options.Filter, options.OrderBy, pageSize, options.PageToken, cancellationToken);
    }

    /// <summary>Gets the artifact URI to download a version's files from (its storage location, resolved by the server).</summary>
    /// <param name="name">The registered model name.</param>
    /// <param name="version">The version.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The artifact URI.</returns>
    public virtual Task<string> GetVersionDownloadUriAsync(string name, string version, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateName(name, nameof(name));
        RegistryValidation.ValidateVersion(version, nameof(version));
        return Store.GetModelVersionDownloadUriAsync(name, version, cancellationToken);
    }

    /// <summary>Sets (or overwrites) a tag of a model version.</summary>
    /// <param name="name">The registered model name.</param>
    /// <param name="version">The version.</param>
    /// <param name="key">The tag key.</param>
    /// <param name="value">The value.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the tag is set.</returns>
    public virtual Task SetVersionTagAsync(string name, string version, string key, string value, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateName(name, nameof(name));
        RegistryValidation.ValidateVersion(version, nameof(version));
        RegistryValidation.ValidateTag(key, value, "model version tag", RegistryValidation.MaxModelVersionTagValueLength, nameof(key));
        return Store.SetModelVersionTagAsync(name, version, key, value ?? "", cancellationToken);
    }

    /// <summary>Deletes a tag of a model version (no error when the tag is missing).</summary>
    /// <param name="name">The registered model name.</param>
    /// <param name="version">The version.</param>
    /// <param name="key">The tag key.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the tag is deleted.</returns>
    public virtual Task DeleteVersionTagAsync(string name, string version, string key, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateName(name, nameof(name));
        RegistryValidation.ValidateVersion(version, nameof(version));
        MlflowValidation.ValidateKey(key, "model version tag", nameof(key));
        return Store.DeleteModelVersionTagAsync(name, version, key, cancellationToken);
    }

    /// <summary>Moves a version to a stage (deprecated by MLflow in favour of aliases, but served).</summary>
    /// <param name="name">The registered model name.</param>
    /// <param name="version">The version.</param>
    /// <param name="stage">None, Staging, Production or Archived (case-insensitive).</param>
    /// <param name="archiveExistingVersions">Archive the versions now in the target stage (Staging or Production only).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The updated version.</returns>
    public virtual Task<ModelVersion> TransitionStageAsync(string name, string version, string stage, bool archiveExistingVersions = false, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateName(name, nameof(name));
        RegistryValidation.ValidateVersion(version, nameof(version));
        var canonical = RegistryValidation.CanonicalStage(stage, nameof(stage));
        if (archiveExistingVersions && canonical is not (ModelVersionStage.Staging or ModelVersionStage.Production))
        {
            throw new ArgumentException($"archiveExistingVersions is only allowed when moving to Staging or Production, not to {canonical} (the server answers 500 otherwise).", nameof(archiveExistingVersions));
        }

        return Store.TransitionModelVersionStageAsync(name, version, canonical, archiveExistingVersions, cancellationToken);
    }

    /// <summary>Points an alias at a version (creating or moving it).</summary>
    /// <param name="name">The registered model name.</param>
    /// <param name="alias">The alias: letters, digits, '_' and '-'; not <c>latest</c> or <c>v&lt;number&gt;</c>.</param>
    /// <param name="version">The version.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the alias is set.</returns>
    public virtual Task SetAliasAsync(string name, string alias, string version, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateName(name, nameof(name));
        RegistryValidation.ValidateAlias(alias, nameof(alias), forSet: true);
        RegistryValidation.ValidateVersion(version, nameof(version));
        return Store.SetAliasAsync(name, alias, version, cancellationToken);
    }

    /// <summary>Deletes an alias (no error when it is missing).</summary>
    /// <param name="name">The registered model name.</param>
    /// <param name="alias">The alias.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the alias is deleted.</returns>
    public virtual Task DeleteAliasAsync(string name, string alias, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateName(name, nameof(name));
        RegistryValidation.ValidateAlias(alias, nameof(alias), forSet: false);
        return Store.DeleteAliasAsync(name, alias, cancellationToken);
    }

    /// <summary>Gets the version an alias points at.</summary>
    /// <param name="name">The registered model name.</param>
    /// <param name="alias">The alias.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The version.</returns>
    /// <exception cref="MlflowException">
    /// For a missing alias with <c>INVALID_PARAMETER_VALUE</c> and HTTP 400 (not 404: that is what MLflow servers answer);
    /// use <see cref="TryGetVersionByAliasAsync"/> to get <see langword="null"/> instead.
    /// </exception>
    public virtual Task<ModelVersion> GetVersionByAliasAsync(string name, string alias, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateName(name, nameof(name));
        RegistryValidation.ValidateAlias(alias, nameof(alias), forSet: false);
        return Store.GetModelVersionByAliasAsync(name, alias, cancellationToken);
    }

    /// <summary>Gets the version an alias points at, or <see langword="null"/> when the alias does not exist.</summary>
    /// <param name="name">The registered model name.</param>
    /// <param name="alias">The alias.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The version, or <see langword="null"/>.</returns>
    /// <exception cref="MlflowException">For other failures, e.g. <c>RESOURCE_DOES_NOT_EXIST</c> when the registered model does not exist.</exception>
    public virtual async Task<ModelVersion?> TryGetVersionByAliasAsync(string name, string alias, CancellationToken cancellationToken = default)
    {
        try
        {
            return await GetVersionByAliasAsync(name, alias, cancellationToken).ConfigureAwait(false);
        }
        catch (MlflowException ex) when (IsMissingAlias(ex))
        {
            return null;
        }
    }

    /// <summary>
    /// Resolves a model URI to a concrete version (for registry URIs) and the artifact location to download from:
    /// <c>models:/&lt;name&gt;/&lt;version&gt;</c>, <c>models:/&lt;name&gt;@&lt;alias&gt;</c>, <c>models:/&lt;name&gt;/&lt;stage&gt;</c>,
    /// <c>models:/&lt;name&gt;/latest</c>, <c>models:/&lt;model_id&gt;</c> (MLflow 3) and <c>runs:/&lt;run_id&gt;/&lt;path&gt;</c>.
    /// A path after the model reference (<c>models:/iris/1/sub/file</c>) is appended to the location.
    /// </summary>
    /// <param name="modelUri">The URI.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The resolution.</returns>
    /// <exception cref="MlflowException">When the model, version, alias or stage does not exist.</exception>
    public virtual async Task<ResolvedModelUri> ResolveModelUriAsync(string modelUri, CancellationToken cancellationToken = default)
    {
        var parsed = ModelUri.Parse(modelUri, nameof(modelUri));
        switch (parsed.Kind)
        {
            case ModelUriKind.Version:
                {
                    RegistryValidation.ValidateName(parsed.Name, nameof(modelUri));
                    var location = await Store.GetModelVersionDownloadUriAsync(parsed.Name!, parsed.Version!, cancellationToken).ConfigureAwait(false);
                    return Resolved(modelUri, parsed, parsed.Version!, location, runId: null, modelId: null);
                }

            case ModelUriKind.Alias:
                {
                    RegistryValidation.ValidateName(parsed.Name, nameof(modelUri));
                    RegistryValidation.ValidateAlias(parsed.Alias, nameof(modelUri), forSet: false);
                    var version = await Store.GetModelVersionByAliasAsync(parsed.Name!, parsed.Alias!, cancellationToken).ConfigureAwait(false);
                    return await ResolveVersionAsync(modelUri, parsed, version, cancellationToken).ConfigureAwait(false);
                }

            case ModelUriKind.Stage:
            case ModelUriKind.Latest:
                {
                    RegistryValidation.ValidateName(parsed.Name, nameof(modelUri));
                    var stages = parsed.Kind == ModelUriKind.Stage ? new[] { parsed.Stage! } : [];
                    var versions = await Store.GetLatestVersionsAsync(parsed.Name!, stages, cancellationToken).ConfigureAwait(false);
                    var latest = versions.MaxBy(v => v.VersionNumber)
                        ?? throw new MlflowException(System.Net.HttpStatusCode.NotFound, MlflowErrorCodes.ResourceDoesNotExist, parsed.Kind == ModelUriKind.Stage ? $"Registered model '{parsed.Name}' has no version in stage '{parsed.Stage}'." : $"Registered model '{parsed.Name}' has no versions.");
                    return await ResolveVersionAsync(modelUri, parsed, latest, cancellationToken).ConfigureAwait(false);
                }

            case ModelUriKind.LoggedModel:
                {
                    var model = await _client.LoggedModels.GetAsync(parsed.ModelId!, cancellationToken).ConfigureAwait(false);
                    return new ResolvedModelUri
                    {
                        Uri = modelUri,
                        Kind = parsed.Kind,
                        ModelId = model.Info.ModelId,
                        RunId = model.Info.SourceRunId,
                        ArtifactUri = model.Info.ArtifactUri ?? throw new MlflowException($"Logged model '{parsed.ModelId}' has no artifact location."),
                    };
                }

            default:
                return await ResolveRunUriAsync(modelUri, parsed, cancellationToken).ConfigureAwait(false);
        }
    }

    internal static bool IsMissingAlias(MlflowException ex) =>
        ex.ErrorCode == MlflowErrorCodes.InvalidParameterValue
        && (ex.ServerMessage is null || ex.ServerMessage.Contains("alias", StringComparison.OrdinalIgnoreCase));

    private async Task<ResolvedModelUri> ResolveVersionAsync(string uri, ModelUri parsed, ModelVersion version, CancellationToken cancellationToken)
    {
        var location = await Store.GetModelVersionDownloadUriAsync(version.Name.Length > 0 ? version.Name : parsed.Name!, version.Version, cancellationToken).ConfigureAwait(false);
        return Resolved(uri, parsed, version.Version, location, version.RunId, version.ModelId ?? LoggedModelIdFromSource(version.Source));
    }

    private static ResolvedModelUri Resolved(string uri, ModelUri parsed, string version, string location, string? runId, string? modelId) => new()
    {
        Uri = uri,
        Kind = parsed.Kind,
        Name = parsed.Name,
        Version = version,
        Alias = parsed.Alias,
        Stage = parsed.Stage,
        RunId = string.IsNullOrEmpty(runId) ? null : runId,
        ModelId = modelId,
        SubPath = parsed.SubPath,
        ArtifactUri = ModelUri.Append(location, parsed.SubPath),
    };

    private async Task<ResolvedModelUri> ResolveRunUriAsync(string uri, ModelUri parsed, CancellationToken cancellationToken)
    {
        var run = await _client.Runs.GetAsync(parsed.RunId!, cancellationToken).ConfigureAwait(false);
        var root = run.Info.ArtifactUri ?? throw new MlflowException($"Run '{parsed.RunId}' has no artifact URI.");
        if (parsed.SubPath is not null && run.Outputs.ModelOutputs.Count > 0)
        {
            // MLflow 3: runs:/<run>/<name> also means the run's logged model called <name>, whose files live apart from the run's.
            var slash = parsed.SubPath.IndexOf('/', StringComparison.Ordinal);
            var modelName = slash < 0 ? parsed.SubPath : parsed.SubPath[..slash];
            var rest = slash < 0 ? null : parsed.SubPath[(slash + 1)..];
            var filter = string.Create(CultureInfo.InvariantCulture, $"name = '{modelName.Replace("'", "\\'", StringComparison.Ordinal)}' AND source_run_id = '{parsed.RunId}'");
            var page = await _client.LoggedModels.SearchPageAsync(new SearchLoggedModelsOptions { ExperimentIds = [run.Info.ExperimentId], Filter = filter, PageSize = 10 }, cancellationToken).ConfigureAwait(false);
            var model = page.Items.Where(m => m.Info.ArtifactUri is not null).MaxBy(m => m.Info.CreationTimestampMs ?? 0);
            if (model is not null)
            {
                return new ResolvedModelUri
                {
                    Uri = uri,
                    Kind = ModelUriKind.Run,
                    RunId = parsed.RunId,
                    ModelId = model.Info.ModelId,
                    SubPath = parsed.SubPath,
                    ArtifactUri = ModelUri.Append(model.Info.ArtifactUri!, rest),
                };
            }
        }

        return new ResolvedModelUri { Uri = uri, Kind = ModelUriKind.Run, RunId = parsed.RunId, SubPath = parsed.SubPath, ArtifactUri = ModelUri.Append(root, parsed.SubPath) };
    }

    private static string? LoggedModelIdFromSource(string? source) =>
        source is not null && source.StartsWith("models:/m-", StringComparison.Ordinal) && source.IndexOf('/', "models:/".Length) < 0 ? source["models:/".Length..] : null;

    private static int PageSize(int? requested, int fallback, int max, string paramName)
    {
        var size = requested ?? fallback;
        MlflowValidation.ValidateMaxResults(size, max, paramName);
        return size;
    }
}
