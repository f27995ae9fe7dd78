using MLOpsDemo.Mlflow.Http;
using Refit;

namespace MLOpsDemo.Mlflow.Rest;

/// <summary>MLflow's tracking REST endpoints (REST.md §3), for Refit's source generator.</summary>
internal interface IMlflowTrackingApi
{
    private const string RetryMode = "MLOpsDemo.Mlflow.RetryMode";

    [Post("/api/2.0/mlflow/experiments/create")]
    Task<CreateExperimentResponse> CreateExperiment([Body] CreateExperimentBody body, [Property(RetryMode)] MlflowRetryMode retryMode, CancellationToken cancellationToken);

    [Get("/api/2.0/mlflow/experiments/get")]
    Task<ExperimentResponse> GetExperiment([AliasAs("experiment_id")] string experimentId, CancellationToken cancellationToken);

    [Get("/api/2.0/mlflow/experiments/get-by-name")]
    Task<ExperimentResponse> GetExperimentByName([AliasAs("experiment_name")] string experimentName, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/experiments/search")]
    Task<SearchExperimentsResponse> SearchExperiments([Body] SearchExperimentsBody body, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/experiments/update")]
    Task<EmptyResponse> UpdateExperiment([Body] UpdateExperimentBody body, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/experiments/delete")]
    Task<EmptyResponse> DeleteExperiment([Body] ExperimentIdBody body, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/experiments/restore")]
    Task<EmptyResponse> RestoreExperiment([Body] ExperimentIdBody body, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/experiments/set-experiment-tag")]
    Task<EmptyResponse> SetExperimentTag([Body] ExperimentTagBody body, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/experiments/delete-experiment-tag")]
    Task<EmptyResponse> DeleteExperimentTag([Body] ExperimentTagBody body, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/runs/create")]
    Task<RunResponse> CreateRun([Body] CreateRunBody body, [Property(RetryMode)] MlflowRetryMode retryMode, CancellationToken cancellationToken);

    [Get("/api/2.0/mlflow/runs/get")]
    Task<RunResponse> GetRun([AliasAs("run_id")] string runId, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/runs/update")]
    Task<UpdateRunResponse> UpdateRun([Body] UpdateRunBody body, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/runs/delete")]
    Task<EmptyResponse> DeleteRun([Body] RunIdBody body, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/runs/restore")]
    Task<EmptyResponse> RestoreRun([Body] RunIdBody body, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/runs/search")]
    Task<SearchRunsResponse> SearchRuns([Body] SearchRunsBody body, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/runs/log-metric")]
    Task<EmptyResponse> LogMetric([Body] LogMetricBody body, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/runs/log-parameter")]
    Task<EmptyResponse> LogParameter([Body] RunKeyValueBody body, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/runs/set-tag")]
    Task<EmptyResponse> SetTag([Body] RunKeyValueBody body, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/runs/delete-tag")]
    Task<EmptyResponse> DeleteTag([Body] RunKeyBody body, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/runs/log-inputs")]
    Task<EmptyResponse> LogInputs([Body] LogInputsBody body, CancellationToken cancellationToken);

    [Post("/api/2.0/mlflow/runs/outputs")]
    Task<EmptyResponse> LogOutputs([Body] LogOutputsBody body, CancellationToken cancellationToken);

    [Get("/api/2.0/mlflow/metrics/get-history")]
    Task<MetricsResponse> GetMetricHistory([AliasAs("run_id")] string runId, [AliasAs("metric_key")] string metricKey, [AliasAs("max_results")] int maxResults, [AliasAs("page_token")] string? pageToken, CancellationToken cancellationToken);

    [Get("/api/2.0/mlflow/metrics/get-history-bulk-interval")]
    Task<MetricsResponse> GetMetricHistoryBulkInterval([Query(CollectionFormat.Multi)][AliasAs("run_ids")] IEnumerable<string> runIds, [AliasAs("metric_key")] string metricKey, [AliasAs("start_step")] long? startStep, [AliasAs("end_step")] long? endStep, [AliasAs("max_results")] int maxResults, CancellationToken cancellationToken);

    [Get("/api/2.0/mlflow/artifacts/list")]
    Task<ListArtifactsResponse> ListArtifacts([AliasAs("run_id")] string runId, [AliasAs("path")] string? path, [AliasAs("page_token")] string? pageToken, CancellationToken cancellationToken);
}
