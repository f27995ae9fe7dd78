using MLOpsDemo.Mlflow.IntegrationTests.Infrastructure;

namespace MLOpsDemo.Mlflow.IntegrationTests;

/// <summary>Proxied artifacts against a real MLflow server: log a directory, list it, download it, compare bytes.</summary>
public class ArtifactsScenarioTests(MlflowServerFixture server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [DockerFact]
    public async Task Log_list_download_read_and_delete_a_directory_of_artifacts()
    {
        using var client = server.CreateClient();
        var experimentId = await client.Experiments.CreateAsync(MlflowServerFixture.UniqueName("it-artifacts"), cancellationToken: Ct);
        var runId = (await client.Runs.CreateAsync(experimentId, cancellationToken: Ct)).Info.RunId;
        var root = Path.Combine(Path.GetTempPath(), "mlflow-it-artifacts-" + Guid.NewGuid().ToString("N"));
        var source = Path.Combine(root, "source");
        try
        {
            var files = new Dictionary<string, byte[]>(StringComparer.Ordinal)
            {
                ["MLmodel"] = "flavors: {}\n"u8.ToArray(),
                ["data/model.bin"] = Enumerable.Range(0, 300_000).Select(i => (byte)(i * 31)).ToArray(),
                ["data/nested/notes with space.txt"] = "ünïcode ✓\n"u8.ToArray(),
            };
            foreach (var (relative, content) in files)
            {
                var path = Path.Combine([source, .. relative.Split('/')]);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await File.WriteAllBytesAsync(path, content, Ct);
            }

            await client.Artifacts.LogArtifactsAsync(runId, source, "model", Ct);
            await client.Artifacts.LogTextAsync(runId, "hello\n", "notes/hello.txt", Ct);

            var listed = await client.Artifacts.ListAsync(runId, "model", recursive: true, Ct).ToListAsync(Ct);
            Assert.Equal(
                files.Keys.Select(k => "model/" + k).Order(StringComparer.Ordinal),
                listed.Where(e => !e.IsDirectory).Select(e => e.Path).Order(StringComparer.Ordinal));
            Assert.All(listed.Where(e => !e.IsDirectory), e => Assert.Equal(files[e.Path["model/".Length..]].Length, e.FileSize));

            var local = await client.Artifacts.DownloadAsync(runId, "model", Path.Combine(root, "down"), Ct);
            foreach (var (relative, content) in files)
            {
                Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine([local, .. relative.Split('/')]), Ct));
            }

            Assert.Equal("hello\n", await client.Artifacts.ReadTextAsync(runId, "notes/hello.txt", Ct));
            await client.Artifacts.DeleteAsync(runId, "notes/hello.txt", Ct);
            Assert.DoesNotContain(await client.Artifacts.ListAsync(runId, "notes", cancellationToken: Ct).ToListAsync(Ct), e => e.Path == "notes/hello.txt");
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }
}
