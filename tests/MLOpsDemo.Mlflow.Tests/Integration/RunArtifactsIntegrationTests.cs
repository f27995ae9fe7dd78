using System.Text;
using System.Text.Json.Nodes;
using MLOpsDemo.Mlflow.Tests.Artifacts;
using MLOpsDemo.Mlflow.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using static MLOpsDemo.Mlflow.Tests.Artifacts.ArtifactStubs;

namespace MLOpsDemo.Mlflow.Tests.Integration;

/// <summary>
/// The fluent run's artifact methods delegate to <c>client.Artifacts</c>: through a server's artifact proxy (exact PUT
/// paths) and, with zero configuration, into <c>./mlruns/&lt;experiment&gt;/&lt;run&gt;/artifacts</c> next to <c>./mlflow.db</c>.
/// </summary>
[Collection(nameof(WorkingDirectoryCollection))]
public class RunArtifactsIntegrationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Run_artifact_methods_put_each_file_at_its_exact_proxy_path()
    {
        using var server = WireMockServer.Start();
        using var client = TestClients.For(server);
        StubRun(server);
        server.Given(Request.Create().UsingPut()).RespondWith(Response.Create().WithStatusCode(200).WithBody("{}"));
        using var input = new TempDir();
        var single = input.Write("data/a.txt", "alpha");
        input.Write("tree/b.txt", "beta");
        input.Write("tree/sub/c.txt", "gamma");

        await using (var run = await client.StartRunAsync(new StartRunOptions { RunId = RunId }, Ct))
        {
            await run.LogArtifactAsync(single, cancellationToken: Ct);
            await run.LogArtifactAsync(single, "inputs/raw", Ct);
            await run.LogArtifactsAsync(input.Combine("tree"), "model", Ct);
            await run.LogTextAsync("# notes", "reports/notes.md", Ct);
            await run.LogJsonAsync(new JsonObject { ["w0"] = 0.5, ["b"] = -1.0 }, "model/weights.json", Ct);
        }

        var puts = server.LogEntries.Where(e => e.RequestMessage.Method == "PUT")
            .ToDictionary(e => e.RequestMessage.Path, e => Encoding.UTF8.GetString(e.RequestMessage.BodyAsBytes!), StringComparer.Ordinal);
        Assert.Equal(
            new[]
            {
                $"{ProxyApi}/{RunRoot}/a.txt",
                $"{ProxyApi}/{RunRoot}/inputs/raw/a.txt",
                $"{ProxyApi}/{RunRoot}/model/b.txt",
                $"{ProxyApi}/{RunRoot}/model/sub/c.txt",
                $"{ProxyApi}/{RunRoot}/model/weights.json",
                $"{ProxyApi}/{RunRoot}/reports/notes.md",
            },
            puts.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("alpha", puts[$"{ProxyApi}/{RunRoot}/inputs/raw/a.txt"]);
        Assert.Equal("gamma", puts[$"{ProxyApi}/{RunRoot}/model/sub/c.txt"]);
        Assert.Equal("# notes", puts[$"{ProxyApi}/{RunRoot}/reports/notes.md"]);
        var weights = JsonNode.Parse(puts[$"{ProxyApi}/{RunRoot}/model/weights.json"])!;
        Assert.Equal(0.5, (double)weights["w0"]!);
        Assert.Equal(-1.0, (double)weights["b"]!);

        // The run was resumed, not created: leaving the scope did not end it.
        Assert.DoesNotContain(server.LogEntries, e => e.RequestMessage.Path.EndsWith("/runs/update", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Zero_config_run_artifacts_land_in_mlruns_of_the_working_directory()
    {
        using var cwd = new TempWorkingDirectory();
        await File.WriteAllTextAsync("model.bin", "weights", Ct);
        string experimentId, runId;
        using (var client = new MlflowClient(new MlflowClientOptions { TrackingUri = "sqlite:///mlflow.db" }))
        {
            await using var run = await client.StartRunAsync(new StartRunOptions { ExperimentName = "zero-config" }, Ct);
            (experimentId, runId) = (run.ExperimentId, run.RunId);
            await run.LogArtifactAsync("model.bin", "model", Ct);
            await run.LogTextAsync("hello", "notes/readme.md", Ct);
            await run.LogJsonAsync(new JsonObject { ["accuracy"] = 0.9 }, "metrics.json", Ct);
        }

        Assert.True(File.Exists(Path.Combine(cwd.Path, "mlflow.db")));
        var artifacts = Path.Combine(cwd.Path, "mlruns", experimentId, runId, "artifacts");
        Assert.Equal("weights", await File.ReadAllTextAsync(Path.Combine(artifacts, "model", "model.bin"), Ct));
        Assert.Equal("hello", await File.ReadAllTextAsync(Path.Combine(artifacts, "notes", "readme.md"), Ct));
        Assert.Equal(0.9, (double)JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(artifacts, "metrics.json"), Ct))!["accuracy"]!);

        // A second client on the same database lists what the first one stored.
        using var reader = new MlflowClient(new MlflowClientOptions { TrackingUri = "sqlite:///mlflow.db" });
        var listed = new List<string>();
        await foreach (var file in reader.Artifacts.ListAsync(runId, cancellationToken: Ct))
        {
            listed.Add(file.Path);
        }

        Assert.Equal(["metrics.json", "model", "notes"], listed.Order(StringComparer.Ordinal));
    }
}
