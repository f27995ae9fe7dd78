using System.Text.Json.Nodes;
using MLOpsDemo.Mlflow.Tests.Sqlite;

namespace MLOpsDemo.Mlflow.Tests.Fluent;

/// <summary>Artifact logging from the fluent run, on the local store and through the server's artifact proxy.</summary>
public class RunArtifactsTests
{
    [Fact]
    public async Task Run_artifact_methods_write_under_the_runs_artifact_root_on_the_local_store()
    {
        using var folder = new TempFolder();
        using var client = folder.Client();
        var ct = TestContext.Current.CancellationToken;
        var experimentId = await client.Experiments.CreateAsync("artifacts", artifactLocation: Path.Combine(folder.Path, "store"), cancellationToken: ct);
        var input = Path.Combine(folder.Path, "input");
        Directory.CreateDirectory(Path.Combine(input, "sub"));
        await File.WriteAllTextAsync(Path.Combine(input, "a.txt"), "alpha", ct);
        await File.WriteAllTextAsync(Path.Combine(input, "sub", "b.txt"), "beta", ct);

        string artifactRoot;
        await using (var run = await client.StartRunAsync(new StartRunOptions { ExperimentId = experimentId }, ct))
        {
            await run.LogTextAsync("hello", "notes/readme.md", ct);
            await run.LogJsonAsync(new JsonObject { ["w"] = 1.5 }, "model/weights.json", ct);
            await run.LogBytesAsync(new byte[] { 1, 2, 3 }, "raw.bin", ct);
            await run.LogArtifactAsync(Path.Combine(input, "a.txt"), "single", ct);
            await run.LogArtifactsAsync(input, "tree", ct);
            artifactRoot = (await client.Runs.GetAsync(run.RunId, ct)).Info.ArtifactUri!;
        }

        var root = artifactRoot.StartsWith("file://", StringComparison.Ordinal) ? new Uri(artifactRoot).LocalPath : artifactRoot;
        Assert.StartsWith(Path.Combine(folder.Path, "store"), root, StringComparison.Ordinal);
        Assert.Equal("hello", await File.ReadAllTextAsync(Path.Combine(root, "notes", "readme.md"), ct));
        Assert.Equal(1.5, (double)JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(root, "model", "weights.json"), ct))!["w"]!);
        Assert.Equal(new byte[] { 1, 2, 3 }, await File.ReadAllBytesAsync(Path.Combine(root, "raw.bin"), ct));
        Assert.Equal("alpha", await File.ReadAllTextAsync(Path.Combine(root, "single", "a.txt"), ct));
        Assert.Equal("beta", await File.ReadAllTextAsync(Path.Combine(root, "tree", "sub", "b.txt"), ct));
    }

    [Fact]
    public async Task Logging_an_artifact_after_the_run_ended_is_refused()
    {
        using var folder = new TempFolder();
        using var client = folder.Client();
        var ct = TestContext.Current.CancellationToken;
        var experimentId = await client.Experiments.CreateAsync("ended", artifactLocation: Path.Combine(folder.Path, "store"), cancellationToken: ct);
        var run = await client.StartRunAsync(new StartRunOptions { ExperimentId = experimentId }, ct);
        await run.EndAsync(cancellationToken: ct);

        await Assert.ThrowsAsync<InvalidOperationException>(() => run.LogTextAsync("late", "late.txt", ct));
    }
}
