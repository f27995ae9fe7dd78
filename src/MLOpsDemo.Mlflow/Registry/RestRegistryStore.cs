using MLOpsDemo.Mlflow.Http;
using MLOpsDemo.Mlflow.Rest;

namespace MLOpsDemo.Mlflow.Registry;

/// <summary>The model registry of an MLflow server, over REST (REST.md §4).</summary>
internal sealed class RestRegistryStore : IRegistryStore
{
    private readonly IMlflowRegistryApi _api;
    private readonly ServerCapabilities _capabilities;

    public RestRegistryStore(HttpClient httpClient, Uri baseUri, ServerCapabilities capabilities)
    {
        _api = RegistryRest.Create<IMlflowRegistryApi>(httpClient, baseUri);
        _capabilities = capabilities;
    }

    public Task<RegisteredModel> CreateRegisteredModelAsync(string name, IReadOnlyDictionary<string, string>? tags, string? description, CancellationToken cancellationToken) =>
        Map(() => _api.CreateRegisteredModel(new CreateRegisteredModelBody { Name = name, Tags = ToDtos(tags), Description = description }, MlflowRetryMode.NotProcessedOnly, cancellationToken), r => r.RegisteredModel);

    public Task<RegisteredModel> GetRegisteredModelAsync(string name, CancellationToken cancellationToken) =>
        Map(() => _api.GetRegisteredModel(name, cancellationToken), r => r.RegisteredModel);

    public Task<RegisteredModel> RenameRegisteredModelAsync(string name, string newName, CancellationToken cancellationToken) =>
        Map(() => _api.RenameRegisteredModel(new RenameRegisteredModelBody(name, newName), MlflowRetryMode.NotProcessedOnly, cancellationToken), r => r.RegisteredModel);

    public Task<RegisteredModel> UpdateRegisteredModelAsync(string name, string? description, CancellationToken cancellationToken) =>
        Map(() => _api.UpdateRegisteredModel(new UpdateRegisteredModelBody(name, description), cancellationToken), r => r.RegisteredModel);

    public Task DeleteRegisteredModelAsync(string name, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.DeleteRegisteredModel(new NameBody(name), cancellationToken));

    public Task<MlflowPage<RegisteredModel>> SearchRegisteredModelsAsync(string? filter, IReadOnlyList<string>? orderBy, int maxResults, string? pageToken, CancellationToken cancellationToken) =>
        Map(
            () => _api.SearchRegisteredModels(NullIfEmpty(filter), maxResults, orderBy is { Count: > 0 } ? orderBy : null, NullIfEmpty(pageToken), cancellationToken),
            r => new MlflowPage<RegisteredModel>(r.RegisteredModels ?? [], NullIfEmpty(r.NextPageToken)));

    public Task SetRegisteredModelTagAsync(string name, string key, string value, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.SetRegisteredModelTag(new RegisteredModelTagBody(name, key, value), cancellationToken));

    public Task DeleteRegisteredModelTagAsync(string name, string key, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.DeleteRegisteredModelTag(new RegisteredModelTagBody(name, key, null), cancellationToken));

    public async Task<IReadOnlyList<ModelVersion>> GetLatestVersionsAsync(string name, IReadOnlyList<string> stages, CancellationToken cancellationToken)
    {
        var stageList = stages.Count == 0 ? null : stages;
        if (_capabilities.LatestVersionsPost != ServerSupport.Unsupported)
        {
            try
            {
                var response = await RestApi.CallAsync(() => _api.GetLatestVersionsPost(new GetLatestVersionsBody(name, stageList), cancellationToken)).ConfigureAwait(false);
                _capabilities.LatestVersionsPost = ServerSupport.Supported;
                return response.ModelVersions ?? [];
            }
            catch (MlflowException ex) when (ex.ErrorCode == MlflowErrorCodes.EndpointNotFound)
            {
                // Older servers (and some proxies) only serve the GET form, as the Python client's fallback assumes.
                _capabilities.LatestVersionsPost = ServerSupport.Unsupported;
            }
        }

        var fallback = await RestApi.CallAsync(() => _api.GetLatestVersionsGet(name, stageList, cancellationToken)).ConfigureAwait(false);
        return fallback.ModelVersions ?? [];
    }

    public Task<ModelVersion> CreateModelVersionAsync(string name, string source, CreateModelVersionOptions options, CancellationToken cancellationToken) =>
        Map(
            () => _api.CreateModelVersion(
                new CreateModelVersionBody
                {
                    Name = name,
                    Source = source,
                    RunId = NullIfEmpty(options.RunId),
                    Description = options.Description,
                    Tags = ToDtos(options.Tags),
                    RunLink = NullIfEmpty(options.RunLink),
                    ModelId = NullIfEmpty(options.ModelId),
                },
                MlflowRetryMode.NotProcessedOnly,
                cancellationToken),
            r => r.ModelVersion);

    public Task<ModelVersion> GetModelVersionAsync(string name, string version, CancellationToken cancellationToken) =>
        Map(() => _api.GetModelVersion(name, version, cancellationToken), r => r.ModelVersion);

    public Task<ModelVersion> UpdateModelVersionAsync(string name, string version, string? description, CancellationToken cancellationToken) =>
        Map(() => _api.UpdateModelVersion(new UpdateModelVersionBody(name, version, description), cancellationToken), r => r.ModelVersion);

    public Task DeleteModelVersionAsync(string name, string version, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.DeleteModelVersion(new NameVersionBody(name, version), cancellationToken));

    public Task<MlflowPage<ModelVersion>> SearchModelVersionsAsync(string? filter, IReadOnlyList<string>? orderBy, int maxResults, string? pageToken, CancellationToken cancellationToken) =>
        Map(
            () => _api.SearchModelVersions(NullIfEmpty(filter), maxResults, orderBy is { Count: > 0 } ? orderBy : null, NullIfEmpty(pageToken), cancellationToken),
            r => new MlflowPage<ModelVersion>(r.ModelVersions ?? [], NullIfEmpty(r.NextPageToken)));

    public Task<string> GetModelVersionDownloadUriAsync(string name, string version, CancellationToken cancellationToken) =>
        Map(() => _api.GetModelVersionDownloadUri(name, version, cancellationToken), r => r.ArtifactUri ?? "");

    public Task SetModelVersionTagAsync(string name, string version, string key, string value, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.SetModelVersionTag(new ModelVersionTagBody(name, version, key, value), cancellationToken));

    public Task DeleteModelVersionTagAsync(string name, string version, string key, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.DeleteModelVersionTag(new ModelVersionTagBody(name, version, key, null), cancellationToken));

    public Task<ModelVersion> TransitionModelVersionStageAsync(string name, string version, string stage, bool archiveExistingVersions, CancellationToken cancellationToken) =>
        Map(() => _api.TransitionStage(new TransitionStageBody(name, version, stage, archiveExistingVersions), cancellationToken), r => r.ModelVersion);

    public Task SetAliasAsync(string name, string alias, string version, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.SetAlias(new SetAliasBody(name, alias, version), cancellationToken));

    public Task DeleteAliasAsync(string name, string alias, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.DeleteAlias(new AliasBody(name, alias), cancellationToken));

    public Task<ModelVersion> GetModelVersionByAliasAsync(string name, string alias, CancellationToken cancellationToken) =>
        Map(() => _api.GetModelVersionByAlias(name, alias, cancellationToken), r => r.ModelVersion);

    public Task LogModelHistoryAsync(string runId, string modelJson, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.LogModel(new LogModelBody(runId, modelJson), cancellationToken));

    private static async Task<TResult> Map<TResponse, TResult>(Func<Task<TResponse>> call, Func<TResponse, TResult> map) =>
        map(await RestApi.CallAsync(call).ConfigureAwait(false));

    private static List<KeyValueDto>? ToDtos(IReadOnlyDictionary<string, string>? tags) =>
        tags is null || tags.Count == 0 ? null : tags.Select(t => new KeyValueDto(t.Key, t.Value)).ToList();

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
