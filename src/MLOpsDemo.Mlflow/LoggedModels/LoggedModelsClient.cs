using System.Runtime.CompilerServices;
using MLOpsDemo.Mlflow.Internal;
using MLOpsDemo.Mlflow.LoggedModels;
using MLOpsDemo.Mlflow.Registry;

namespace MLOpsDemo.Mlflow;

/// <summary>
/// MLflow 3 logged models (REST <c>/api/2.0/mlflow/logged-models</c>). Obtain it from <see cref="MlflowClient.LoggedModels"/>.
/// On an MLflow 2.x server every call fails with <see cref="MlflowException"/> whose <see cref="MlflowException.ErrorCode"/>
/// is <see cref="MlflowErrorCodes.EndpointNotFound"/>.
/// </summary>
public class LoggedModelsClient
{
    /// <summary>The default page size of <see cref="SearchAsync"/> (the server's default).</summary>
    public const int DefaultPageSize = 50;

    private readonly MlflowClient _client;

    internal LoggedModelsClient(MlflowClient client) => _client = client;

    /// <summary>Creates a client for mocking.</summary>
    protected LoggedModelsClient() => _client = null!;

    private ILoggedModelStore Store
    {
        get
        {
            _client.ThrowIfDisposed();
            return _client.LoggedModelStore;
        }
    }

    /// <summary>Creates a logged model in status <see cref="LoggedModelStatus.Pending"/>; upload its files to <see cref="LoggedModelInfo.ArtifactUri"/>, then <see cref="FinalizeAsync"/> it.</summary>
    /// <param name="experimentId">The experiment.</param>
    /// <param name="options">Name, type, source run, params and tags.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The created model.</returns>
    public virtual Task<LoggedModel> CreateAsync(string experimentId, CreateLoggedModelOptions? options = null, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateId(experimentId, "experiment id", nameof(experimentId));
        options ??= new CreateLoggedModelOptions();
        if (options.Name is not null)
        {
            RegistryValidation.ValidateLoggedModelName(options.Name, nameof(options));
        }

        if (options.SourceRunId is not null)
        {
            MlflowValidation.ValidateRunId(options.SourceRunId, nameof(options));
        }

        ValidatePairs(options.Params, "logged model param", MlflowValidation.MaxParamValueLength, nameof(options));
        ValidatePairs(options.Tags, "logged model tag", MlflowValidation.MaxRunTagValueLength, nameof(options));
        return Store.CreateLoggedModelAsync(experimentId, options, cancellationToken);
    }

    /// <summary>Gets a logged model.</summary>
    /// <param name="modelId">The id (<c>m-…</c>).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The model.</returns>
    /// <exception cref="MlflowException">With <c>RESOURCE_DOES_NOT_EXIST</c> when there is none (or it was deleted).</exception>
    public virtual Task<LoggedModel> GetAsync(string modelId, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateModelId(modelId, nameof(modelId));
        return Store.GetLoggedModelAsync(modelId, cancellationToken);
    }

    /// <summary>Sets the final status: <see cref="LoggedModelStatus.Ready"/> after a complete upload, else <see cref="LoggedModelStatus.UploadFailed"/>.</summary>
    /// <param name="modelId">The id.</param>
    /// <param name="status">Ready or UploadFailed.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The updated model.</returns>
    public virtual Task<LoggedModel> FinalizeAsync(string modelId, LoggedModelStatus status = LoggedModelStatus.Ready, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateModelId(modelId, nameof(modelId));
        if (status is not (LoggedModelStatus.Ready or LoggedModelStatus.UploadFailed))
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "A logged model is finalized as Ready or UploadFailed.");
        }

        return Store.FinalizeLoggedModelAsync(modelId, status, cancellationToken);
    }

    /// <summary>Deletes a logged model.</summary>
    /// <param name="modelId">The id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the model is deleted.</returns>
    public virtual Task DeleteAsync(string modelId, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateModelId(modelId, nameof(modelId));
        return Store.DeleteLoggedModelAsync(modelId, cancellationToken);
    }

    /// <summary>Sets (or overwrites) tags of a logged model.</summary>
    /// <param name="modelId">The id.</param>
    /// <param name="tags">The tags.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the tags are set.</returns>
    public virtual Task SetTagsAsync(string modelId, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateModelId(modelId, nameof(modelId));
        ArgumentNullException.ThrowIfNull(tags);
        if (tags.Count == 0)
        {
            throw new ArgumentException("Give at least one tag.", nameof(tags));
        }

        ValidatePairs(tags, "logged model tag", MlflowValidation.MaxRunTagValueLength, nameof(tags));
        return Store.SetLoggedModelTagsAsync(modelId, tags, cancellationToken);
    }

    /// <summary>Deletes a tag of a logged model.</summary>
    /// <param name="modelId">The id.</param>
    /// <param name="key">The tag key.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the tag is deleted.</returns>
    public virtual Task DeleteTagAsync(string modelId, string key, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateModelId(modelId, nameof(modelId));
        MlflowValidation.ValidateKey(key, "logged model tag", nameof(key));
        return Store.DeleteLoggedModelTagAsync(modelId, key, cancellationToken);
    }

    /// <summary>Logs a metric point of a run and links it to a logged model (it then appears in the model's <see cref="LoggedModelData.Metrics"/>).</summary>
    /// <param name="modelId">The logged model id.</param>
    /// <param name="runId">The run the metric belongs to.</param>
    /// <param name="key">The metric key.</param>
    /// <param name="value">The value.</param>
    /// <param name="step">The step; <see langword="null"/> leaves it out (the server stores 0).</param>
    /// <param name="timestamp">The time; <see langword="null"/> means now.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the point is stored.</returns>
    public virtual Task LogMetricAsync(string modelId, string runId, string key, double value, long? step = null, DateTimeOffset? timestamp = null, CancellationToken cancellationToken = default)
    {
        RegistryValidation.ValidateModelId(modelId, nameof(modelId));
        MlflowValidation.ValidateRunId(runId, nameof(runId));
        MlflowValidation.ValidateKey(key, "metric", nameof(key));
        var ms = (timestamp ?? _client.Options.TimeProvider.GetUtcNow()).ToUnixTimeMilliseconds();
        MlflowValidation.ValidateTimestamp(ms, nameof(timestamp));
        _client.ThrowIfDisposed();
        return _client.Store.LogMetricAsync(runId, key, value, ms, step, modelId, cancellationToken);
    }

    /// <summary>Searches logged models, fetching pages lazily as the sequence is enumerated.</summary>
    /// <param name="options">Experiments, filter, order and page size.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The matching models.</returns>
    public virtual async IAsyncEnumerable<LoggedModel> SearchAsync(SearchLoggedModelsOptions options, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var pageSize = PrepareSearch(options);
        await foreach (var model in Paging.AllAsync((token, ct) => Store.SearchLoggedModelsAsync(options.ExperimentIds, options.Filter, options.Datasets, options.OrderBy, pageSize, token, ct), options.PageToken, cancellationToken).ConfigureAwait(false))
        {
            yield return model;
        }
    }

    /// <summary>Gets one page of a logged model search.</summary>
    /// <param name="options">Experiments, filter, order, page size and page token.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The page.</returns>
    public virtual Task<MlflowPage<LoggedModel>> SearchPageAsync(SearchLoggedModelsOptions options, CancellationToken cancellationToken = default)
    {
        var pageSize = PrepareSearch(options);
        return Store.SearchLoggedModelsAsync(options.ExperimentIds, options.Filter, options.Datasets, options.OrderBy, pageSize, options.PageToken, cancellationToken);
    }

    private static int PrepareSearch(SearchLoggedModelsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ExperimentIds.Count == 0)
        {
            throw new ArgumentException("SearchLoggedModelsOptions.ExperimentIds must name at least one experiment.", nameof(options));
        }

        foreach (var dataset in options.Datasets ?? [])
        {
            if (string.IsNullOrEmpty(dataset?.DatasetName))
            {
                throw new ArgumentException("Each entry of SearchLoggedModelsOptions.Datasets needs a DatasetName (the digest is optional), e.g. new LoggedModelDatasetFilter(\"eval\").", nameof(options));
            }
        }

        var pageSize = options.PageSize ?? DefaultPageSize;
        MlflowValidation.ValidateMaxResults(pageSize, 10_000, nameof(options));
        return pageSize;
    }

    private static void ValidatePairs(IReadOnlyDictionary<string, string>? pairs, string kind, int maxValueLength, string paramName)
    {
        if (pairs is null)
        {
            return;
        }

        foreach (var pair in pairs)
        {
            RegistryValidation.ValidateTag(pair.Key, pair.Value, kind, maxValueLength, paramName);
        }
    }
}
