namespace MLOpsDemo.Mlflow;

/// <summary>The status of a run, as MLflow's <c>RunStatus</c> enum.</summary>
public enum RunStatus
{
    /// <summary>The run is in progress.</summary>
    Running = 1,

    /// <summary>The run is scheduled to start.</summary>
    Scheduled = 2,

    /// <summary>The run finished successfully.</summary>
    Finished = 3,

    /// <summary>The run failed.</summary>
    Failed = 4,

    /// <summary>The run was stopped before it finished.</summary>
    Killed = 5,
}

/// <summary>Which entities a search returns, by lifecycle stage (MLflow's <c>ViewType</c>).</summary>
public enum ViewType
{
    /// <summary>Only active entities (the server's default).</summary>
    ActiveOnly = 1,

    /// <summary>Only deleted entities.</summary>
    DeletedOnly = 2,

    /// <summary>Active and deleted entities.</summary>
    All = 3,
}

/// <summary>Conversions between the public enums and MLflow's wire names.</summary>
internal static class EnumNames
{
    public static string ToWire(this RunStatus status) => status switch
    {
        RunStatus.Running => "RUNNING",
        RunStatus.Scheduled => "SCHEDULED",
        RunStatus.Finished => "FINISHED",
        RunStatus.Failed => "FAILED",
        RunStatus.Killed => "KILLED",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown run status."),
    };

    public static RunStatus ParseRunStatus(string value) => value.ToUpperInvariant() switch
    {
        "RUNNING" or "1" => RunStatus.Running,
        "SCHEDULED" or "2" => RunStatus.Scheduled,
        "FINISHED" or "3" => RunStatus.Finished,
        "FAILED" or "4" => RunStatus.Failed,
        "KILLED" or "5" => RunStatus.Killed,
        _ => throw new FormatException($"'{value}' is not a known MLflow run status."),
    };

    public static string ToWire(this ViewType viewType) => viewType switch
    {
        ViewType.ActiveOnly => "ACTIVE_ONLY",
        ViewType.DeletedOnly => "DELETED_ONLY",
        ViewType.All => "ALL",
        _ => throw new ArgumentOutOfRangeException(nameof(viewType), viewType, "Unknown view type."),
    };

    public static ViewType ParseViewType(string value) => value.ToUpperInvariant() switch
    {
        "ACTIVE_ONLY" or "1" => ViewType.ActiveOnly,
        "DELETED_ONLY" or "2" => ViewType.DeletedOnly,
        "ALL" or "3" => ViewType.All,
        _ => throw new FormatException($"'{value}' is not a known MLflow view type."),
    };
}

/// <summary>Well-known values of an entity's <c>lifecycle_stage</c>.</summary>
public static class LifecycleStage
{
    /// <summary>The entity is active.</summary>
    public const string Active = "active";

    /// <summary>The entity is soft-deleted and can be restored.</summary>
    public const string Deleted = "deleted";
}
