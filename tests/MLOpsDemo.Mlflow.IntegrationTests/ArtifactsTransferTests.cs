using System.Security.Cryptography;
using MLOpsDemo.Mlflow.IntegrationTests.Infrastructure;

namespace MLOpsDemo.Mlflow.IntegrationTests;

/// <summary>
/// Proxied artifacts against a real MLflow server: a file over 100 MiB with its SHA-256, unicode names and names with spaces and reserved URL characters,
/// deep directory trees listed level by level, and paths refused before any request.
/// </summary>
public sealed class ArtifactsTransferTests(MlflowServerFixture server) : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("it-artifacts-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _work.Delete(recursive: true);

    [DockerFact]
    public async Task A_file_over_100_MiB_round_trips_with_the_same_SHA256()
    {
        using var client = server.CreateClient(o => o.Timeout = TimeSpan.FromMinutes(5));
        var runId = await NewRunAsync(client, "it-large");
        const long Size = (100L * 1024 * 1024) + 12_345;
        var source = Path.Combine(_work.FullName, "weights.bin");
        var expected = await WritePseudoRandomFileAsync(source, Size);

        await client.Artifacts.LogArtifactAsync(runId, source, "checkpoints", Ct);

        var listed = Assert.Single(await client.Artifacts.ListAsync(runId, "checkpoints", cancellationToken: Ct).ToListAsync(Ct));
        Assert.Equal(("checkpoints/weights.bin", Size), (listed.Path, listed.FileSize));

        var downloaded = await client.Artifacts.DownloadAsync(runId, "checkpoints/weights.bin", Path.Combine(_work.FullName, "down"), Ct);
        Assert.Equal(Size, new FileInfo(downloaded).Length);
        await using (var file = File.OpenRead(downloaded))
        {
            Assert.Equal(expected, Convert.ToHexString(await SHA256.HashDataAsync(file, Ct)));
        }

        await using var stream = await client.Artifacts.OpenReadAsync(runId, "checkpoints/weights.bin", Ct);
        Assert.Equal(expected, Convert.ToHexString(await SHA256.HashDataAsync(stream, Ct)));
    }

    [DockerFact]
    public async Task Unicode_space_and_reserved_character_names_round_trip_unchanged()
    {
        using var client = server.CreateClient();
        var runId = await NewRunAsync(client, "it-unicode");
        var files = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["données/résumé 📈.txt"] = "résumé",
            ["日本語/data.json"] = "{\"ok\": true}",
            ["a b/c+d=e,f.txt"] = "reserved characters stay literal",
            ["ünï/çødé/ß.csv"] = "x,y\n1,2\n",
        };
        var source = Path.Combine(_work.FullName, "src");
        foreach (var (relative, content) in files)
        {
            var path = Path.Combine([source, .. relative.Split('/')]);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, content, Ct);
        }

        await client.Artifacts.LogArtifactsAsync(runId, source, cancellationToken: Ct);
        await client.Artifacts.LogTextAsync(runId, "naïve ✓", "notes/naïve ✓.txt", Ct);

        // Every name is stored and listed exactly as given, with its size.
        var listed = await client.Artifacts.ListAsync(runId, recursive: true, cancellationToken: Ct).ToListAsync(Ct);
        var expected = files.Append(KeyValuePair.Create("notes/naïve ✓.txt", "naïve ✓"))
            .Select(f => (f.Key, (long?)System.Text.Encoding.UTF8.GetByteCount(f.Value))).Order();
        Assert.Equal(expected, listed.Where(e => !e.IsDirectory).Select(e => (e.Path, e.FileSize)).Order());

        // Contents come back under unicode folders. Files whose own name is not ASCII are not read back here: the
        // servers put the name into the Content-Disposition header, which MLflow 3.11 (Starlette's WSGI bridge: ASCII
        // only) answers with HTTP 500 and MLflow 2.22 (gunicorn: Latin-1 only, e.g. for an emoji) with a dropped
        // connection. Python MLflow fails the same way; it is the server, not the client.
        Assert.Equal("{\"ok\": true}", await client.Artifacts.ReadTextAsync(runId, "日本語/data.json", Ct));
        Assert.Equal("reserved characters stay literal", await client.Artifacts.ReadTextAsync(runId, "a b/c+d=e,f.txt", Ct));
        var local = await client.Artifacts.DownloadAsync(runId, "日本語", Path.Combine(_work.FullName, "down"), Ct);
        Assert.Equal("{\"ok\": true}", await File.ReadAllTextAsync(Path.Combine(local, "data.json"), Ct));
    }

    [DockerFact]
    public async Task A_deep_tree_lists_level_by_level_and_downloads_whole()
    {
        using var client = server.CreateClient();
        var runId = await NewRunAsync(client, "it-tree");
        var source = Path.Combine(_work.FullName, "tree");
        var expected = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        for (var a = 0; a < 3; a++)
        {
            for (var depth = 1; depth <= 5; depth++)
            {
                var relative = string.Join('/', Enumerable.Range(0, depth).Select(d => $"l{d}-{a}")) + $"/f{depth}.bin";
                var content = Enumerable.Range(0, 1000 * depth).Select(i => (byte)(i ^ a ^ depth)).ToArray();
                expected[relative] = content;
                var path = Path.Combine([source, .. relative.Split('/')]);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await File.WriteAllBytesAsync(path, content, Ct);
            }
        }

        await client.Artifacts.LogArtifactsAsync(runId, source, "tree", Ct);
        await client.Artifacts.LogBytesAsync(runId, new byte[] { 1, 2, 3 }, "raw.bin", Ct);

        var top = await client.Artifacts.ListAsync(runId, cancellationToken: Ct).ToListAsync(Ct);
        Assert.Equal(["raw.bin", "tree"], top.Select(e => e.Path).Order(StringComparer.Ordinal));
        Assert.True(top.Single(e => e.Path == "tree").IsDirectory);
        var level1 = await client.Artifacts.ListAsync(runId, "tree", cancellationToken: Ct).ToListAsync(Ct);
        Assert.Equal(["tree/l0-0", "tree/l0-1", "tree/l0-2"], level1.Select(e => e.Path).Order(StringComparer.Ordinal));
        Assert.All(level1, e => Assert.True(e.IsDirectory));
        var level2 = await client.Artifacts.ListAsync(runId, "tree/l0-1", cancellationToken: Ct).ToListAsync(Ct);
        Assert.Equal(["tree/l0-1/f1.bin", "tree/l0-1/l1-1"], level2.Select(e => e.Path).Order(StringComparer.Ordinal));

        var all = await client.Artifacts.ListAsync(runId, "tree", recursive: true, Ct).ToListAsync(Ct);
        Assert.Equal(expected.Keys.Select(k => "tree/" + k), all.Where(e => !e.IsDirectory).Select(e => e.Path).Order(StringComparer.Ordinal));

        var local = await client.Artifacts.DownloadAsync(runId, "tree", Path.Combine(_work.FullName, "down"), Ct);
        foreach (var (relative, content) in expected)
        {
            Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine([local, .. relative.Split('/')]), Ct));
        }

        var uri = await client.Artifacts.GetArtifactUriAsync(runId, Ct);
        var viaUri = await client.Artifacts.ListUriAsync(uri, "tree/l0-2", cancellationToken: Ct).ToListAsync(Ct);
        Assert.Equal(["tree/l0-2/f1.bin", "tree/l0-2/l1-2"], viaUri.Select(e => e.Path).Order(StringComparer.Ordinal));
        Assert.Equal(new byte[] { 1, 2, 3 }, await ReadAllAsync(await client.Artifacts.OpenReadAsync(runId, "raw.bin", Ct)));
    }

    [DockerFact]
    public async Task Paths_that_leave_the_artifact_root_are_refused_before_any_request()
    {
        using var client = server.CreateClient();
        var runId = await NewRunAsync(client, "it-unsafe");
        await Assert.ThrowsAnyAsync<ArgumentException>(() => client.Artifacts.LogTextAsync(runId, "x", "../escape.txt", Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => client.Artifacts.LogTextAsync(runId, "x", "/etc/escape.txt", Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => client.Artifacts.LogTextAsync(runId, "x", "a\\b.txt", Ct));
        Assert.Empty(await client.Artifacts.ListAsync(runId, cancellationToken: Ct).ToListAsync(Ct));
        var missing = await Assert.ThrowsAnyAsync<Exception>(() => client.Artifacts.ReadTextAsync(runId, "missing.txt", Ct));
        Assert.True(missing is MlflowException or FileNotFoundException, missing.ToString());
    }

    private static async Task<string> NewRunAsync(MlflowClient client, string prefix)
    {
        var experimentId = await client.Experiments.CreateAsync(MlflowServerFixture.UniqueName(prefix), cancellationToken: Ct);
        return (await client.Runs.CreateAsync(experimentId, cancellationToken: Ct)).Info.RunId;
    }

    private static async Task<string> WritePseudoRandomFileAsync(string path, long size)
    {
        var random = new Random(20261203);
        var buffer = new byte[1024 * 1024];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using var file = File.Create(path);
        for (long written = 0; written < size; written += buffer.Length)
        {
            var count = (int)Math.Min(buffer.Length, size - written);
            random.NextBytes(buffer);
            hash.AppendData(buffer, 0, count);
            await file.WriteAsync(buffer.AsMemory(0, count), Ct);
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream)
    {
        await using (stream)
        {
            using var memory = new MemoryStream();
            await stream.CopyToAsync(memory, Ct);
            return memory.ToArray();
        }
    }
}
