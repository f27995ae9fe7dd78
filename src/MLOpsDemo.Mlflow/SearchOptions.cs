namespace MLOpsDemo.Mlflow;

/// <summary>Options of <see cref="ExperimentsClient.SearchAsync"/>.</summary>
public sealed record SearchExperimentsOptions
{
    /// <summary>A filter in MLflow's grammar, e.g. <c>name LIKE 'prod-%' AND tags.team = 'vision'</c>.</summary>
    public string? Filter { get; init; }

    /// <summary>Order clauses, e.g. <c>["name ASC"]</c>. The server's default is <c>creation_time DESC, experiment_id ASC</c>.</summary>
    public IReadOnlyList<string>? OrderBy { get; init; }

    /// <summary>Which lifecycle stages to include. <see langword="null"/> lets the server use <see cref="ViewType.ActiveOnly"/>.</summary>
    public ViewType? ViewType { get; init; }

    /// <summary>How many experiments each request fetches (1–50,000). <see langword="null"/> uses <see cref="MlflowClientOptions.DefaultPageSize"/>.</summary>
    public int? PageSize { get; init; }

    /// <summary>A page token from an earlier search to resume from.</summary>
    public string? PageToken { get; init; }
}

/// <summary>Options of <see cref="RunsClient.SearchAsync"/>.</summary>
public sealed record SearchRunsOptions
{
    /// <summary>The experiments to search (at least one).</summary>
    public IReadOnlyList<string> ExperimentIds { get; init; } = [];

    /// <summary>A filter in MLflow's grammar, e.g. <c>metrics.acc &gt; 0.9 and params.lr = '0.01'</c>.</summary>
    public string? Filter { get; init; }

    /// <summary>Order clauses, e.g. <c>["metrics.acc DESC"]</c>.</summary>
    public IReadOnlyList<string>? OrderBy { get; init; }

    /// <summary>Which lifecycle stages to include. <see langword="null"/> lets the server use <see cref="ViewType.ActiveOnly"/>.</summary>
    public ViewType? ViewType { get; init; }

    /// <summary>How many runs each request fetches (1–50,000). <see langword="null"/> uses <see cref="MlflowClientOptions.DefaultPageSize"/>.</summary>
    public int? PageSize { get; init; }

    /// <summary>A page token from an earlier search to resume from.</summary>
    public string? PageToken { get; init; }
}

/// <summary>Options of <see cref="RunsClient.CreateAsync"/>.</summary>
public sealed record CreateRunOptions
{
    /// <summary>The run name. When <see langword="null"/>, a name like MLflow's (<c>adjective-noun-123</c>) is generated.</summary>
    public string? RunName { get; init; }

    /// <summary>Tags to set on the run.</summary>
    public IReadOnlyDictionary<string, string>? Tags { get; init; }

    /// <summary>The start time; <see langword="null"/> means now.</summary>
    public DateTimeOffset? StartTime { get; init; }

    /// <summary>The user recorded in <c>user_id</c>; defaults to the <c>mlflow.user</c> tag, else <c>"unknown"</c>.</summary>
    public string? UserId { get; init; }
}
