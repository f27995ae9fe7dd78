using System.Runtime.CompilerServices;
using MLOpsDemo.Mlflow.Internal;
using MLOpsDemo.Mlflow.Stores;

namespace MLOpsDemo.Mlflow;

/// <summary>
/// MLflow runs (REST <c>/api/2.0/mlflow/runs/*</c> and <c>metrics/*</c>). Obtain it from <see cref="MlflowClient.Runs"/>.
/// These calls send one request each; for training loops prefer the buffered <c>MlflowClient.StartRunAsync</c>.
/// </summary>
public class RunsClient
{
    private readonly MlflowClient _client;

    internal RunsClient(MlflowClient client) => _client = client;

    /// <summary>Creates a client for mocking.</summary>
    protected RunsClient() => _client = null!;

    private ITrackingStore Store
    {
        get
        {
            _client.ThrowIfDisposed();
            return _client.Store;
        }
    }

    private MlflowClientOptions Options => _client.Options;

    /// <summary>Creates a run in an experiment. The run starts in status <see cref="RunStatus.Running"/>.</summary>
    /// <param name="experimentId">The experiment id.</param>
    /// <param name="options">Name, tags, start time and user.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The created run.</returns>
    public virtual Task<Run> CreateAsync(string experimentId, CreateRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateId(experimentId, "experiment id", nameof(experimentId));
        options ??= new CreateRunOptions();
        var tags = new List<KeyValuePair<string, string>>();
        string? runNameTag = null;
        if (options.Tags is not null)
        {
            foreach (var tag in options.Tags)
            {
                MlflowValidation.ValidateKey(tag.Key, "run tag", nameof(options));
                var value = MlflowValidation.ValidateValue(tag.Value, "run tag", tag.Key, MlflowValidation.MaxRunTagValueLength, Options.TruncateLongValues, nameof(options));
                tags.Add(new(tag.Key, value));
                if (tag.Key == "mlflow.runName")
                {
                    runNameTag = value;
                }
            }
        }

        if (options.RunName is not null && runNameTag is not null && options.RunName != runNameTag)
        {
            throw new ArgumentException($"The run name '{options.RunName}' differs from the mlflow.runName tag '{runNameTag}'; give one of them, or the same value.", nameof(options));
        }

        var runName = options.RunName ?? runNameTag ?? RunNameGenerator.Generate();
        var userId = options.UserId ?? (options.Tags is not null && options.Tags.TryGetValue("mlflow.user", out var user) ? user : "unknown");
        var start = (options.StartTime ?? Options.TimeProvider.GetUtcNow()).ToUnixTimeMilliseconds();
        return Store.CreateRunAsync(new CreateRunRequest(experimentId, userId, runName, start, tags), cancellationToken);
    }

    /// <summary>Gets a run with its latest metrics, params, tags, inputs and outputs.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The run.</returns>
    /// <exception cref="MlflowException">With <c>RESOURCE_DOES_NOT_EXIST</c> when there is none.</exception>
    public virtual Task<Run> GetAsync(string runId, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        return Store.GetRunAsync(runId, cancellationToken);
    }

    /// <summary>Updates a run's status, end time or name; <see langword="null"/> fields are left unchanged.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="status">The new status.</param>
    /// <param name="endTime">The end time.</param>
    /// <param name="runName">A new name (the <c>mlflow.runName</c> tag follows).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The updated run info.</returns>
    public virtual Task<RunInfo> UpdateAsync(string runId, RunStatus? status = null, DateTimeOffset? endTime = null, string? runName = null, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        return Store.UpdateRunAsync(runId, status, endTime?.ToUnixTimeMilliseconds(), runName, cancellationToken);
    }

    /// <summary>Ends a run: sets its status (default <see cref="RunStatus.Finished"/>) and its end time (default now).</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="status">The final status.</param>
    /// <param name="endTime">The end time; <see langword="null"/> means now.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The updated run info.</returns>
    public virtual Task<RunInfo> SetTerminatedAsync(string runId, RunStatus status = RunStatus.Finished, DateTimeOffset? endTime = null, CancellationToken cancellationToken = default) =>
        UpdateAsync(runId, status, endTime ?? Options.TimeProvider.GetUtcNow(), runName: null, cancellationToken);

    /// <summary>Soft-deletes a run.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the run is deleted.</returns>
    public virtual Task DeleteAsync(string runId, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        return Store.DeleteRunAsync(runId, cancellationToken);
    }

    /// <summary>Restores a deleted run.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the run is restored.</returns>
    public virtual Task RestoreAsync(string runId, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        return Store.RestoreRunAsync(runId, cancellationToken);
    }

    /// <summary>Searches runs, fetching pages lazily as the sequence is enumerated.</summary>
    /// <param name="options">Experiments, filter, order, view type and page size.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The matching runs.</returns>
    public virtual async IAsyncEnumerable<Run> SearchAsync(SearchRunsOptions options, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var (query, pageSize) = PrepareSearch(options);
        await foreach (var run in Paging.AllAsync((token, ct) => Store.SearchRunsAsync(query, pageSize, token, ct), options.PageToken, cancellationToken).ConfigureAwait(false))
        {
            yield return run;
        }
    }

    /// <summary>Gets one page of a run search, for callers that keep page tokens themselves.</summary>
    /// <param name="options">Experiments, filter, order, view type, page size and page token.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The page.</returns>
    public virtual Task<MlflowPage<Run>> SearchPageAsync(SearchRunsOptions options, CancellationToken cancellationToken = default)
    {
        var (query, pageSize) = PrepareSearch(options);
        return Store.SearchRunsAsync(query, pageSize, options.PageToken, cancellationToken);
    }

    private (RunQuery Query, int PageSize) PrepareSearch(SearchRunsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ExperimentIds.Count == 0)
        {
            throw new ArgumentException("SearchRunsOptions.ExperimentIds must name at least one experiment.", nameof(options));
        }

        var pageSize = options.PageSize ?? Options.DefaultPageSize;
        MlflowValidation.ValidateMaxResults(pageSize, 50_000, nameof(options));
        return (new RunQuery(options.ExperimentIds, options.Filter, options.OrderBy, options.ViewType), pageSize);
    }

    /// <summary>Logs one metric point.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="key">The metric key.</param>
    /// <param name="value">The value; NaN and ±Infinity are sent as MLflow expects.</param>
    /// <param name="step">The step; <see langword="null"/> leaves it out (the server stores 0).</param>
    /// <param name="timestamp">The time; <see langword="null"/> means now.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the point is stored.</returns>
    public virtual Task LogMetricAsync(string runId, string key, double value, long? step = null, DateTimeOffset? timestamp = null, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        MlflowValidation.ValidateKey(key, "metric", nameof(key));
        var ms = (timestamp ?? Options.TimeProvider.GetUtcNow()).ToUnixTimeMilliseconds();
        MlflowValidation.ValidateTimestamp(ms, nameof(timestamp));
        return Store.LogMetricAsync(runId, key, value, ms, step, modelId: null, cancellationToken);
    }

    /// <summary>Logs a param. Logging the same key again with the same value is allowed; a different value is refused by the server.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="key">The param key.</param>
    /// <param name="value">The value (at most 6000 characters).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the param is stored.</returns>
    public virtual Task LogParamAsync(string runId, string key, string value, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        MlflowValidation.ValidateKey(key, "param", nameof(key));
        value = MlflowValidation.ValidateValue(value, "param", key, MlflowValidation.MaxParamValueLength, Options.TruncateLongValues, nameof(value));
        return Store.LogParamAsync(runId, key, value, cancellationToken);
    }

    /// <summary>Sets (or overwrites) a run tag.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="key">The tag key.</param>
    /// <param name="value">The value (at most 8000 characters).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the tag is set.</returns>
    public virtual Task SetTagAsync(string runId, string key, string value, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        MlflowValidation.ValidateKey(key, "run tag", nameof(key));
        value = MlflowValidation.ValidateValue(value, "run tag", key, MlflowValidation.MaxRunTagValueLength, Options.TruncateLongValues, nameof(value));
        return Store.SetTagAsync(runId, key, value, cancellationToken);
    }

    /// <summary>Deletes a run tag.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="key">The tag key.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the tag is deleted.</returns>
    public virtual Task DeleteTagAsync(string runId, string key, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        MlflowValidation.ValidateKey(key, "run tag", nameof(key));
        return Store.DeleteTagAsync(runId, key, cancellationToken);
    }

    /// <summary>
    /// Logs any number of metrics, params and tags, split into as many log-batch requests as the server's limits need
    /// (1000 items, 1000 metrics, 100 params, 100 tags, 1 MB). Everything is validated before the first request.
    /// </summary>
    /// <param name="runId">The run id.</param>
    /// <param name="metrics">Metric points.</param>
    /// <param name="parameters">Params; a key may appear only once.</param>
    /// <param name="tags">Tags.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when every request succeeded.</returns>
    public virtual async Task LogBatchAsync(string runId, IEnumerable<Metric>? metrics = null, IEnumerable<KeyValuePair<string, string>>? parameters = null, IEnumerable<KeyValuePair<string, string>>? tags = null, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        var m = PrepareMetrics(metrics, nameof(metrics));
        var p = PrepareParams(parameters, nameof(parameters), Options.TruncateLongValues);
        var t = PrepareTags(tags, nameof(tags), Options.TruncateLongValues);
        foreach (var chunk in BatchSplitter.Split(m, p, t))
        {
            await Store.LogBatchAsync(runId, chunk.Metrics, chunk.Params, chunk.Tags, cancellationToken).ConfigureAwait(false);
        }
    }

    internal static List<Metric> PrepareMetrics(IEnumerable<Metric>? metrics, string paramName)
    {
        var list = metrics is null ? [] : metrics.ToList();
        foreach (var metric in list)
        {
            ArgumentNullException.ThrowIfNull(metric, paramName);
            MlflowValidation.ValidateKey(metric.Key, "metric", paramName);
            MlflowValidation.ValidateTimestamp(metric.Timestamp, paramName);
        }

        return list;
    }

    internal static List<KeyValuePair<string, string>> PrepareParams(IEnumerable<KeyValuePair<string, string>>? parameters, string paramName, bool truncate)
    {
        var list = new List<KeyValuePair<string, string>>();
        if (parameters is null)
        {
            return list;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pair in parameters)
        {
            MlflowValidation.ValidateKey(pair.Key, "param", paramName);
            if (!seen.Add(pair.Key))
            {
                throw new ArgumentException($"The param '{pair.Key}' appears more than once in one batch; MLflow refuses duplicate param keys even with equal values. Log each key once.", paramName);
            }

            list.Add(new(pair.Key, MlflowValidation.ValidateValue(pair.Value, "param", pair.Key, MlflowValidation.MaxParamValueLength, truncate, paramName)));
        }

        return list;
    }

    internal static List<KeyValuePair<string, string>> PrepareTags(IEnumerable<KeyValuePair<string, string>>? tags, string paramName, bool truncate)
    {
        var list = new List<KeyValuePair<string, string>>();
        if (tags is null)
        {
            return list;
        }

        foreach (var pair in tags)
        {
            MlflowValidation.ValidateKey(pair.Key, "run tag", paramName);
            list.Add(new(pair.Key, MlflowValidation.ValidateValue(pair.Value, "run tag", pair.Key, MlflowValidation.MaxRunTagValueLength, truncate, paramName)));
        }

        return list;
    }

    /// <summary>Records datasets (and, on MLflow 3, logged models) used by a run.</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="datasets">The dataset inputs.</param>
    /// <param name="models">Logged models used as inputs (MLflow 3), or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the inputs are stored.</returns>
    public virtual Task LogInputsAsync(string runId, IReadOnlyList<DatasetInput> datasets, IReadOnlyList<ModelInput>? models = null, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        ArgumentNullException.ThrowIfNull(datasets);
        foreach (var input in datasets)
        {
            ValidateDataset(input, nameof(datasets));
        }

        return Store.LogInputsAsync(runId, datasets, models, cancellationToken);
    }

    /// <summary>Links logged models to a run as its outputs (MLflow 3 <c>runs/outputs</c>).</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="models">The model outputs.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the outputs are stored.</returns>
    public virtual Task LogOutputsAsync(string runId, IReadOnlyList<ModelOutput> models, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        ArgumentNullException.ThrowIfNull(models);
        if (models.Count == 0)
        {
            throw new ArgumentException("At least one model output is required.", nameof(models));
        }

        return Store.LogOutputsAsync(runId, models, cancellationToken);
    }

    internal static void ValidateDataset(DatasetInput input, string paramName)
    {
        ArgumentNullException.ThrowIfNull(input, paramName);
        var d = input.Dataset ?? throw new ArgumentException("A dataset input needs a Dataset.", paramName);
        Require(d.Name, "name", 500);
        Require(d.Digest, "digest", 36);
        Require(d.SourceType, "source_type", 36);
        Require(d.Source, "source", 65_535);
        if (d.Schema is { } schema && MlflowValidation.CodePointLength(schema) > 1_048_575)
        {
            throw new ArgumentException($"The schema of dataset '{d.Name}' is longer than MLflow's limit of 1,048,575 characters.", paramName);
        }

        if (d.Profile is { } profile && MlflowValidation.CodePointLength(profile) > 16_777_215)
        {
            throw new ArgumentException($"The profile of dataset '{d.Name}' is longer than MLflow's limit of 16,777,215 characters.", paramName);
        }

        foreach (var tag in input.Tags)
        {
            if (string.IsNullOrEmpty(tag.Key) || MlflowValidation.CodePointLength(tag.Key) > 255 || MlflowValidation.CodePointLength(tag.Value ?? "") > 500)
            {
                throw new ArgumentException($"Dataset input tag '{tag.Key}' is invalid: keys must be 1–255 characters and values at most 500.", paramName);
            }
        }

        void Require(string? value, string field, int max)
        {
            if (string.IsNullOrEmpty(value))
            {
                throw new ArgumentException($"Dataset field '{field}' is required.", paramName);
            }

            if (MlflowValidation.CodePointLength(value) > max)
            {
                throw new ArgumentException($"Dataset field '{field}' is {MlflowValidation.CodePointLength(value)} characters long; MLflow allows at most {max}.", paramName);
            }
        }
    }

    /// <summary>Reads the full history of one metric, fetching pages lazily (MLflow 2.x returns it in one page).</summary>
    /// <param name="runId">The run id.</param>
    /// <param name="key">The metric key.</param>
    /// <param name="pageSize">Points per request (1–25,000; default 25,000, as MLflow's client).</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The points.</returns>
    public virtual async IAsyncEnumerable<Metric> GetMetricHistoryAsync(string runId, string key, int pageSize = 25_000, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        MlflowValidation.ValidateKey(key, "metric", nameof(key));
        MlflowValidation.ValidateMaxResults(pageSize, 25_000, nameof(pageSize));
        await foreach (var metric in Paging.AllAsync((token, ct) => Store.GetMetricHistoryAsync(runId, key, pageSize, token, ct), null, cancellationToken).ConfigureAwait(false))
        {
            yield return metric;
        }
    }

    /// <summary>Reads a down-sampled history of one metric for several runs (<c>metrics/get-history-bulk-interval</c>).</summary>
    /// <param name="runIds">1–100 run ids.</param>
    /// <param name="key">The metric key.</param>
    /// <param name="startStep">First step, together with <paramref name="endStep"/>.</param>
    /// <param name="endStep">Last step, together with <paramref name="startStep"/>.</param>
    /// <param name="maxResults">Points per run (1–2500, default 2500).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The points, each with its <see cref="Metric.RunId"/>.</returns>
    public virtual Task<IReadOnlyList<Metric>> GetMetricHistoryBulkIntervalAsync(IReadOnlyList<string> runIds, string key, long? startStep = null, long? endStep = null, int maxResults = 2500, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runIds);
        if (runIds.Count is 0 or > 100)
        {
            throw new ArgumentException($"Between 1 and 100 run ids are required; {runIds.Count} were given.", nameof(runIds));
        }

        foreach (var id in runIds)
        {
            MlflowValidation.ValidateRunId(id, nameof(runIds));
        }

        MlflowValidation.ValidateKey(key, "metric", nameof(key));
        if (startStep.HasValue != endStep.HasValue)
        {
            throw new ArgumentException("startStep and endStep must be given together.", nameof(startStep));
        }

        if (startStep > endStep)
        {
            throw new ArgumentException($"startStep ({startStep}) must not be greater than endStep ({endStep}).", nameof(startStep));
        }

        MlflowValidation.ValidateMaxResults(maxResults, 2500, nameof(maxResults));
        return Store.GetMetricHistoryBulkIntervalAsync(runIds, key, startStep, endStep, maxResults, cancellationToken);
    }
}
