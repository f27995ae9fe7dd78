using MLOpsDemo.Mlflow.Rest;

namespace MLOpsDemo.Mlflow.LoggedModels;

/// <summary>
/// MLflow 3 logged models behind <see cref="LoggedModelsClient"/>. A store that lacks them (an MLflow 2.x server)
/// fails with <see cref="MlflowErrorCodes.EndpointNotFound"/>. A tracking store that also implements this interface is
/// used automatically.
/// </summary>
internal interface ILoggedModelStore
{
    Task<LoggedModel> CreateLoggedModelAsync(string experimentId, CreateLoggedModelOptions options, CancellationToken cancellationToken);

    Task<LoggedModel> GetLoggedModelAsync(string modelId, CancellationToken cancellationToken);

    Task<LoggedModel> FinalizeLoggedModelAsync(string modelId, LoggedModelStatus status, CancellationToken cancellationToken);

    Task DeleteLoggedModelAsync(string modelId, CancellationToken cancellationToken);

    Task<MlflowPage<LoggedModel>> SearchLoggedModelsAsync(IReadOnlyList<string> experimentIds, string? filter, IReadOnlyList<LoggedModelDatasetFilter>? datasets, IReadOnlyList<LoggedModelOrderBy>? orderBy, int maxResults, string? pageToken, CancellationToken cancellationToken);

    Task SetLoggedModelTagsAsync(string modelId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken);

    Task DeleteLoggedModelTagAsync(string modelId, string key, CancellationToken cancellationToken);
}

/// <summary>Logged models of an MLflow 3 server, over REST.</summary>
internal sealed class RestLoggedModelStore : ILoggedModelStore
{
    private readonly IMlflowLoggedModelsApi _api;

    public RestLoggedModelStore(HttpClient httpClient, Uri baseUri) => _api = Registry.RegistryRest.Create<IMlflowLoggedModelsApi>(httpClient, baseUri);

    public Task<LoggedModel> CreateLoggedModelAsync(string experimentId, CreateLoggedModelOptions options, CancellationToken cancellationToken) =>
        Map(
            () => _api.Create(
                new CreateLoggedModelBody
                {
                    ExperimentId = experimentId,
                    Name = options.Name,
                    ModelType = options.ModelType,
                    SourceRunId = options.SourceRunId,
                    Params = ToDtos(options.Params),
                    Tags = ToDtos(options.Tags),
                },
                Http.MlflowRetryMode.NotProcessedOnly,
                cancellationToken),
            r => r.Model);

    public Task<LoggedModel> GetLoggedModelAsync(string modelId, CancellationToken cancellationToken) =>
        Map(() => _api.Get(modelId, cancellationToken), r => r.Model);

    public Task<LoggedModel> FinalizeLoggedModelAsync(string modelId, LoggedModelStatus status, CancellationToken cancellationToken) =>
        Map(() => _api.Finalize(modelId, new FinalizeLoggedModelBody(modelId, status), cancellationToken), r => r.Model);

    public Task DeleteLoggedModelAsync(string modelId, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.Delete(modelId, new ModelIdBody(modelId), cancellationToken));

    public Task<MlflowPage<LoggedModel>> SearchLoggedModelsAsync(IReadOnlyList<string> experimentIds, string? filter, IReadOnlyList<LoggedModelDatasetFilter>? datasets, IReadOnlyList<LoggedModelOrderBy>? orderBy, int maxResults, string? pageToken, CancellationToken cancellationToken) =>
        Map(
            () => _api.Search(
                new SearchLoggedModelsBody
                {
                    ExperimentIds = experimentIds,
                    Filter = string.IsNullOrEmpty(filter) ? null : filter,
                    Datasets = datasets is { Count: > 0 } ? datasets.Select(d => new LoggedModelDatasetDto { DatasetName = d.DatasetName, DatasetDigest = d.DatasetDigest }).ToList() : null,
                    MaxResults = maxResults,
                    OrderBy = orderBy is { Count: > 0 } ? orderBy.Select(o => new LoggedModelOrderByDto { FieldName = o.FieldName, Ascending = o.Ascending, DatasetName = o.DatasetName, DatasetDigest = o.DatasetDigest }).ToList() : null,
                    PageToken = string.IsNullOrEmpty(pageToken) ? null : pageToken,
                },
                cancellationToken),
            r => new MlflowPage<LoggedModel>(r.Models ?? [], string.IsNullOrEmpty(r.NextPageToken) ? null : r.NextPageToken));

    public Task SetLoggedModelTagsAsync(string modelId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.SetTags(modelId, new SetLoggedModelTagsBody(ToDtos(tags) ?? []), cancellationToken));

    public Task DeleteLoggedModelTagAsync(string modelId, string key, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.DeleteTag(modelId, key, cancellationToken));

    private static async Task<TResult> Map<TResponse, TResult>(Func<Task<TResponse>> call, Func<TResponse, TResult> map) =>
        map(await RestApi.CallAsync(call).ConfigureAwait(false));

    private static List<KeyValueDto>? ToDtos(IReadOnlyDictionary<string, string>? pairs) =>
        pairs is null || pairs.Count == 0 ? null : pairs.Select(t => new KeyValueDto(t.Key, t.Value)).ToList();
}
