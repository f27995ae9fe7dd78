using MLOpsDemo.Mlflow.Http;
using MLOpsDemo.Mlflow.Rest;
using Refit;

namespace MLOpsDemo.Mlflow.LoggedModels;

/// <summary>MLflow 3's logged-model endpoints (REST.md §7.1), for Refit's source generator.</summary>
internal interface IMlflowLoggedModelsApi
{
    private const string RetryMode = "MLOpsDemo.Mlflow.RetryMode";

    [Post("/api/2.0/mlflow/logged-models")]
    Task<LoggedModelResponse> Create([Body] CreateLoggedModelBody body, [Property(RetryMode)] MlflowRetryMode retryMode, CancellationToken cancellationToken);

    [Get("/api/2.0/mlflow/logged-models/{modelId}")]
    Task<LoggedModelResponse> Get(string modelId, CancellationToken cancellationToken);

    [Patch("/api/2.0/mlflow/logged-models/{modelId}")]
    Task<LoggedModelResponse> Finalize(string modelId, [Body] FinalizeLoggedModelBody body, CancellationToken cancellationToken);

    [Delete("/api/2.0/mlflow/logged-models/{modelId}")]
    Task<EmptyResponse> Delete(string modelId, [Body] ModelIdBody body, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/logged-models/search")]
    Task<SearchLoggedModelsResponse> Search([Body] SearchLoggedModelsBody body, CancellationToken cancellationToken);

    [Patch("/api/2.0/mlflow/logged-models/{modelId}/tags")]
    Task<EmptyResponse> SetTags(string modelId, [Body] SetLoggedModelTagsBody body, CancellationToken cancellationToken);

    [Delete("/api/2.0/mlflow/logged-models/{modelId}/tags/{tagKey}")]
    Task<EmptyResponse> DeleteTag(string modelId, string tagKey, CancellationToken cancellationToken);
}
