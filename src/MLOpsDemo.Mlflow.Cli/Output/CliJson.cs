using System.Globalization;
using System.Text.Json.Nodes;

namespace MLOpsDemo.Mlflow.Cli.Output;

/// <summary>
/// The tool's JSON shapes (snake_case like MLflow's REST API, documented in the README). Built explicitly, field by
/// field, so that they stay stable whatever the library's types gain.
/// </summary>
internal static class CliJson
{
    /// <summary>An experiment.</summary>
    /// <param name="experiment">The experiment.</param>
    /// <returns>The JSON.</returns>
    public static JsonObject Experiment(Experiment experiment) => new()
    {
        ["experiment_id"] = experiment.ExperimentId,
        ["name"] = experiment.Name,
        ["artifact_location"] = experiment.ArtifactLocation,
        ["lifecycle_stage"] = experiment.LifecycleStage,
        ["creation_time"] = experiment.CreationTime,
        ["last_update_time"] = experiment.LastUpdateTime,
        ["tags"] = Map(experiment.Tags),
    };

    /// <summary>A run, flattened: info fields, then <c>params</c>, <c>metrics</c> (latest values) and <c>tags</c> as objects.</summary>
    /// <param name="run">The run.</param>
    /// <returns>The JSON.</returns>
    public static JsonObject Run(Run run)
    {
        var json = RunInfo(run.Info);
        json["params"] = Map(run.Data.Params);
        var metrics = new JsonObject();
        foreach (var metric in run.Data.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            metrics[metric.Key] = Number(metric.Value);
        }

        json["metrics"] = metrics;
        json["tags"] = Map(run.Data.Tags);
        return json;
    }

    /// <summary>A run's info.</summary>
    /// <param name="info">The info.</param>
    /// <returns>The JSON.</returns>
    public static JsonObject RunInfo(RunInfo info) => new()
    {
        ["run_id"] = info.RunId,
        ["run_name"] = info.RunName,
        ["experiment_id"] = info.ExperimentId,
        ["status"] = Status(info.Status),
        ["start_time"] = info.StartTime,
        ["end_time"] = info.EndTime,
        ["artifact_uri"] = info.ArtifactUri,
        ["lifecycle_stage"] = info.LifecycleStage,
        ["user_id"] = info.UserId,
    };

    /// <summary>A registered model.</summary>
    /// <param name="model">The model.</param>
    /// <returns>The JSON.</returns>
    public static JsonObject RegisteredModel(RegisteredModel model)
    {
        var aliases = new JsonObject();
        foreach (var alias in model.Aliases.OrderBy(a => a.Alias, StringComparer.Ordinal))
        {
            aliases[alias.Alias] = alias.Version;
        }

        return new JsonObject
        {
            ["name"] = model.Name,
            ["description"] = model.Description,
            ["creation_timestamp"] = model.CreationTimestamp,
            ["last_updated_timestamp"] = model.LastUpdatedTimestamp,
            ["aliases"] = aliases,
            ["latest_versions"] = new JsonArray(model.LatestVersions.Select(v => (JsonNode)ModelVersion(v)).ToArray()),
            ["tags"] = Map(model.Tags),
        };
    }

    /// <summary>A model version.</summary>
    /// <param name="version">The version.</param>
    /// <returns>The JSON.</returns>
    public static JsonObject ModelVersion(ModelVersion version) => new()
    {
        ["name"] = version.Name,
        ["version"] = version.Version,
        ["source"] = version.Source,
        ["run_id"] = version.RunId,
        ["model_id"] = version.ModelId,
        ["status"] = version.Status,
        ["current_stage"] = version.CurrentStage,
        ["aliases"] = new JsonArray(version.Aliases.Select(a => (JsonNode?)a).ToArray()),
        ["description"] = version.Description,
        ["creation_timestamp"] = version.CreationTimestamp,
        ["last_updated_timestamp"] = version.LastUpdatedTimestamp,
        ["tags"] = Map(version.Tags),
    };

    /// <summary>An artifact entry.</summary>
    /// <param name="file">The entry.</param>
    /// <returns>The JSON.</returns>
    public static JsonObject Artifact(ArtifactFileInfo file) => new()
    {
        ["path"] = file.Path,
        ["is_dir"] = file.IsDirectory,
        ["file_size"] = file.FileSize,
    };

    /// <summary>A string map as an object with sorted keys.</summary>
    /// <param name="values">The map.</param>
    /// <returns>The JSON.</returns>
    public static JsonObject Map(IReadOnlyDictionary<string, string>? values)
    {
        var json = new JsonObject();
        foreach (var (key, value) in (values ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            json[key] = value;
        }

        return json;
    }

    /// <summary>A number; NaN and infinities (which JSON lacks) become the strings MLflow's REST API uses.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The JSON.</returns>
    public static JsonNode? Number(double? value) => value switch
    {
        null => null,
        { } v when double.IsNaN(v) => "NaN",
        { } v when double.IsPositiveInfinity(v) => "Infinity",
        { } v when double.IsNegativeInfinity(v) => "-Infinity",
        { } v => JsonValue.Create(v),
    };

    /// <summary>A run status as MLflow spells it (<c>FINISHED</c>…).</summary>
    /// <param name="status">The status.</param>
    /// <returns>The name.</returns>
    public static string Status(RunStatus status) => status.ToString().ToUpperInvariant();

    /// <summary>A number for tables: invariant, shortest round-trip form.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The text.</returns>
    public static string Format(double? value) => value?.ToString("G10", CultureInfo.InvariantCulture) ?? "";

    /// <summary>A Unix-millisecond time for tables: ISO 8601 UTC.</summary>
    /// <param name="milliseconds">The time.</param>
    /// <returns>The text.</returns>
    public static string Time(long? milliseconds) =>
        milliseconds is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms).ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "";
}
