using System.Text.Json;

namespace MLOpsDemo.Mlflow.Tests.Sqlite;

/// <summary>README "Test 2": a database written by the Python client, read through the public API.</summary>
public class SqliteGoldenReadTests
{
    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public async Task Every_value_of_the_description_reads_back(string version)
    {
        var ct = TestContext.Current.CancellationToken;
        using var folder = new TempFolder();
        File.Copy(Path.Combine(SqliteGolden.Directory, $"populated-{version}.db"), folder.DatabasePath);
        var root = Path.Combine(folder.Path, "mlruns");
        SqliteGolden.CopyDirectory(Path.Combine(SqliteGolden.Directory, $"populated-{version}-mlruns"), root);
        var original = $"/srv/golden-{version}/mlruns";
        using (var c = SqliteGolden.Open(folder.DatabasePath))
        {
            SqliteGolden.Execute(c, "UPDATE experiments SET artifact_location = replace(artifact_location, $o, $r)", ("$o", original), ("$r", root));
            SqliteGolden.Execute(c, "UPDATE runs SET artifact_uri = replace(artifact_uri, $o, $r)", ("$o", original), ("$r", root));
        }

        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(SqliteGolden.Directory, $"populated-{version}.json"), ct));
        string Relocate(string? s) => s!.Replace(original, root, StringComparison.Ordinal);
        using var client = folder.Client();

        var experiments = new List<Experiment>();
        await foreach (var e in client.Experiments.SearchAsync(new SearchExperimentsOptions { ViewType = ViewType.All, OrderBy = ["experiment_id ASC"] }, ct))
        {
            experiments.Add(e);
        }

        var expectedExperiments = json.RootElement.GetProperty("experiments").EnumerateArray().ToList();
        Assert.Equal(expectedExperiments.Count, experiments.Count);
        foreach (var (expected, actual) in expectedExperiments.Zip(experiments))
        {
            Assert.Equal(expected.GetProperty("experiment_id").GetString(), actual.ExperimentId);
            Assert.Equal(expected.GetProperty("name").GetString(), actual.Name);
            Assert.Equal(Relocate(expected.GetProperty("artifact_location").GetString()), actual.ArtifactLocation);
            Assert.Equal(expected.GetProperty("lifecycle_stage").GetString(), actual.LifecycleStage);
            Assert.Equal(expected.GetProperty("creation_time").GetInt64(), actual.CreationTime);
            Assert.Equal(expected.GetProperty("last_update_time").GetInt64(), actual.LastUpdateTime);
            AssertPairs(expected.GetProperty("tags"), actual.Tags);
            Assert.Equal(actual.ExperimentId, (await client.Experiments.GetByNameAsync(actual.Name, ct))?.ExperimentId);
        }

        var expectedRuns = json.RootElement.GetProperty("runs").EnumerateArray().ToList();
        var found = new List<Run>();
        await foreach (var run in client.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = ["0", "1", "2"], ViewType = ViewType.All, OrderBy = ["start_time ASC"] }, ct))
        {
            found.Add(run);
        }

        Assert.Equal(expectedRuns.Count, found.Count);
        foreach (var (expected, searched) in expectedRuns.Zip(found))
        {
            var info = expected.GetProperty("info");
            var runId = info.GetProperty("run_id").GetString()!;
            Assert.Equal(runId, searched.Info.RunId);
            var run = await client.Runs.GetAsync(runId, ct);
            Assert.Equal(run.Info, searched.Info);
            Assert.Equal(info.GetProperty("run_name").GetString(), run.Info.RunName);
            Assert.Equal(info.GetProperty("experiment_id").GetString(), run.Info.ExperimentId);
            Assert.Equal(info.GetProperty("user_id").GetString(), run.Info.UserId);
            Assert.Equal(info.GetProperty("status").GetString(), run.Info.Status.ToString().ToUpperInvariant());
            Assert.Equal(info.GetProperty("start_time").GetInt64(), run.Info.StartTime);
            Assert.Equal(info.GetProperty("end_time").GetInt64(), run.Info.EndTime);
            Assert.Equal(info.GetProperty("lifecycle_stage").GetString(), run.Info.LifecycleStage);
            Assert.Equal(Relocate(info.GetProperty("artifact_uri").GetString()), run.Info.ArtifactUri);

            var data = expected.GetProperty("data");
            var metrics = data.GetProperty("metrics").EnumerateObject().ToList();
            Assert.Equal(metrics.Select(m => m.Name).Order(StringComparer.Ordinal), run.Data.Metrics.Select(m => m.Key).Order(StringComparer.Ordinal));
            foreach (var m in metrics)
            {
                AssertValue(m.Value, run.Data.Metrics.Single(x => x.Key == m.Name).Value);
            }

            AssertPairs(data.GetProperty("params"), run.Data.Params);
            AssertPairs(data.GetProperty("tags"), run.Data.Tags);

            foreach (var history in expected.GetProperty("metric_history").EnumerateObject())
            {
                var points = new List<Metric>();
                await foreach (var point in client.Runs.GetMetricHistoryAsync(runId, history.Name, cancellationToken: ct))
                {
                    points.Add(point);
                }

                var expectedPoints = history.Value.EnumerateArray().ToList();
                Assert.Equal(expectedPoints.Count, points.Count);
                foreach (var (e, a) in expectedPoints.Zip(points))
                {
                    Assert.Equal(e.GetProperty("key").GetString(), a.Key);
                    AssertValue(e.GetProperty("value"), a.Value);
                    Assert.Equal(e.GetProperty("timestamp").GetInt64(), a.Timestamp);
                    Assert.Equal(e.GetProperty("step").GetInt64(), a.Step);
                }
            }

            var inputs = expected.GetProperty("inputs");
            var datasets = inputs.GetProperty("dataset_inputs").EnumerateArray().ToList();
            Assert.Equal(datasets.Count, run.Inputs.DatasetInputs.Count);
            foreach (var (e, a) in datasets.Zip(run.Inputs.DatasetInputs))
            {
                var d = e.GetProperty("dataset");
                Assert.Equal(d.GetProperty("name").GetString(), a.Dataset.Name);
                Assert.Equal(d.GetProperty("digest").GetString(), a.Dataset.Digest);
                Assert.Equal(d.GetProperty("source_type").GetString(), a.Dataset.SourceType);
                Assert.Equal(d.GetProperty("source").GetString(), a.Dataset.Source);
                Assert.Equal(d.GetProperty("schema").GetString(), a.Dataset.Schema);
                Assert.Equal(d.GetProperty("profile").GetString(), a.Dataset.Profile);
                AssertPairs(e.GetProperty("tags"), a.Tags);
            }

            if (inputs.TryGetProperty("model_inputs", out var modelInputs))
            {
                Assert.Equal(modelInputs.EnumerateArray().Select(m => m.GetString()), run.Inputs.ModelInputs.Select(m => m.ModelId));
            }
            else
            {
                Assert.Empty(run.Inputs.ModelInputs);
            }

            if (expected.TryGetProperty("outputs", out var outputs))
            {
                Assert.Equal(
                    outputs.GetProperty("model_outputs").EnumerateArray().Select(o => (o.GetProperty("model_id").GetString(), o.GetProperty("step").GetInt64())),
                    run.Outputs.ModelOutputs.Select(o => ((string?)o.ModelId, o.Step)));
            }
            else
            {
                Assert.Empty(run.Outputs.ModelOutputs);
            }

            var artifacts = new List<ArtifactFileInfo>();
            await ListRecursiveAsync(client, runId, null, artifacts, ct);
            Assert.Equal(
                expected.GetProperty("artifacts").EnumerateArray().Select(a => (a.GetProperty("path").GetString(), a.GetProperty("is_dir").GetBoolean(), a.GetProperty("file_size").ValueKind == JsonValueKind.Null ? (long?)null : a.GetProperty("file_size").GetInt64())),
                artifacts.Select(a => ((string?)a.Path, a.IsDirectory, a.FileSize)));
        }
    }

    private static async Task ListRecursiveAsync(MlflowClient client, string runId, string? path, List<ArtifactFileInfo> result, CancellationToken ct)
    {
        await foreach (var file in client.Artifacts.ListAsync(runId, path, cancellationToken: ct))
        {
            result.Add(file);
            if (file.IsDirectory)
            {
                await ListRecursiveAsync(client, runId, file.Path, result, ct);
            }
        }
    }

    private static void AssertValue(JsonElement expected, double actual)
    {
        if (expected.ValueKind == JsonValueKind.String)
        {
            Assert.Equal("NaN", expected.GetString());
            Assert.True(double.IsNaN(actual), $"expected NaN, got {actual}");
        }
        else
        {
            Assert.Equal(expected.GetDouble(), actual);
        }
    }

    private static void AssertPairs(JsonElement expected, IReadOnlyDictionary<string, string> actual)
    {
        var e = expected.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        Assert.Equal(e.Count, actual.Count);
        foreach (var (key, value) in e)
        {
            Assert.True(actual.TryGetValue(key, out var a), $"missing key {key}");
            Assert.Equal(value, a);
        }
    }
}
