using System.Collections.Concurrent;
using MLOpsDemo.Mlflow.Fluent;
using MLOpsDemo.Mlflow.Internal;

namespace MLOpsDemo.Mlflow;

public partial class MlflowClient
{
    private readonly ConcurrentDictionary<string, string> _experimentIdsByName = new(StringComparer.Ordinal);
    private int _environmentRunIdUsed;

    /// <summary>
    /// The innermost run of this client that is active in the current async flow (see <see cref="MlflowRun.Current"/>),
    /// or <see langword="null"/>.
    /// </summary>
    public virtual MlflowRun? ActiveRun => MlflowRun.Find(this);

    /// <summary>Reads environment variables (tests substitute a dictionary; the process environment is never changed).</summary>
    internal Func<string, string?> EnvironmentReader { get; set; } = Environment.GetEnvironmentVariable;

    /// <summary>Replaces the <c>mlflow.source.name</c> value (tests).</summary>
    internal string? SourceNameOverride { get; set; }

    /// <summary>Replaces the directory searched for a git work tree (tests).</summary>
    internal string? SourceDirectoryOverride { get; set; }

    /// <summary>
    /// Starts a run (or resumes the one named by <see cref="StartRunOptions.RunId"/> or <c>MLFLOW_RUN_ID</c>) and makes
    /// it the active run of the current async flow. Use it with <c>await using</c>: disposing flushes the buffered
    /// data and ends the run <see cref="RunStatus.Finished"/>.
    /// <code>
    /// await using var run = await client.StartRunAsync(new StartRunOptions { ExperimentName = "demo" });
    /// run.LogParam("lr", 0.01);
    /// run.LogMetric("loss", 0.25, step: 1);
    /// </code>
    /// A run started while another run of this client is active becomes its child (tag <c>mlflow.parentRunId</c>)
    /// unless <see cref="StartRunOptions.Nested"/> is <see langword="false"/>. New runs get MLflow's system tags
    /// (<c>mlflow.user</c>, <c>mlflow.source.name</c>, <c>mlflow.source.type</c>, <c>mlflow.source.git.*</c>,
    /// <c>mlflow.runName</c>) and the tags of <c>MLFLOW_RUN_CONTEXT</c>.
    /// </summary>
    /// <param name="options">Experiment, name, tags, description, nesting; <see langword="null"/> for defaults.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The active run.</returns>
    /// <exception cref="ArgumentException">An option is invalid (checked before any request).</exception>
    /// <exception cref="MlflowException">The server refused a request.</exception>
    public virtual Task<MlflowRun> StartRunAsync(StartRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        options ??= new StartRunOptions();
        var userTags = RunsClient.PrepareTags(options.Tags, nameof(options), Options.TruncateLongValues);
        if (options.ExperimentName is not null)
        {
            MlflowValidation.ValidateExperimentName(options.ExperimentName, nameof(options));
        }

        if (options.ExperimentId is not null)
        {
            MlflowValidation.ValidateId(options.ExperimentId, "experiment id", nameof(options));
        }

        if (options.RunId is not null)
        {
            MlflowValidation.ValidateRunId(options.RunId, nameof(options));
        }

        if (options.ParentRunId is not null)
        {
            MlflowValidation.ValidateRunId(options.ParentRunId, nameof(options));
        }

        var parent = options.Nested ? ActiveRun : null;

        // The scope is pushed synchronously, in the caller's async flow: an async method could not change it for its caller.
        var slot = MlflowRun.Push();
        return StartRunCoreAsync(options, userTags, parent, slot, cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="body"/> inside a new active run and ends it: <see cref="RunStatus.Finished"/> when the body
    /// completes, <see cref="RunStatus.Killed"/> when it is cancelled, <see cref="RunStatus.Failed"/> when it throws;
    /// the exception is always rethrown.
    /// </summary>
    /// <param name="body">The training code.</param>
    /// <param name="options">How to start the run.</param>
    /// <param name="cancellationToken">Cancels the start and is the token to pass into the body's own calls.</param>
    /// <returns>A task that completes when the run has ended.</returns>
    public virtual async Task RunAsync(Func<MlflowRun, Task> body, StartRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        await RunAsync<bool>(async run =>
        {
            await body(run).ConfigureAwait(false);
            return true;
        }, options, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="body"/> inside a new active run, ends it (<see cref="RunStatus.Finished"/>,
    /// <see cref="RunStatus.Killed"/> on cancellation, <see cref="RunStatus.Failed"/> on an exception, which is rethrown)
    /// and returns the body's result.
    /// </summary>
    /// <typeparam name="T">The result type.</typeparam>
    /// <param name="body">The training code.</param>
    /// <param name="options">How to start the run.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The body's result.</returns>
    public virtual async Task<T> RunAsync<T>(Func<MlflowRun, Task<T>> body, StartRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        var run = await StartRunAsync(options, cancellationToken).ConfigureAwait(false);
        T result;
        try
        {
            result = await body(run).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await EndQuietlyAsync(run, RunStatus.Killed).ConfigureAwait(false);
            throw;
        }
        catch (Exception)
        {
            await EndQuietlyAsync(run, RunStatus.Failed).ConfigureAwait(false);
            throw;
        }

        await run.EndAsync(RunStatus.Finished, CancellationToken.None).ConfigureAwait(false);
        return result;
    }

    private static async Task EndQuietlyAsync(MlflowRun run, RunStatus status)
    {
        try
        {
            await run.EndAsync(status, CancellationToken.None).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The body's exception is the one to rethrow; logging losses were raised as LoggingFailed events.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    private async Task<MlflowRun> StartRunCoreAsync(StartRunOptions options, List<KeyValuePair<string, string>> userTags, MlflowRun? parent, RunSlot slot, CancellationToken cancellationToken)
    {
        var environment = EnvironmentReader;
        var resumeId = options.RunId;
        if (resumeId is null && parent is null && options.ParentRunId is null
            && environment("MLFLOW_RUN_ID") is { Length: > 0 } envRunId
            && Interlocked.Exchange(ref _environmentRunIdUsed, 1) == 0)
        {
            MlflowValidation.ValidateRunId(envRunId, "MLFLOW_RUN_ID");
            resumeId = envRunId;
        }

        MlflowRun run;
        if (resumeId is not null)
        {
            run = await ResumeRunAsync(resumeId, options, userTags, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var experimentId = await ResolveExperimentIdAsync(options, parent, environment, cancellationToken).ConfigureAwait(false);
            var tags = RunContext.SystemTags(this, environment);
            foreach (var tag in userTags)
            {
                tags[tag.Key] = tag.Value;
            }

            var parentId = options.ParentRunId ?? parent?.RunId;
            if (parentId is not null)
            {
                tags[RunContext.ParentRunIdTag] = parentId;
            }

            if (options.Description is not null)
            {
                tags[RunContext.NoteTag] = options.Description;
            }

            var runName = options.RunName ?? (tags.TryGetValue(RunContext.RunNameTag, out var tagged) ? tagged : RunNameGenerator.Generate());
            tags[RunContext.RunNameTag] = runName;
            var created = await Runs.CreateAsync(
                experimentId,
                new CreateRunOptions { RunName = runName, Tags = tags, StartTime = options.StartTime, UserId = tags[RunContext.UserTag] },
                cancellationToken).ConfigureAwait(false);
            run = new MlflowRun(this, created.Info, ownsRun: true, parentId);
        }

        Register(run);
        run.Attach(slot);
        slot.Run = run;
        return run;
    }

    private async Task<MlflowRun> ResumeRunAsync(string runId, StartRunOptions options, List<KeyValuePair<string, string>> userTags, CancellationToken cancellationToken)
    {
        var existing = await Runs.GetAsync(runId, cancellationToken).ConfigureAwait(false);
        if (existing.Info.LifecycleStage == LifecycleStage.Deleted)
        {
            throw new InvalidOperationException($"Cannot resume run {runId}: it is deleted. Restore it first, or unset MLFLOW_RUN_ID to start a new run.");
        }

        if (options.RunName is not null && options.RunName != existing.Info.RunName)
        {
            await Runs.UpdateAsync(runId, runName: options.RunName, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        existing.Data.Tags.TryGetValue(RunContext.ParentRunIdTag, out var parentId);
        var run = new MlflowRun(this, existing.Info, ownsRun: false, parentId);
        if (options.Description is not null)
        {
            userTags.Add(new(RunContext.NoteTag, options.Description));
        }

        if (userTags.Count > 0)
        {
            run.SetTags(userTags);
        }

        return run;
    }

    private async Task<string> ResolveExperimentIdAsync(StartRunOptions options, MlflowRun? parent, Func<string, string?> environment, CancellationToken cancellationToken)
    {
        if (options.ExperimentId is not null)
        {
            return options.ExperimentId;
        }

        if (options.ExperimentName is not null)
        {
            return await ExperimentIdForNameAsync(options.ExperimentName, cancellationToken).ConfigureAwait(false);
        }

        var envName = environment("MLFLOW_EXPERIMENT_NAME") is { Length: > 0 } n ? n.Trim() : null;
        var envId = environment("MLFLOW_EXPERIMENT_ID") is { Length: > 0 } i ? i.Trim() : null;
        if (envName is not null)
        {
            var id = await ExperimentIdForNameAsync(envName, cancellationToken).ConfigureAwait(false);
            if (envId is not null && envId != id)
            {
                throw new InvalidOperationException($"MLFLOW_EXPERIMENT_NAME ('{envName}', id {id}) and MLFLOW_EXPERIMENT_ID ({envId}) name different experiments; set only one of them.");
            }

            return id;
        }

        if (envId is not null)
        {
            var experiment = await Experiments.GetAsync(envId, cancellationToken).ConfigureAwait(false);
            if (experiment.LifecycleStage == LifecycleStage.Deleted)
            {
                throw new InvalidOperationException($"MLFLOW_EXPERIMENT_ID names experiment {envId} ('{experiment.Name}'), which is deleted. Restore it or choose another experiment.");
            }

            return envId;
        }

        return parent?.ExperimentId ?? "0";
    }

    private async Task<string> ExperimentIdForNameAsync(string name, CancellationToken cancellationToken)
    {
        if (_experimentIdsByName.TryGetValue(name, out var cached))
        {
            return cached;
        }

        var experiment = await Experiments.GetOrCreateAsync(name, cancellationToken).ConfigureAwait(false);
        if (experiment.LifecycleStage == LifecycleStage.Deleted)
        {
            throw new InvalidOperationException($"The experiment '{name}' is deleted. Restore it (client.Experiments.RestoreAsync(\"{experiment.ExperimentId}\")) or use another name.");
        }

        _experimentIdsByName[name] = experiment.ExperimentId;
        return experiment.ExperimentId;
    }
}
