using MLOpsDemo.Mlflow.Sqlite;

namespace MLOpsDemo.Mlflow;

/// <summary>What <see cref="MlflowSync"/> copies.</summary>
public sealed record SyncOptions
{
    /// <summary>The names of the experiments to copy; <see langword="null"/> copies every active experiment.</summary>
    public IReadOnlyList<string>? ExperimentNames { get; init; }

    /// <summary>Whether run artifacts are uploaded too (when the destination's <see cref="MlflowClient.Artifacts"/> supports it). Default <see langword="true"/>.</summary>
    public bool IncludeArtifacts { get; init; } = true;
}

/// <summary>A progress report of <see cref="MlflowSync.RunAsync"/>.</summary>
public sealed record SyncProgress
{
    /// <summary>The experiment being copied.</summary>
    public string? ExperimentName { get; init; }

    /// <summary>The source run the report is about, if any.</summary>
    public string? SourceRunId { get; init; }

    /// <summary>The destination run, if any.</summary>
    public string? DestinationRunId { get; init; }

    /// <summary>Runs copied so far.</summary>
    public int RunsCopied { get; init; }

    /// <summary>Runs skipped so far because an earlier sync already copied them.</summary>
    public int RunsSkipped { get; init; }

    /// <summary>A human-readable description of the step.</summary>
    public string Message { get; init; } = "";
}

/// <summary>The outcome of <see cref="MlflowSync.RunAsync"/>.</summary>
public sealed record SyncResult
{
    /// <summary>Experiments created in the destination.</summary>
    public int ExperimentsCreated { get; init; }

    /// <summary>Runs copied.</summary>
    public int RunsCopied { get; init; }

    /// <summary>Runs skipped because an earlier sync copied them (the destination run carries <see cref="MlflowSync.SourceRunIdTag"/>).</summary>
    public int RunsSkipped { get; init; }

    /// <summary>Metric points copied (full histories).</summary>
    public long MetricPointsCopied { get; init; }

    /// <summary>Whether artifacts were left out (see <see cref="ArtifactsSkippedReason"/>).</summary>
    public bool ArtifactsSkipped { get; init; }

    /// <summary>Why artifacts were left out, e.g. the artifact client is not available.</summary>
    public string? ArtifactsSkippedReason { get; init; }

    /// <summary>Source run id → destination run id, for every run copied now or earlier.</summary>
    public IReadOnlyDictionary<string, string> RunIdMap { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// Copies experiments and runs from one tracking store to another, e.g. from a laptop's <c>mlflow.db</c> to a team
/// server: experiments by name (created when missing, with their tags), and each active run with its params, tags,
/// full metric history (steps and timestamps), dataset inputs, status, start and end time, and artifacts when the
/// artifact client supports them. Idempotent: every copied run gets the tags <see cref="SourceRunIdTag"/> and
/// <see cref="SourceUriTag"/>, and runs that already have a copy are skipped, so running it twice copies nothing new.
/// </summary>
public sealed class MlflowSync
{
    /// <summary>The tag on a destination run naming the source run id.</summary>
    public const string SourceRunIdTag = "mlflow.sync.sourceRunId";

    /// <summary>The tag on a destination run naming the source tracking URI (absolute for SQLite).</summary>
    public const string SourceUriTag = "mlflow.sync.sourceUri";

    private const string ParentRunIdTag = "mlflow.parentRunId";
    private readonly MlflowClient _source;
    private readonly MlflowClient _destination;

    /// <summary>Creates a sync from <paramref name="source"/> to <paramref name="destination"/>.</summary>
    /// <param name="source">The store to read, e.g. <c>sqlite:///mlflow.db</c>.</param>
    /// <param name="destination">The store to write, e.g. <c>http://mlflow.example.com</c>.</param>
    public MlflowSync(MlflowClient source, MlflowClient destination)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        if (ReferenceEquals(source, destination))
        {
            throw new ArgumentException("The source and the destination are the same client; sync copies between two different stores.", nameof(destination));
        }

        _source = source;
        _destination = destination;
    }

    /// <summary>Copies what <paramref name="options"/> selects.</summary>
    /// <param name="options">Which experiments; whether to copy artifacts.</param>
    /// <param name="progress">Receives a report per experiment and per run.</param>
    /// <param name="cancellationToken">Cancels the sync between requests (a run being copied may stay incomplete; it is copied again next time).</param>
    /// <returns>What was copied and skipped.</returns>
    public async Task<SyncResult> RunAsync(SyncOptions? options = null, IProgress<SyncProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options ??= new SyncOptions();
        var sourceUri = _source.Store.TrackingUri;
        var state = new State();
        var experiments = new List<Experiment>();
        await foreach (var experiment in _source.Experiments.SearchAsync(new SearchExperimentsOptions { ViewType = ViewType.ActiveOnly, OrderBy = ["experiment_id ASC"] }, cancellationToken).ConfigureAwait(false))
        {
            if (options.ExperimentNames is null || options.ExperimentNames.Contains(experiment.Name, StringComparer.Ordinal))
            {
                experiments.Add(experiment);
            }
        }

        foreach (var experiment in experiments)
        {
            await SyncExperimentAsync(experiment, sourceUri, options, state, progress, cancellationToken).ConfigureAwait(false);
        }

        return new SyncResult
        {
            ExperimentsCreated = state.ExperimentsCreated,
            RunsCopied = state.RunsCopied,
            RunsSkipped = state.RunsSkipped,
            MetricPointsCopied = state.MetricPoints,
            ArtifactsSkipped = state.ArtifactsSkippedReason is not null,
            ArtifactsSkippedReason = state.ArtifactsSkippedReason,
            RunIdMap = state.Map,
        };
    }

    private async Task SyncExperimentAsync(Experiment experiment, string sourceUri, SyncOptions options, State state, IProgress<SyncProgress>? progress, CancellationToken cancellationToken)
    {
        var target = await _destination.Experiments.GetByNameAsync(experiment.Name, cancellationToken).ConfigureAwait(false);
        string targetId;
        if (target is null)
        {
            targetId = await _destination.Experiments.CreateAsync(experiment.Name, tags: experiment.Tags.Count == 0 ? null : experiment.Tags, cancellationToken: cancellationToken).ConfigureAwait(false);
            state.ExperimentsCreated++;
            Report(progress, state, experiment.Name, null, null, $"Created experiment '{experiment.Name}' ({targetId}) in the destination.");
        }
        else if (target.LifecycleStage != LifecycleStage.Active)
        {
            Report(progress, state, experiment.Name, null, null, $"Skipped experiment '{experiment.Name}': it is deleted in the destination. Restore it there to sync into it.");
            return;
        }
        else
        {
            targetId = target.ExperimentId;
        }

        var quote = sourceUri.Contains('\'', StringComparison.Ordinal) ? '"' : '\'';
        await foreach (var copied in _destination.Runs.SearchAsync(
            new SearchRunsOptions { ExperimentIds = [targetId], ViewType = ViewType.All, Filter = $"tags.`{SourceUriTag}` = {quote}{sourceUri}{quote}" },
            cancellationToken).ConfigureAwait(false))
        {
            if (copied.Data.Tags.TryGetValue(SourceRunIdTag, out var sourceRunId))
            {
                state.Map[sourceRunId] = copied.Info.RunId;
            }
        }

        await foreach (var run in _source.Runs.SearchAsync(
            new SearchRunsOptions { ExperimentIds = [experiment.ExperimentId], ViewType = ViewType.ActiveOnly, OrderBy = ["start_time ASC"] },
            cancellationToken).ConfigureAwait(false))
        {
            if (state.Map.TryGetValue(run.Info.RunId, out var existing))
            {
                state.RunsSkipped++;
                Report(progress, state, experiment.Name, run.Info.RunId, existing, $"Skipped run '{run.Info.RunName}': already synced as {existing}.");
                continue;
            }

            var destinationRunId = await CopyRunAsync(run, targetId, sourceUri, options, state, cancellationToken).ConfigureAwait(false);
            state.Map[run.Info.RunId] = destinationRunId;
            state.RunsCopied++;
            Report(progress, state, experiment.Name, run.Info.RunId, destinationRunId, $"Copied run '{run.Info.RunName}' as {destinationRunId}.");
        }
    }

    private async Task<string> CopyRunAsync(Run run, string targetExperimentId, string sourceUri, SyncOptions options, State state, CancellationToken cancellationToken)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in run.Data.Tags)
        {
            if (key is SourceRunIdTag or SourceUriTag)
            {
                continue;
            }

            tags[key] = key == ParentRunIdTag && state.Map.TryGetValue(value, out var parent) ? parent : value;
        }

        var created = await _destination.Runs.CreateAsync(
            targetExperimentId,
            new CreateRunOptions
            {
                RunName = run.Info.RunName,
                Tags = tags,
                UserId = run.Info.UserId,
                StartTime = run.Info.StartTime is { } start ? DateTimeOffset.FromUnixTimeMilliseconds(start) : null,
            },
            cancellationToken).ConfigureAwait(false);
        var runId = created.Info.RunId;

        var history = new List<Metric>();
        foreach (var key in run.Data.Metrics.Select(m => m.Key).Distinct(StringComparer.Ordinal))
        {
            await foreach (var point in _source.Runs.GetMetricHistoryAsync(run.Info.RunId, key, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                history.Add(new Metric(point.Key, point.Value, point.Timestamp, point.Step));
            }
        }

        if (history.Count > 0 || run.Data.Params.Count > 0)
        {
            await _destination.Runs.LogBatchAsync(runId, history, run.Data.Params, cancellationToken: cancellationToken).ConfigureAwait(false);
            state.MetricPoints += history.Count;
        }

        if (run.Inputs.DatasetInputs.Count > 0)
        {
            await _destination.Runs.LogInputsAsync(runId, run.Inputs.DatasetInputs, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        if (options.IncludeArtifacts)
        {
            await CopyArtifactsAsync(run, runId, state, cancellationToken).ConfigureAwait(false);
        }

        if (run.Info.Status != RunStatus.Running || run.Info.EndTime is not null)
        {
            await _destination.Runs.UpdateAsync(
                runId,
                run.Info.Status,
                run.Info.EndTime is { } end ? DateTimeOffset.FromUnixTimeMilliseconds(end) : null,
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        // Written last: a run interrupted before this point has no mapping and is copied again by the next sync.
        await _destination.Runs.LogBatchAsync(runId, tags: [new(SourceRunIdTag, run.Info.RunId), new(SourceUriTag, sourceUri)], cancellationToken: cancellationToken).ConfigureAwait(false);
        return runId;
    }

    private async Task CopyArtifactsAsync(Run run, string destinationRunId, State state, CancellationToken cancellationToken)
    {
        if (state.ArtifactsSkippedReason is not null)
        {
            return;
        }

        if (string.IsNullOrEmpty(run.Info.ArtifactUri))
        {
            return;
        }

        var local = ArtifactPaths.ToLocalPath(run.Info.ArtifactUri);
        string? downloaded = null;
        try
        {
            if (local is null)
            {
                // A remote source (e.g. a server's proxied artifacts): download the run's tree first, then upload it.
                var hasFiles = false;
                await foreach (var _ in _source.Artifacts.ListAsync(run.Info.RunId, cancellationToken: cancellationToken).ConfigureAwait(false))
                {
                    hasFiles = true;
                    break;
                }

                if (!hasFiles)
                {
                    return;
                }

                downloaded = Path.Combine(Path.GetTempPath(), "mlflow-sync-" + Guid.NewGuid().ToString("N"));
                Directory.CreateDirectory(downloaded);
                local = await _source.Artifacts.DownloadUriAsync(run.Info.ArtifactUri, downloaded, cancellationToken).ConfigureAwait(false);
            }

            if (!Directory.Exists(local) || !Directory.EnumerateFileSystemEntries(local).Any())
            {
                return;
            }

            await _destination.Artifacts.LogArtifactsAsync(destinationRunId, local, null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NotSupportedException || (ex is MlflowException mlflow && mlflow.ErrorCode == MlflowErrorCodes.NotImplemented))
        {
            // This library does not access the URI (NotSupported), or the store cannot serve it (501).
            state.ArtifactsSkippedReason = $"Artifacts were not copied: {ex.Message}";
        }
        finally
        {
            if (downloaded is not null)
            {
                try
                {
                    Directory.Delete(downloaded, recursive: true);
                }
                catch (IOException)
                {
                    // A temp folder left behind is harmless.
                }
            }
        }
    }

    private static void Report(IProgress<SyncProgress>? progress, State state, string experiment, string? sourceRunId, string? destinationRunId, string message) =>
        progress?.Report(new SyncProgress
        {
            ExperimentName = experiment,
            SourceRunId = sourceRunId,
            DestinationRunId = destinationRunId,
            RunsCopied = state.RunsCopied,
            RunsSkipped = state.RunsSkipped,
            Message = message,
        });

    private sealed class State
    {
        public int ExperimentsCreated { get; set; }

        public int RunsCopied { get; set; }

        public int RunsSkipped { get; set; }

        public long MetricPoints { get; set; }

        public string? ArtifactsSkippedReason { get; set; }

        public Dictionary<string, string> Map { get; } = new(StringComparer.Ordinal);
    }
}
