namespace MLOpsDemo.Mlflow.Registry;

/// <summary>
/// The model registry behind <see cref="ModelRegistryClient"/>. Implemented over REST by <see cref="RestRegistryStore"/>;
/// a local store (e.g. SQLite) implements the same contract with the same semantics: MLflow error codes in
/// <see cref="MlflowException"/> (404 <c>RESOURCE_DOES_NOT_EXIST</c> for a missing model or version, 400
/// <c>RESOURCE_ALREADY_EXISTS</c> for a taken name, 400 <c>INVALID_PARAMETER_VALUE</c> for a missing alias), empty lists
/// rather than null, versions as decimal strings. Inputs are validated by the client before they reach a store.
/// A tracking store that also implements this interface is used as the registry store automatically.
/// </summary>
internal interface IRegistryStore
{
    Task<RegisteredModel> CreateRegisteredModelAsync(string name, IReadOnlyDictionary<string, string>? tags, string? description, CancellationToken cancellationToken);

    Task<RegisteredModel> GetRegisteredModelAsync(string name, CancellationToken cancellationToken);

    Task<RegisteredModel> RenameRegisteredModelAsync(string name, string newName, CancellationToken cancellationToken);

    Task<RegisteredModel> UpdateRegisteredModelAsync(string name, string? description, CancellationToken cancellationToken);

    Task DeleteRegisteredModelAsync(string name, CancellationToken cancellationToken);

    Task<MlflowPage<RegisteredModel>> SearchRegisteredModelsAsync(string? filter, IReadOnlyList<string>? orderBy, int maxResults, string? pageToken, CancellationToken cancellationToken);

    Task SetRegisteredModelTagAsync(string name, string key, string value, CancellationToken cancellationToken);

    Task DeleteRegisteredModelTagAsync(string name, string key, CancellationToken cancellationToken);

    /// <summary>The newest version per stage; all stages when <paramref name="stages"/> is empty.</summary>
    Task<IReadOnlyList<ModelVersion>> GetLatestVersionsAsync(string name, IReadOnlyList<string> stages, CancellationToken cancellationToken);

    Task<ModelVersion> CreateModelVersionAsync(string name, string source, CreateModelVersionOptions options, CancellationToken cancellationToken);

    Task<ModelVersion> GetModelVersionAsync(string name, string version, CancellationToken cancellationToken);

    Task<ModelVersion> UpdateModelVersionAsync(string name, string version, string? description, CancellationToken cancellationToken);

    Task DeleteModelVersionAsync(string name, string version, CancellationToken cancellationToken);

    Task<MlflowPage<ModelVersion>> SearchModelVersionsAsync(string? filter, IReadOnlyList<string>? orderBy, int maxResults, string? pageToken, CancellationToken cancellationToken);

    Task<string> GetModelVersionDownloadUriAsync(string name, string version, CancellationToken cancellationToken);

    Task SetModelVersionTagAsync(string name, string version, string key, string value, CancellationToken cancellationToken);

    Task DeleteModelVersionTagAsync(string name, string version, string key, CancellationToken cancellationToken);

    Task<ModelVersion> TransitionModelVersionStageAsync(string name, string version, string stage, bool archiveExistingVersions, CancellationToken cancellationToken);

    Task SetAliasAsync(string name, string alias, string version, CancellationToken cancellationToken);

    Task DeleteAliasAsync(string name, string alias, CancellationToken cancellationToken);

    Task<ModelVersion> GetModelVersionByAliasAsync(string name, string alias, CancellationToken cancellationToken);

    /// <summary>Appends one entry to the run's <c>mlflow.log-model.history</c> tag (MLflow 2.x model logging).</summary>
    Task LogModelHistoryAsync(string runId, string modelJson, CancellationToken cancellationToken);
}
