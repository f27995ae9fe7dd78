namespace MLOpsDemo.Mlflow;

/// <summary>
/// How <see cref="MlflowClient.StartRunAsync(StartRunOptions?, CancellationToken)"/> starts (or resumes) a run.
/// Every property is optional.
/// </summary>
public sealed record StartRunOptions
{
    /// <summary>
    /// The experiment id. When neither this nor <see cref="ExperimentName"/> is given, the experiment comes from
    /// <c>MLFLOW_EXPERIMENT_NAME</c>, then <c>MLFLOW_EXPERIMENT_ID</c>, then the parent run's experiment, then the
    /// Default experiment <c>"0"</c>.
    /// </summary>
    public string? ExperimentId { get; init; }

    /// <summary>The experiment name; the experiment is created if it does not exist.</summary>
    public string? ExperimentName { get; init; }

    /// <summary>The run name; a name such as <c>bold-owl-512</c> is generated when none is given.</summary>
    public string? RunName { get; init; }

    /// <summary>Tags set on the run; they override the system tags (<c>mlflow.user</c>, <c>mlflow.source.*</c>…).</summary>
    public IReadOnlyDictionary<string, string>? Tags { get; init; }

    /// <summary>A description, stored as the tag <c>mlflow.note.content</c> (Markdown in the MLflow UI).</summary>
    public string? Description { get; init; }

    /// <summary>
    /// Whether a run started while another run of the same client is active in this async flow becomes its child
    /// (tag <c>mlflow.parentRunId</c>). Default <see langword="true"/>; <see langword="false"/> starts an independent
    /// run that is still the active run inside its scope.
    /// </summary>
    public bool Nested { get; init; } = true;

    /// <summary>An explicit parent run id (tag <c>mlflow.parentRunId</c>); wins over the active run.</summary>
    public string? ParentRunId { get; init; }

    /// <summary>
    /// Resume this existing run instead of creating one (as <c>MLFLOW_RUN_ID</c> does). A resumed run is never ended
    /// by this library: disposing only flushes it.
    /// </summary>
    public string? RunId { get; init; }

    /// <summary>The start time; <see langword="null"/> means now.</summary>
    public DateTimeOffset? StartTime { get; init; }
}
