using MLOpsDemo.Mlflow.Http;
using MLOpsDemo.Mlflow.Rest;
using Refit;

namespace MLOpsDemo.Mlflow.Registry;

/// <summary>MLflow's model registry REST endpoints (REST.md §4), for Refit's source generator.</summary>
internal interface IMlflowRegistryApi
{
    private const string RetryMode = "MLOpsDemo.Mlflow.RetryMode";

    [Post("/api/2.0/mlflow/registered-models/create")]
    Task<RegisteredModelResponse> CreateRegisteredModel([Body] CreateRegisteredModelBody body, [Property(RetryMode)] MlflowRetryMode retryMode, CancellationToken cancellationToken);

    [Get("/api/2.0/mlflow/registered-models/get")]
    Task<RegisteredModelResponse> GetRegisteredModel([AliasAs("name")] string name, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/registered-models/rename")]
    Task<RegisteredModelResponse> RenameRegisteredModel([Body] RenameRegisteredModelBody body, [Property(RetryMode)] MlflowRetryMode retryMode, CancellationToken cancellationToken);

    [Patch("/api/2.0/mlflow/registered-models/update")]
    Task<RegisteredModelResponse> UpdateRegisteredModel([Body] UpdateRegisteredModelBody body, CancellationToken cancellationToken);

    [Delete("/api/2.0/mlflow/registered-models/delete")]
    Task<EmptyResponse> DeleteRegisteredModel([Body] NameBody body, CancellationToken cancellationToken);

    [Get("/api/2.0/mlflow/registered-models/search")]
    Task<SearchRegisteredModelsResponse> SearchRegisteredModels([AliasAs("filter")] string? filter, [AliasAs("max_results")] long maxResults, [Query(CollectionFormat.Multi)][AliasAs("order_by")] IEnumerable<string>? orderBy, [AliasAs("page_token")] string? pageToken, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/registered-models/set-tag")]
    Task<EmptyResponse> SetRegisteredModelTag([Body] RegisteredModelTagBody body, CancellationToken cancellationToken);

    [Delete("/api/2.0/mlflow/registered-models/delete-tag")]
    Task<EmptyResponse> DeleteRegisteredModelTag([Body] RegisteredModelTagBody body, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/registered-models/get-latest-versions")]
    Task<ModelVersionsResponse> GetLatestVersionsPost([Body] GetLatestVersionsBody body, CancellationToken cancellationToken);

    [Get("/api/2.0/mlflow/registered-models/get-latest-versions")]
    Task<ModelVersionsResponse> GetLatestVersionsGet([AliasAs("name")] string name, [Query(CollectionFormat.Multi)][AliasAs("stages")] IEnumerable<string>? stages, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/model-versions/create")]
    Task<ModelVersionResponse> CreateModelVersion([Body] CreateModelVersionBody body, [Property(RetryMode)] MlflowRetryMode retryMode, CancellationToken cancellationToken);

    [Get("/api/2.0/mlflow/model-versions/get")]
    Task<ModelVersionResponse> GetModelVersion([AliasAs("name")] string name, [AliasAs("version")] string version, CancellationToken cancellationToken);

    [Patch("/api/2.0/mlflow/model-versions/update")]
    Task<ModelVersionResponse> UpdateModelVersion([Body] UpdateModelVersionBody body, CancellationToken cancellationToken);

    [Delete("/api/2.0/mlflow/model-versions/delete")]
    Task<EmptyResponse> DeleteModelVersion([Body] NameVersionBody body, CancellationToken cancellationToken);

    [Get("/api/2.0/mlflow/model-versions/search")]
    Task<SearchModelVersionsResponse> SearchModelVersions([AliasAs("filter")] string? filter, [AliasAs("max_results")] long maxResults, [Query(CollectionFormat.Multi)][AliasAs("order_by")] IEnumerable<string>? orderBy, [AliasAs("page_token")] string? pageToken, CancellationToken cancellationToken);

    [Get("/api/2.0/mlflow/model-versions/get-download-uri")]
    Task<DownloadUriResponse> GetModelVersionDownloadUri([AliasAs("name")] string name, [AliasAs("version")] string version, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/model-versions/set-tag")]
    Task<EmptyResponse> SetModelVersionTag([Body] ModelVersionTagBody body, CancellationToken cancellationToken);

    [Delete("/api/2.0/mlflow/model-versions/delete-tag")]
    Task<EmptyResponse> DeleteModelVersionTag([Body] ModelVersionTagBody body, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/model-versions/transition-stage")]
    Task<ModelVersionResponse> TransitionStage([Body] TransitionStageBody body, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/registered-models/alias")]
    Task<EmptyResponse> SetAlias([Body] SetAliasBody body, CancellationToken cancellationToken);

    [Delete("/api/2.0/mlflow/registered-models/alias")]
    Task<EmptyResponse> DeleteAlias([Body] AliasBody body, CancellationToken cancellationToken);

    [Get("/api/2.0/mlflow/registered-models/alias")]
    Task<ModelVersionResponse> GetModelVersionByAlias([AliasAs("name")] string name, [AliasAs("alias")] string alias, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/runs/log-model")]
    Task<EmptyResponse> LogModel([Body] LogModelBody body, CancellationToken cancellationToken);
}
