using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace MLOpsDemo.Mlflow.Tests.Sqlite;

/// <summary>One file of <c>TestData/mlflow-golden/sqlite/releases/</c>: the fresh database an MLflow release creates.</summary>
public sealed partial record ReleaseDump(string Name, int Major, int Minor, string Revision)
{
    public static string Directory { get; } = System.IO.Path.Combine(SqliteGolden.Directory, "releases");

    /// <summary>Every release dump, oldest first (the README's table).</summary>
    public static IReadOnlyList<ReleaseDump> All { get; } = System.IO.Directory.GetFiles(Directory, "*.sql")
        .Select(Load)
        .OrderBy(d => d.Major).ThenBy(d => d.Minor).ThenBy(d => d.Name, StringComparer.Ordinal)
        .ToList();

    /// <summary>The release names as xunit theory data.</summary>
    public static TheoryData<string> Names => [.. All.Select(d => d.Name)];

    public static ReleaseDump Get(string name) => All.Single(d => d.Name == name);

    public string Path => System.IO.Path.Combine(Directory, Name + ".sql");

    /// <summary>The first release of the file, e.g. <c>3.5</c> for <c>3.5-3.7</c> and <c>3.11.1</c> for <c>3.11.1</c>.</summary>
    public string FirstVersion => Name.Split('-')[0].Replace(".dev0", "", StringComparison.Ordinal);

    public bool HasAliases => (Major, Minor).CompareTo((2, 3)) >= 0;

    public bool HasDatasets => (Major, Minor).CompareTo((2, 4)) >= 0;

    public bool HasStorageLocation => (Major, Minor).CompareTo((2, 8)) >= 0;

    public bool HasLoggedModels => Major >= 3;

    public bool HasWorkspaces => (Major, Minor).CompareTo((3, 10)) >= 0;

    /// <summary>Builds the database exactly as the dump describes it (MLflow's tables, revision and seed rows).</summary>
    public void Build(string databasePath)
    {
        using var connection = SqliteGolden.Open(databasePath);
        SqliteGolden.Execute(connection, File.ReadAllText(Path));
    }

    private static ReleaseDump Load(string file)
    {
        var name = System.IO.Path.GetFileNameWithoutExtension(file);
        var parts = name.Split('-')[0].Split('.');
        var revision = RevisionLine().Match(File.ReadAllText(file)).Groups[1].Value;
        return new ReleaseDump(name, int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture), revision);
    }

    [GeneratedRegex(@"INSERT INTO ""alembic_version"" VALUES\('([0-9a-f]+)'\);")]
    private static partial Regex RevisionLine();
}

/// <summary>
/// Every kind of entity a release schema can hold, logged through the library; what an older schema cannot hold must
/// fail with an <see cref="MlflowException"/> naming the MLflow version that has it.
/// </summary>
public static class ReleaseScenario
{
    public const string ExperimentName = "release-exp";
    public const string ModelName = "release-model";
    public const string LoggedModelName = "release-logged";
    public const long T0 = 1_700_000_000_000;

    /// <summary>What the scenario wrote, for the read-back assertions.</summary>
    public sealed record Written(string ExperimentId, string ParentRunId, string ChildRunId, string? ModelId);

    public static async Task<Written> WriteAsync(MlflowClient client, ReleaseDump release, string artifactRoot, CancellationToken ct)
    {
        var experimentId = await client.Experiments.CreateAsync(ExperimentName, artifactLocation: artifactRoot, tags: new Dictionary<string, string> { ["team"] = "vision" }, cancellationToken: ct);
        await client.Experiments.SetTagAsync(experimentId, "mlflow.note.content", "release notes", ct);

        var parent = await client.Runs.CreateAsync(experimentId, new CreateRunOptions { RunName = "parent", UserId = "golden", StartTime = DateTimeOffset.FromUnixTimeMilliseconds(T0), Tags = new Dictionary<string, string> { ["owner"] = "golden" } }, ct);
        var runId = parent.Info.RunId;
        await client.Runs.LogBatchAsync(
            runId,
            metrics:
            [
                new Metric("loss", 1.0, T0, 0),
                new Metric("loss", 0.5, T0 + 1, 1),
                new Metric("loss", 0.25, T0 + 2, 2),
                new Metric("nan_metric", double.NaN, T0, 0),
                new Metric("pos_inf", double.PositiveInfinity, T0, 0),
                new Metric("neg_inf", double.NegativeInfinity, T0, 0),
            ],
            parameters: [new("lr", "0.01"), new("epochs", "3")],
            tags: [new("stage", "train")],
            cancellationToken: ct);
        await client.Runs.LogMetricAsync(runId, "loss", 9.0, step: 1, timestamp: DateTimeOffset.FromUnixTimeMilliseconds(T0 + 3), cancellationToken: ct);
        await client.Runs.LogParamAsync(runId, "optimizer", "adam", ct);
        await client.Runs.SetTagAsync(runId, "mlflow.note.content", "parent run", ct);

        var child = await client.Runs.CreateAsync(experimentId, new CreateRunOptions { RunName = "child", StartTime = DateTimeOffset.FromUnixTimeMilliseconds(T0 + 10), Tags = new Dictionary<string, string> { ["mlflow.parentRunId"] = runId } }, ct);
        await client.Runs.LogMetricAsync(child.Info.RunId, "loss", 0.75, step: 0, timestamp: DateTimeOffset.FromUnixTimeMilliseconds(T0 + 11), cancellationToken: ct);
        await client.Runs.UpdateAsync(child.Info.RunId, RunStatus.Failed, DateTimeOffset.FromUnixTimeMilliseconds(T0 + 12), cancellationToken: ct);

        var dataset = new DatasetInput
        {
            Dataset = new Dataset { Name = "train-set", Digest = "a1b2c3d4", SourceType = "local", Source = "{\"uri\": \"/data/train.csv\"}", Schema = "{\"columns\": []}" },
            Tags = new Dictionary<string, string> { ["mlflow.data.context"] = "training" },
        };
        await ExpectAsync(release.HasDatasets, "2.4", () => client.Runs.LogInputsAsync(runId, [dataset], cancellationToken: ct));

        var registry = client.ModelRegistry;
        await registry.CreateAsync(ModelName, new Dictionary<string, string> { ["domain"] = "vision" }, "release model", ct);
        var source = parent.Info.ArtifactUri + "/model";
        await registry.CreateVersionAsync(ModelName, source, new CreateModelVersionOptions { RunId = runId, Tags = new Dictionary<string, string> { ["validated"] = "true" } }, ct);
        await registry.CreateVersionAsync(ModelName, source, new CreateModelVersionOptions { RunId = runId }, ct);
        await registry.SetVersionTagAsync(ModelName, "2", "candidate", "yes", ct);
        await registry.TransitionStageAsync(ModelName, "1", "Staging", cancellationToken: ct);
        await ExpectAsync(release.HasAliases, "2.3", () => registry.SetAliasAsync(ModelName, "champion", "2", ct));

        string? modelId = null;
        if (release.HasLoggedModels)
        {
            var model = await client.LoggedModels.CreateAsync(experimentId, new CreateLoggedModelOptions { Name = LoggedModelName, ModelType = "demo", SourceRunId = runId, Params = new Dictionary<string, string> { ["alpha"] = "0.5" }, Tags = new Dictionary<string, string> { ["flavor"] = "onnx" } }, ct);
            modelId = model.Info.ModelId;
            await client.LoggedModels.FinalizeAsync(modelId, cancellationToken: ct);
            await client.LoggedModels.LogMetricAsync(modelId, runId, "val_acc", 0.9, step: 3, timestamp: DateTimeOffset.FromUnixTimeMilliseconds(T0 + 4), cancellationToken: ct);
        }
        else
        {
            var refused = await Assert.ThrowsAsync<MlflowException>(() => client.LoggedModels.CreateAsync(experimentId, new CreateLoggedModelOptions { Name = LoggedModelName }, ct));
            Assert.Equal(MlflowErrorCodes.EndpointNotFound, refused.ErrorCode);
            Assert.Contains("MLflow 3.0 or newer", refused.Message, StringComparison.Ordinal);
            Assert.Contains("table logged_models", refused.Message, StringComparison.Ordinal);
        }

        await client.Runs.UpdateAsync(runId, RunStatus.Finished, DateTimeOffset.FromUnixTimeMilliseconds(T0 + 20), cancellationToken: ct);
        return new Written(experimentId, runId, child.Info.RunId, modelId);
    }

    /// <summary>Reads everything back through the library and checks it.</summary>
    public static async Task VerifyAsync(MlflowClient client, ReleaseDump release, Written written, CancellationToken ct)
    {
        var experiment = await client.Experiments.GetAsync(written.ExperimentId, ct);
        Assert.Equal(ExperimentName, experiment.Name);
        Assert.Equal("vision", experiment.Tags["team"]);
        Assert.Equal("release notes", experiment.Tags["mlflow.note.content"]);

        var parent = await client.Runs.GetAsync(written.ParentRunId, ct);
        Assert.Equal(("parent", RunStatus.Finished, "golden", T0, T0 + 20), (parent.Info.RunName, parent.Info.Status, parent.Info.UserId, parent.Info.StartTime, parent.Info.EndTime));
        var metrics = parent.Data.Metrics.ToDictionary(m => m.Key, m => m);
        Assert.Equal((0.25, 2L), (metrics["loss"].Value, metrics["loss"].Step));
        Assert.True(double.IsNaN(metrics["nan_metric"].Value));
        Assert.Equal(double.MaxValue, metrics["pos_inf"].Value);
        Assert.Equal(double.MinValue, metrics["neg_inf"].Value);
        Assert.Equal([1.0, 0.5, 0.25, 9.0], (await ToListAsync(client.Runs.GetMetricHistoryAsync(written.ParentRunId, "loss", cancellationToken: ct))).Select(m => m.Value));
        Assert.Equal(new Dictionary<string, string> { ["epochs"] = "3", ["lr"] = "0.01", ["optimizer"] = "adam" }, parent.Data.Params);
        Assert.Equal(("train", "golden", "parent run", "parent"), (parent.Data.Tags["stage"], parent.Data.Tags["owner"], parent.Data.Tags["mlflow.note.content"], parent.Data.Tags["mlflow.runName"]));
        if (release.HasDatasets)
        {
            var input = Assert.Single(parent.Inputs.DatasetInputs);
            Assert.Equal(("train-set", "a1b2c3d4", "local", "training"), (input.Dataset.Name, input.Dataset.Digest, input.Dataset.SourceType, input.Tags["mlflow.data.context"]));
        }
        else
        {
            Assert.Empty(parent.Inputs.DatasetInputs);
        }

        var child = await client.Runs.GetAsync(written.ChildRunId, ct);
        Assert.Equal(written.ParentRunId, child.Data.Tags["mlflow.parentRunId"]);
        Assert.Equal(RunStatus.Failed, child.Info.Status);
        Assert.Equal(0.75, Assert.Single(child.Data.Metrics).Value);
        var searched = await ToListAsync(client.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = [written.ExperimentId], Filter = "metrics.loss < 1" }, ct));
        Assert.Equal(["child", "parent"], searched.Select(r => r.Info.RunName).Order(StringComparer.Ordinal));

        var model = await client.ModelRegistry.GetAsync(ModelName, ct);
        Assert.Equal(("release model", "vision"), (model.Description, model.Tags["domain"]));
        Assert.Equal(release.HasAliases ? ["champion=2"] : [], model.Aliases.Select(a => $"{a.Alias}={a.Version}"));
        var v1 = await client.ModelRegistry.GetVersionAsync(ModelName, "1", ct);
        Assert.Equal((ModelVersionStage.Staging, "true", written.ParentRunId), (v1.CurrentStage, v1.Tags["validated"], v1.RunId));
        var v2 = await client.ModelRegistry.GetVersionAsync(ModelName, "2", ct);
        Assert.Equal("yes", v2.Tags["candidate"]);
        Assert.Equal(parent.Info.ArtifactUri + "/model", await client.ModelRegistry.GetVersionDownloadUriAsync(ModelName, "2", ct));
        if (release.HasAliases)
        {
            Assert.Equal("2", (await client.ModelRegistry.GetVersionByAliasAsync(ModelName, "champion", ct)).Version);
        }

        if (written.ModelId is { } modelId)
        {
            var logged = await client.LoggedModels.GetAsync(modelId, ct);
            Assert.Equal((LoggedModelName, "demo", written.ParentRunId, LoggedModelStatus.Ready), (logged.Info.Name, logged.Info.ModelType, logged.Info.SourceRunId, logged.Info.Status));
            Assert.Equal("0.5", logged.Data.Params["alpha"]);
            Assert.Equal("onnx", logged.Info.Tags["flavor"]);
            Assert.Equal(0.9, Assert.Single(logged.Data.Metrics).Value);
        }
    }

    /// <summary>Runs <paramref name="action"/>; when the schema lacks the feature, expects the clear failure naming <paramref name="since"/>.</summary>
    private static async Task ExpectAsync(bool supported, string since, Func<Task> action)
    {
        if (supported)
        {
            await action();
            return;
        }

        var ex = await Assert.ThrowsAsync<MlflowException>(action);
        Assert.Equal(MlflowErrorCodes.NotImplemented, ex.ErrorCode);
        Assert.Contains($"MLflow {since} or newer", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("SQLite error", ex.Message, StringComparison.Ordinal);
    }

    public static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }

    /// <summary>The revision in <c>alembic_version</c> (one row).</summary>
    public static string ReadRevision(string databasePath)
    {
        using var connection = SqliteGolden.Open(databasePath);
        Assert.Equal(1L, SqliteGolden.Scalar(connection, "SELECT count(*) FROM alembic_version"));
        var revision = (string)SqliteGolden.Scalar(connection, "SELECT version_num FROM alembic_version")!;
        connection.Close();
        SqliteConnection.ClearAllPools();
        return revision;
    }
}
