using System.Globalization;
using System.Text.Json;
using MLOpsDemo.Mlflow.Http;
using MLOpsDemo.Mlflow.Internal;
using MLOpsDemo.Mlflow.Stores;

namespace MLOpsDemo.Mlflow.Rest;

/// <summary>The tracking store of an MLflow server, over REST (REST.md §3).</summary>
internal sealed class RestTrackingStore : ITrackingStore
{
    private readonly IMlflowTrackingApi _api;
    private readonly MlflowClientOptions _options;
    private readonly HttpClient _httpClient;
    private readonly Uri _logBatchUri;

    public RestTrackingStore(HttpClient httpClient, Uri baseUri, MlflowClientOptions options)
    {
        _api = RestApi.Create<IMlflowTrackingApi>(httpClient, baseUri);
        _httpClient = httpClient;
        _logBatchUri = new Uri(baseUri, "api/2.0/mlflow/runs/log-batch");
        _options = options;
        TrackingUri = TrackingUriInfo.Redact(baseUri.ToString().TrimEnd('/'));
    }

    public string TrackingUri { get; }

    /// <inheritdoc/>
    public int MetricsPerBatch => MlflowValidation.MaxBatchMetrics;

    public async Task<string> CreateExperimentAsync(string name, string? artifactLocation, IReadOnlyDictionary<string, string>? tags, CancellationToken cancellationToken)
    {
        var body = new CreateExperimentBody(name, artifactLocation, ToDtos(tags));
        Exception? ambiguous = null;
        for (var attempt = 0; attempt <= _options.MaxRetries; attempt++)
        {
            try
            {
                var response = await RestApi.CallAsync(() => _api.CreateExperiment(body, MlflowRetryMode.NotProcessedOnly, cancellationToken)).ConfigureAwait(false);
                return response.ExperimentId;
            }
            catch (MlflowException ex) when (ambiguous is not null && ex.ErrorCode == MlflowErrorCodes.ResourceAlreadyExists)
            {
                // An earlier attempt whose answer was lost created it: resolve by name instead of failing or duplicating.
                var existing = await GetExperimentByNameAsync(name, cancellationToken).ConfigureAwait(false);
                if (existing is not null)
                {
                    return existing.ExperimentId;
                }

                throw;
            }
            catch (Exception ex) when (IsAmbiguous(ex, cancellationToken) && attempt < _options.MaxRetries)
            {
                ambiguous = ex;
                await DelayAsync(attempt, cancellationToken).ConfigureAwait(false);
            }
        }

        throw new MlflowException($"Creating experiment '{name}' failed after {_options.MaxRetries + 1} attempts.", ambiguous);
    }

    public Task<Experiment> GetExperimentAsync(string experimentId, CancellationToken cancellationToken) =>
        Map(() => _api.GetExperiment(experimentId, cancellationToken), r => r.Experiment);

    public async Task<Experiment?> GetExperimentByNameAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            var response = await RestApi.CallAsync(() => _api.GetExperimentByName(name, cancellationToken)).ConfigureAwait(false);
            return response.Experiment;
        }
        catch (MlflowException ex) when (ex.ErrorCode == MlflowErrorCodes.ResourceDoesNotExist)
        {
            return null;
        }
    }

    public Task<MlflowPage<Experiment>> SearchExperimentsAsync(ExperimentQuery query, int maxResults, string? pageToken, CancellationToken cancellationToken) =>
        Map(
            () => _api.SearchExperiments(
                new SearchExperimentsBody
                {
                    MaxResults = maxResults,
                    Filter = NullIfEmpty(query.Filter),
                    OrderBy = query.OrderBy is { Count: > 0 } ? query.OrderBy : null,
                    ViewType = query.ViewType,
                    PageToken = NullIfEmpty(pageToken),
                },
                cancellationToken),
            r => new MlflowPage<Experiment>(r.Experiments ?? [], NullIfEmpty(r.NextPageToken)));

    public Task UpdateExperimentAsync(string experimentId, string newName, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.UpdateExperiment(new UpdateExperimentBody(experimentId, newName), cancellationToken));

    public Task DeleteExperimentAsync(string experimentId, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.DeleteExperiment(new ExperimentIdBody(experimentId), cancellationToken));

    public Task RestoreExperimentAsync(string experimentId, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.RestoreExperiment(new ExperimentIdBody(experimentId), cancellationToken));

    public Task SetExperimentTagAsync(string experimentId, string key, string value, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.SetExperimentTag(new ExperimentTagBody(experimentId, key, value), cancellationToken));

    public Task DeleteExperimentTagAsync(string experimentId, string key, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.DeleteExperimentTag(new ExperimentTagBody(experimentId, key, null), cancellationToken));

    public async Task<Run> CreateRunAsync(CreateRunRequest request, CancellationToken cancellationToken)
    {
        var body = new CreateRunBody(request.ExperimentId, request.UserId, request.RunName, request.StartTime, request.Tags.Count == 0 ? null : request.Tags.Select(t => new KeyValueDto(t.Key, t.Value)).ToList());
        Exception? ambiguous = null;
        for (var attempt = 0; attempt <= _options.MaxRetries; attempt++)
        {
            if (ambiguous is not null && request.RunName is not null)
            {
                // The previous attempt may have created the run before its answer was lost: look for it first.
                var existing = await FindCreatedRunAsync(request, cancellationToken).ConfigureAwait(false);
                if (existing is not null)
                {
                    return existing;
                }
            }

            try
            {
                var response = await RestApi.CallAsync(() => _api.CreateRun(body, MlflowRetryMode.NotProcessedOnly, cancellationToken)).ConfigureAwait(false);
                return response.Run;
            }
            catch (Exception ex) when (IsAmbiguous(ex, cancellationToken) && attempt < _options.MaxRetries)
            {
                ambiguous = ex;
                await DelayAsync(attempt, cancellationToken).ConfigureAwait(false);
            }
        }

        throw new MlflowException($"Creating a run in experiment {request.ExperimentId} failed after {_options.MaxRetries + 1} attempts.", ambiguous);
    }

    private async Task<Run?> FindCreatedRunAsync(CreateRunRequest request, CancellationToken cancellationToken)
    {
        var filter = BuildCreatedRunFilter(request.RunName!, request.StartTime);
        try
        {
            var page = await SearchRunsAsync(new RunQuery([request.ExperimentId], filter, null, ViewType.All), 100, null, cancellationToken).ConfigureAwait(false);
            return page.Items.FirstOrDefault(r => r.Info.RunName == request.RunName && r.Info.StartTime == request.StartTime && (request.UserId is null || r.Info.UserId is null || r.Info.UserId == request.UserId));
        }
        catch (Exception ex) when (IsAmbiguous(ex, cancellationToken))
        {
            return null;
        }
    }

    /// <summary>
    /// The search filter that finds a run created by a lost <c>runs/create</c>: same start time and (when the name can be
    /// quoted) the same name. MLflow's filter grammar has no escapes, so a name with both quote kinds is compared client-side only.
    /// </summary>
    internal static string BuildCreatedRunFilter(string runName, long startTime)
    {
        var time = string.Create(CultureInfo.InvariantCulture, $"attributes.start_time = {startTime}");
        var quote = !runName.Contains('\'', StringComparison.Ordinal) ? "'" : !runName.Contains('"', StringComparison.Ordinal) ? "\"" : null;
        return quote is null ? time : $"attributes.run_name = {quote}{runName}{quote} and {time}";
    }

    public Task<Run> GetRunAsync(string runId, CancellationToken cancellationToken) =>
        Map(() => _api.GetRun(runId, cancellationToken), r => r.Run);

    public Task<RunInfo> UpdateRunAsync(string runId, RunStatus? status, long? endTime, string? runName, CancellationToken cancellationToken) =>
        Map(() => _api.UpdateRun(new UpdateRunBody { RunId = runId, Status = status, EndTime = endTime, RunName = runName }, cancellationToken), r => r.RunInfo);

    public Task DeleteRunAsync(string runId, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.DeleteRun(new RunIdBody(runId), cancellationToken));

    public Task RestoreRunAsync(string runId, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.RestoreRun(new RunIdBody(runId), cancellationToken));

    public Task<MlflowPage<Run>> SearchRunsAsync(RunQuery query, int maxResults, string? pageToken, CancellationToken cancellationToken) =>
        Map(
            () => _api.SearchRuns(
                new SearchRunsBody
                {
                    ExperimentIds = query.ExperimentIds,
                    Filter = NullIfEmpty(query.Filter),
                    RunViewType = query.ViewType,
                    OrderBy = query.OrderBy is { Count: > 0 } ? query.OrderBy : null,
                    MaxResults = maxResults,
                    PageToken = NullIfEmpty(pageToken),
                },
                cancellationToken),
            r => new MlflowPage<Run>(r.Runs ?? [], NullIfEmpty(r.NextPageToken)));

    public Task LogMetricAsync(string runId, string key, double value, long timestamp, long? step, string? modelId, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.LogMetric(new LogMetricBody { RunId = runId, Key = key, Value = value, Timestamp = timestamp, Step = step, ModelId = modelId }, cancellationToken));

    public Task LogParamAsync(string runId, string key, string value, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.LogParameter(new RunKeyValueBody(runId, key, value), cancellationToken));

    public Task SetTagAsync(string runId, string key, string value, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.SetTag(new RunKeyValueBody(runId, key, value), cancellationToken));

    public Task DeleteTagAsync(string runId, string key, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.DeleteTag(new RunKeyBody(runId, key), cancellationToken));

    /// <summary>
    /// log-batch is the hot path of the logging pipeline: the body is written straight to UTF-8 with
    /// <see cref="Utf8JsonWriter"/> (no intermediate DTOs), which is several times faster than the general path.
    /// </summary>
    public async Task LogBatchAsync(string runId, IReadOnlyList<Metric> metrics, IReadOnlyList<KeyValuePair<string, string>> parameters, IReadOnlyList<KeyValuePair<string, string>> tags, CancellationToken cancellationToken)
    {
        var body = LogBatchJson.Write(runId, metrics, parameters, tags);
        using var request = new HttpRequestMessage(HttpMethod.Post, _logBatchUri) { Content = body };
        using var response = await _httpClient.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw MlflowErrors.FromResponse(response.StatusCode, text);
        }
    }

    public Task LogInputsAsync(string runId, IReadOnlyList<DatasetInput> datasets, IReadOnlyList<ModelInput>? models, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.LogInputs(new LogInputsBody { RunId = runId, Datasets = datasets.Count == 0 ? null : datasets, Models = models is { Count: > 0 } ? models : null }, cancellationToken));

    public Task LogOutputsAsync(string runId, IReadOnlyList<ModelOutput> models, CancellationToken cancellationToken) =>
        RestApi.CallAsync(() => _api.LogOutputs(new LogOutputsBody(runId, models), cancellationToken));

    public Task<MlflowPage<Metric>> GetMetricHistoryAsync(string runId, string metricKey, int maxResults, string? pageToken, CancellationToken cancellationToken) =>
        Map(() => _api.GetMetricHistory(runId, metricKey, maxResults, NullIfEmpty(pageToken), cancellationToken), r => new MlflowPage<Metric>(r.Metrics ?? [], NullIfEmpty(r.NextPageToken)));

    public Task<IReadOnlyList<Metric>> GetMetricHistoryBulkIntervalAsync(IReadOnlyList<string> runIds, string metricKey, long? startStep, long? endStep, int maxResults, CancellationToken cancellationToken) =>
        Map(() => _api.GetMetricHistoryBulkInterval(runIds, metricKey, startStep, endStep, maxResults, cancellationToken), r => r.Metrics ?? (IReadOnlyList<Metric>)[]);

    public Task<ArtifactListing> ListArtifactsAsync(string runId, string? path, string? pageToken, CancellationToken cancellationToken) =>
        Map(() => _api.ListArtifacts(runId, NullIfEmpty(path), NullIfEmpty(pageToken), cancellationToken), r => new ArtifactListing(r.RootUri, r.Files ?? [], NullIfEmpty(r.NextPageToken)));

    public void Dispose()
    {
        // The HTTP client belongs to MlflowClient.
    }

    private static async Task<TResult> Map<TResponse, TResult>(Func<Task<TResponse>> call, Func<TResponse, TResult> map) =>
        map(await RestApi.CallAsync(call).ConfigureAwait(false));

    private static List<KeyValueDto>? ToDtos(IReadOnlyDictionary<string, string>? tags) =>
        tags is null || tags.Count == 0 ? null : tags.Select(t => new KeyValueDto(t.Key, t.Value)).ToList();

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    /// <summary>A failure after which the server may or may not have acted: lost connection, timeout, 5xx other than 503.</summary>
    private static bool IsAmbiguous(Exception ex, CancellationToken cancellationToken) => ex switch
    {
        OperationCanceledException when cancellationToken.IsCancellationRequested => false,
        MlflowException m when m.InnerException is Refit.ApiException => (int)m.StatusCode is 408 or 500 or 502 or 504,
        MlflowException => false,

        // A refused connection never reached the server and was already retried by the resilience handler.
        HttpRequestException { InnerException: System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused } } => false,
        HttpRequestException or IOException or TimeoutException or Polly.Timeout.TimeoutRejectedException or TaskCanceledException => true,
        _ => false,
    };

    private Task DelayAsync(int attempt, CancellationToken cancellationToken) =>
        Task.Delay(MlflowResilienceHandler.ComputeDelay(_options, attempt, null), _options.TimeProvider, cancellationToken);
}
