using System.Runtime.CompilerServices;
using MLOpsDemo.Mlflow.Internal;
using MLOpsDemo.Mlflow.Stores;

namespace MLOpsDemo.Mlflow;

/// <summary>
/// MLflow experiments (REST <c>/api/2.0/mlflow/experiments/*</c>). Obtain it from <see cref="MlflowClient.Experiments"/>.
/// </summary>
public class ExperimentsClient
{
    private readonly MlflowClient _client;

    internal ExperimentsClient(MlflowClient client) => _client = client;

    /// <summary>Creates a client for mocking.</summary>
    protected ExperimentsClient() => _client = null!;

    private ITrackingStore Store
    {
        get
        {
            _client.ThrowIfDisposed();
            return _client.Store;
        }
    }

    /// <summary>Creates an experiment and returns its id.</summary>
    /// <param name="name">A unique name (deleted experiments keep their names until purged).</param>
    /// <param name="artifactLocation">Where runs store artifacts; <see langword="null"/> lets the server choose.</param>
    /// <param name="tags">Tags to set.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The new experiment's id.</returns>
    /// <exception cref="MlflowException">With <c>RESOURCE_ALREADY_EXISTS</c> when the name is taken.</exception>
    public virtual Task<string> CreateAsync(string name, string? artifactLocation = null, IReadOnlyDictionary<string, string>? tags = null, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateExperimentName(name, nameof(name));
        if (tags is not null)
        {
            foreach (var tag in tags)
            {
                MlflowValidation.ValidateKey(tag.Key, "experiment tag", nameof(tags));
                MlflowValidation.ValidateValue(tag.Value, "experiment tag", tag.Key, MlflowValidation.MaxExperimentTagValueLength, truncate: false, nameof(tags));
            }
        }

        return Store.CreateExperimentAsync(name, artifactLocation, tags, cancellationToken);
    }

    /// <summary>Gets an experiment by id (deleted experiments too).</summary>
    /// <param name="experimentId">The id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The experiment.</returns>
    /// <exception cref="MlflowException">With <c>RESOURCE_DOES_NOT_EXIST</c> when there is none.</exception>
    public virtual Task<Experiment> GetAsync(string experimentId, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateId(experimentId, "experiment id", nameof(experimentId));
        return Store.GetExperimentAsync(experimentId, cancellationToken);
    }

    /// <summary>Gets an experiment by name, or <see langword="null"/> when none has that name.</summary>
    /// <param name="name">The name.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The experiment or <see langword="null"/>.</returns>
    public virtual Task<Experiment?> GetByNameAsync(string name, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateExperimentName(name, nameof(name));
        return Store.GetExperimentByNameAsync(name, cancellationToken);
    }

    /// <summary>Gets an experiment by name, creating it when it does not exist.</summary>
    /// <param name="name">The name.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The experiment.</returns>
    public virtual async Task<Experiment> GetOrCreateAsync(string name, CancellationToken cancellationToken = default)
    {
        var existing = await GetByNameAsync(name, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            return existing;
        }

        string id;
        try
        {
            id = await CreateAsync(name, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (MlflowException ex) when (ex.ErrorCode == MlflowErrorCodes.ResourceAlreadyExists)
        {
            // Created concurrently by someone else.
            return await GetByNameAsync(name, cancellationToken).ConfigureAwait(false)
                ?? throw new MlflowException($"Experiment '{name}' exists but could not be read back.", ex);
        }

        return await GetAsync(id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Searches experiments, fetching pages lazily as the sequence is enumerated.</summary>
    /// <param name="options">Filter, order, view type and page size.</param>
    /// <param name="cancellationToken">Cancels the enumeration.</param>
    /// <returns>The matching experiments.</returns>
    public virtual async IAsyncEnumerable<Experiment> SearchAsync(SearchExperimentsOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options ??= new SearchExperimentsOptions();
        var pageSize = options.PageSize ?? _client.Options.DefaultPageSize;
        MlflowValidation.ValidateMaxResults(pageSize, 50_000, nameof(options));
        var query = new ExperimentQuery(options.Filter, options.OrderBy, options.ViewType);
        await foreach (var item in Paging.AllAsync((token, ct) => Store.SearchExperimentsAsync(query, pageSize, token, ct), options.PageToken, cancellationToken).ConfigureAwait(false))
        {
            yield return item;
        }
    }

    /// <summary>Gets one page of a search, for callers that keep page tokens themselves.</summary>
    /// <param name="options">Filter, order, view type, page size and the page token.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The page.</returns>
    public virtual Task<MlflowPage<Experiment>> SearchPageAsync(SearchExperimentsOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new SearchExperimentsOptions();
        var pageSize = options.PageSize ?? _client.Options.DefaultPageSize;
        MlflowValidation.ValidateMaxResults(pageSize, 50_000, nameof(options));
        return Store.SearchExperimentsAsync(new ExperimentQuery(options.Filter, options.OrderBy, options.ViewType), pageSize, options.PageToken, cancellationToken);
    }

    /// <summary>Renames an experiment.</summary>
    /// <param name="experimentId">The id.</param>
    /// <param name="newName">The new name.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the experiment is renamed.</returns>
    public virtual Task RenameAsync(string experimentId, string newName, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateId(experimentId, "experiment id", nameof(experimentId));
        MlflowValidation.ValidateExperimentName(newName, nameof(newName));
        return Store.UpdateExperimentAsync(experimentId, newName, cancellationToken);
    }

    /// <summary>Soft-deletes an experiment and its runs.</summary>
    /// <param name="experimentId">The id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the experiment is deleted.</returns>
    public virtual Task DeleteAsync(string experimentId, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateId(experimentId, "experiment id", nameof(experimentId));
        return Store.DeleteExperimentAsync(experimentId, cancellationToken);
    }

    /// <summary>Restores a deleted experiment and its runs.</summary>
    /// <param name="experimentId">The id.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the experiment is restored.</returns>
    public virtual Task RestoreAsync(string experimentId, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateId(experimentId, "experiment id", nameof(experimentId));
        return Store.RestoreExperimentAsync(experimentId, cancellationToken);
    }

    /// <summary>Sets (or overwrites) an experiment tag.</summary>
    /// <param name="experimentId">The id.</param>
    /// <param name="key">The tag key.</param>
    /// <param name="value">The value (at most 5000 characters).</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the tag is set.</returns>
    public virtual Task SetTagAsync(string experimentId, string key, string value, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateId(experimentId, "experiment id", nameof(experimentId));
        MlflowValidation.ValidateKey(key, "experiment tag", nameof(key));
        value = MlflowValidation.ValidateValue(value, "experiment tag", key, MlflowValidation.MaxExperimentTagValueLength, truncate: false, nameof(value));
        return Store.SetExperimentTagAsync(experimentId, key, value, cancellationToken);
    }

    /// <summary>Deletes an experiment tag (MLflow ≥ 3.2 servers).</summary>
    /// <param name="experimentId">The id.</param>
    /// <param name="key">The tag key.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the tag is deleted.</returns>
    /// <exception cref="MlflowException">With <c>ENDPOINT_NOT_FOUND</c> on a 2.x server, which lacks this endpoint.</exception>
    public virtual Task DeleteTagAsync(string experimentId, string key, CancellationToken cancellationToken = default)
    {
        MlflowValidation.ValidateId(experimentId, "experiment id", nameof(experimentId));
        MlflowValidation.ValidateKey(key, "experiment tag", nameof(key));
        return Store.DeleteExperimentTagAsync(experimentId, key, cancellationToken);
    }
}
