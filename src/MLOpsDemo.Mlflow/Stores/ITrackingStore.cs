namespace MLOpsDemo.Mlflow.Stores;

/// <summary>
/// The tracking operations every backing store implements with the same semantics and the same
/// <see cref="MlflowException"/> error codes: the REST store (an MLflow server) and the SQLite store (a local
/// <c>mlflow.db</c>). Inputs are validated by the public sub-clients before they reach a store.
/// </summary>
internal interface ITrackingStore : IDisposable
{
    /// <summary>The tracking URI this store serves (never containing credentials).</summary>
    string TrackingUri { get; }

    /// <summary>
    /// How many metric points the fluent pipeline puts into one <see cref="LogBatchAsync"/> call: MLflow's REST limit
    /// (1000) for a server; more for the local store, where each call is one transaction and no request limit applies.
    /// </summary>
    int MetricsPerBatch { get; }

    Task<string> CreateExperimentAsync(string name, string? artifactLocation, IReadOnlyDictionary<string, string>? tags, CancellationToken cancellationToken);

    Task<Experiment> GetExperimentAsync(string experimentId, CancellationToken cancellationToken);

    /// <summary>Returns <see langword="null"/> when no experiment has that name.</summary>
    Task<Experiment?> GetExperimentByNameAsync(string name, CancellationToken cancellationToken);

    Task<MlflowPage<Experiment>> SearchExperimentsAsync(ExperimentQuery query, int maxResults, string? pageToken, CancellationToken cancellationToken);

    Task UpdateExperimentAsync(string experimentId, string newName, CancellationToken cancellationToken);

    Task DeleteExperimentAsync(string experimentId, CancellationToken cancellationToken);

    Task RestoreExperimentAsync(string experimentId, CancellationToken cancellationToken);

    Task SetExperimentTagAsync(string experimentId, string key, string value, CancellationToken cancellationToken);

    Task DeleteExperimentTagAsync(string experimentId, string key, CancellationToken cancellationToken);

    Task<Run> CreateRunAsync(CreateRunRequest request, CancellationToken cancellationToken);

    Task<Run> GetRunAsync(string runId, CancellationToken cancellationToken);

    Task<RunInfo> UpdateRunAsync(string runId, RunStatus? status, long? endTime, string? runName, CancellationToken cancellationToken);

    Task DeleteRunAsync(string runId, CancellationToken cancellationToken);

    Task RestoreRunAsync(string runId, CancellationToken cancellationToken);

    Task<MlflowPage<Run>> SearchRunsAsync(RunQuery query, int maxResults, string? pageToken, CancellationToken cancellationToken);

    /// <summary>Logs one metric point. A <see langword="null"/> step is left out of the request (the server stores 0).</summary>
    Task LogMetricAsync(string runId, string key, double value, long timestamp, long? step, string? modelId, CancellationToken cancellationToken);

    Task LogParamAsync(string runId, string key, string value, CancellationToken cancellationToken);

    Task SetTagAsync(string runId, string key, string value, CancellationToken cancellationToken);

    Task DeleteTagAsync(string runId, string key, CancellationToken cancellationToken);

    /// <summary>Logs one batch that is already within the server limits (the caller splits).</summary>
    Task LogBatchAsync(string runId, IReadOnlyList<Metric> metrics, IReadOnlyList<KeyValuePair<string, string>> parameters, IReadOnlyList<KeyValuePair<string, string>> tags, CancellationToken cancellationToken);

    Task LogInputsAsync(string runId, IReadOnlyList<DatasetInput> datasets, IReadOnlyList<ModelInput>? models, CancellationToken cancellationToken);

    /// <summary>Links logged models to a run (MLflow 3 <c>runs/outputs</c>).</summary>
    Task LogOutputsAsync(string runId, IReadOnlyList<ModelOutput> models, CancellationToken cancellationToken);

    Task<MlflowPage<Metric>> GetMetricHistoryAsync(string runId, string metricKey, int maxResults, string? pageToken, CancellationToken cancellationToken);

    Task<IReadOnlyList<Metric>> GetMetricHistoryBulkIntervalAsync(IReadOnlyList<string> runIds, string metricKey, long? startStep, long? endStep, int maxResults, CancellationToken cancellationToken);

    /// <summary>Lists a run's artifacts at <paramref name="path"/> (run-relative), through the tracking store.</summary>
    Task<ArtifactListing> ListArtifactsAsync(string runId, string? path, string? pageToken, CancellationToken cancellationToken);
}

/// <summary>What to search experiments for.</summary>
internal sealed record ExperimentQuery(string? Filter, IReadOnlyList<string>? OrderBy, ViewType? ViewType);

/// <summary>What to search runs for.</summary>
internal sealed record RunQuery(IReadOnlyList<string> ExperimentIds, string? Filter, IReadOnlyList<string>? OrderBy, ViewType? ViewType);

/// <summary>The fields of a <c>runs/create</c> call.</summary>
internal sealed record CreateRunRequest(string ExperimentId, string? UserId, string? RunName, long StartTime, IReadOnlyList<KeyValuePair<string, string>> Tags);

/// <summary>A page of a run's artifact listing.</summary>
/// <param name="RootUri">The run's artifact root URI.</param>
/// <param name="Files">Run-relative entries.</param>
/// <param name="NextPageToken">The next page token, if any.</param>
internal sealed record ArtifactListing(string? RootUri, IReadOnlyList<ArtifactFileInfo> Files, string? NextPageToken);
