using MLOpsDemo.Mlflow.Serialization;

namespace MLOpsDemo.Mlflow.Registry;

/// <summary>
/// Null-tolerant reads of <see cref="Run"/> parts: the JSON source generator leaves an init-only member null when the
/// server omits it (e.g. <c>outputs</c> on MLflow 2.x, <c>params</c> on a run without params).
/// </summary>
internal static class RunParts
{
    public static IReadOnlyList<Metric> Metrics(Run run) => (IReadOnlyList<Metric>?)run.Data?.Metrics ?? [];

    public static IReadOnlyDictionary<string, string> Params(Run run) => (IReadOnlyDictionary<string, string>?)run.Data?.Params ?? EmptyTags.Instance;

    public static IReadOnlyDictionary<string, string> Tags(Run run) => (IReadOnlyDictionary<string, string>?)run.Data?.Tags ?? EmptyTags.Instance;

    public static IReadOnlyList<ModelOutput> ModelOutputs(Run run) => (IReadOnlyList<ModelOutput>?)run.Outputs?.ModelOutputs ?? [];
}
