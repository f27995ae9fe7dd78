using System.Net;
using System.Text;
using MLOpsDemo.Mlflow.Rest;
using MLOpsDemo.Mlflow.Tests.Artifacts;
using MLOpsDemo.Mlflow.Tests.TestSupport;
using WireMock.Logging;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Tests.Contract;

/// <summary>Replays every proxied-artifact exchange (059–072) of both golden folders through <see cref="ArtifactsClient"/>.</summary>
public sealed class ArtifactsContractTests
{
    private const string RunGet = "023-runs-get-by-id";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public void Every_artifact_exchange_has_a_test_below(string version)
    {
        string[] covered =
        [
            "059-mlflow-artifacts-put-text-file", "060-mlflow-artifacts-put-binary-file", "061-mlflow-artifacts-put-subdirectory-file",
            "062-mlflow-artifacts-list-directory", "063-artifacts-list-run-root", "064-artifacts-list-run-subdirectory",
            "065-mlflow-artifacts-get-text-file", "066-mlflow-artifacts-get-binary-file", "067-mlflow-artifacts-get-missing-file",
            "068-mlflow-artifacts-delete-text-file", "069-mlflow-artifacts-list-after-delete", "070-mlflow-artifacts-put-dot-dot-path",
            "071-mlflow-artifacts-list-dot-dot-path", "072-artifacts-list-dot-dot-path",
        ];
        Assert.Equal(covered, GoldenExchange.Names(version, 59, 72));
    }

    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public async Task Put_text_file_059(string version)
    {
        using var replay = Replay.Start(version, "059-mlflow-artifacts-put-text-file");

        await replay.Client.Artifacts.LogTextAsync(replay.RunId, "hello golden\n", "golden/hello.txt", Ct);

        replay.Exchange.AssertRequestMatches(replay.ArtifactRequest());
    }

    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public async Task Put_binary_file_streamed_from_disk_060(string version)
    {
        using var replay = Replay.Start(version, "060-mlflow-artifacts-put-binary-file");
        using var temp = new TempDir();
        var file = temp.Write("data.bin", replay.Exchange.RequestBytes!);

        await replay.Client.Artifacts.LogArtifactAsync(replay.RunId, file, "golden", Ct);

        replay.Exchange.AssertRequestMatches(replay.ArtifactRequest());
    }

    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public async Task Put_subdirectory_file_from_a_directory_upload_061(string version)
    {
        using var replay = Replay.Start(version, "061-mlflow-artifacts-put-subdirectory-file");
        using var temp = new TempDir();
        temp.Write("sub/nested.txt", replay.Exchange.RequestBytes!);

        await replay.Client.Artifacts.LogArtifactsAsync(replay.RunId, temp.Path, "golden", Ct);

        replay.Exchange.AssertRequestMatches(replay.ArtifactRequest());
    }

    [Theory]
    [InlineData("3.11", "062-mlflow-artifacts-list-directory")]
    [InlineData("2.22", "062-mlflow-artifacts-list-directory")]
    [InlineData("3.11", "069-mlflow-artifacts-list-after-delete")]
    [InlineData("2.22", "069-mlflow-artifacts-list-after-delete")]
    public async Task Proxied_listing_joins_base_names_onto_the_directory(string version, string name)
    {
        using var replay = Replay.Start(version, name);

        var entries = await replay.Client.Artifacts.ListUriAsync(replay.ArtifactUri, "golden", cancellationToken: Ct).ToListAsync(Ct);

        replay.Exchange.AssertRequestMatches(replay.ArtifactRequest());
        Assert.Equal(replay.Exchange.Query["path"][0], replay.ArtifactRequest().RequestMessage.Query!["path"].Single());
        var expected = replay.Exchange.ResponseJson!["files"]!.AsArray()
            .Select(f => ("golden/" + (string)f!["path"]!, (bool)f["is_dir"]!, (long?)f["file_size"])).ToList();
        Assert.Equal(expected, entries.Select(e => (e.Path, e.IsDirectory, e.FileSize)).ToList());
        Assert.Contains(entries, e => e.Path == "golden/data.bin" && e.FileSize == 256);
    }

    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public async Task Run_listing_of_the_root_uses_artifacts_list_063(string version)
    {
        using var replay = Replay.Start(version, "063-artifacts-list-run-root", stubRun: false);

        var entries = await replay.Client.Artifacts.ListAsync(replay.RunId, cancellationToken: Ct).ToListAsync(Ct);

        replay.Exchange.AssertRequestMatches(Assert.Single(replay.Server.LogEntries));
        var entry = Assert.Single(entries);
        Assert.Equal("golden", entry.Path);
        Assert.True(entry.IsDirectory);
        Assert.Null(entry.FileSize);
    }

    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public async Task Run_listing_of_a_subdirectory_keeps_run_relative_paths_064(string version)
    {
        using var replay = Replay.Start(version, "064-artifacts-list-run-subdirectory", stubRun: false);

        var entries = await replay.Client.Artifacts.ListAsync(replay.RunId, "golden", cancellationToken: Ct).ToListAsync(Ct);

        replay.Exchange.AssertRequestMatches(Assert.Single(replay.Server.LogEntries));
        Assert.Equal(["golden/data.bin", "golden/hello.txt", "golden/sub"], entries.Select(e => e.Path));
        Assert.Equal([256L, 13L, null], entries.Select(e => e.FileSize));
        Assert.Equal([false, false, true], entries.Select(e => e.IsDirectory));
    }

    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public async Task Get_text_file_065(string version)
    {
        using var replay = Replay.Start(version, "065-mlflow-artifacts-get-text-file");

        var text = await replay.Client.Artifacts.ReadTextAsync(replay.RunId, "golden/hello.txt", Ct);

        replay.Exchange.AssertRequestMatches(replay.ArtifactRequest());
        Assert.Equal("hello golden\n", text);
    }

    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public async Task Download_of_the_text_file_lands_under_its_run_relative_path_065(string version)
    {
        using var replay = Replay.Start(version, "065-mlflow-artifacts-get-text-file");

        // Not recorded: the directory probe (a real server lists a file path as empty).
        ArtifactStubs.StubListing(replay.Server, ArtifactStubs.RunRoot + "/golden/hello.txt", "[]");
        using var temp = new TempDir();

        var local = await replay.Client.Artifacts.DownloadAsync(replay.RunId, "golden/hello.txt", temp.Path, Ct);

        Assert.Equal(temp.Combine("golden", "hello.txt"), local);
        Assert.Equal("hello golden\n", await File.ReadAllTextAsync(local, Ct));
        replay.Exchange.AssertRequestMatches(replay.Server.LogEntries.Single(e => e.RequestMessage.Method == "GET" && e.RequestMessage.Path.EndsWith("hello.txt", StringComparison.Ordinal)));
        Assert.Equal(["hello.txt"], Directory.EnumerateFiles(temp.Combine("golden")).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public async Task Get_binary_file_streams_the_bytes_066(string version)
    {
        using var replay = Replay.Start(version, "066-mlflow-artifacts-get-binary-file");

        await using var stream = await replay.Client.Artifacts.OpenReadAsync(replay.RunId, "golden/data.bin", Ct);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, Ct);

        replay.Exchange.AssertRequestMatches(replay.ArtifactRequest());
        Assert.Equal(replay.Exchange.ResponseBytes, copy.ToArray());
    }

    [Theory]
    [InlineData("3.11", HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST")]
    [InlineData("2.22", HttpStatusCode.InternalServerError, "INTERNAL_ERROR")]
    public async Task Get_missing_file_raises_the_recorded_error_067(string version, HttpStatusCode status, string code)
    {
        using var replay = Replay.Start(version, "067-mlflow-artifacts-get-missing-file");

        var ex = await Assert.ThrowsAsync<MlflowException>(() => replay.Client.Artifacts.OpenReadAsync(replay.RunId, "golden/no-such-file.txt", Ct));

        replay.Exchange.AssertRequestMatches(replay.ArtifactRequest());
        Assert.Equal(status, ex.StatusCode);
        Assert.Equal(code, ex.ErrorCode);
    }

    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public async Task Missing_file_download_leaves_nothing_behind_067(string version)
    {
        using var replay = Replay.Start(version, "067-mlflow-artifacts-get-missing-file");
        ArtifactStubs.StubListing(replay.Server, ArtifactStubs.RunRoot + "/golden/no-such-file.txt", "[]");
        using var temp = new TempDir();

        await Assert.ThrowsAsync<MlflowException>(() => replay.Client.Artifacts.DownloadAsync(replay.RunId, "golden/no-such-file.txt", temp.Path, Ct));

        Assert.Empty(Directory.EnumerateFiles(temp.Path, "*", SearchOption.AllDirectories));
    }

    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public async Task Delete_text_file_068(string version)
    {
        using var replay = Replay.Start(version, "068-mlflow-artifacts-delete-text-file");

        await replay.Client.Artifacts.DeleteAsync(replay.RunId, "golden/hello.txt", Ct);

        replay.Exchange.AssertRequestMatches(replay.ArtifactRequest());
    }

    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public async Task Put_with_dot_dot_is_refused_before_sending_070(string version)
    {
        using var replay = Replay.Start(version, "070-mlflow-artifacts-put-dot-dot-path");

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => replay.Client.Artifacts.LogTextAsync(replay.RunId, "escape\n", "../../../golden-escape.txt", Ct));

        Assert.Contains("'..'", ex.Message, StringComparison.Ordinal);
        Assert.Empty(replay.Server.LogEntries);
        AssertRecordedAnswerIsInvalidPath(replay.Exchange);
    }

    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public async Task Proxied_listing_with_dot_dot_is_refused_before_sending_071(string version)
    {
        using var replay = Replay.Start(version, "071-mlflow-artifacts-list-dot-dot-path");

        await Assert.ThrowsAsync<ArgumentException>(async () => await replay.Client.Artifacts.ListUriAsync(replay.ArtifactUri, "../../..", cancellationToken: Ct).ToListAsync(Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await replay.Client.Artifacts.ListUriAsync(replay.ArtifactUri + "/../../..", cancellationToken: Ct).ToListAsync(Ct));

        Assert.Empty(replay.Server.LogEntries);
        AssertRecordedAnswerIsInvalidPath(replay.Exchange);
    }

    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public async Task Run_listing_with_dot_dot_is_refused_before_sending_072(string version)
    {
        using var replay = Replay.Start(version, "072-artifacts-list-dot-dot-path", stubRun: false);

        await Assert.ThrowsAsync<ArgumentException>(async () => await replay.Client.Artifacts.ListAsync(replay.RunId, "../..", cancellationToken: Ct).ToListAsync(Ct));

        Assert.Empty(replay.Server.LogEntries);
        AssertRecordedAnswerIsInvalidPath(replay.Exchange);
    }

    private static void AssertRecordedAnswerIsInvalidPath(GoldenExchange exchange)
    {
        var error = MlflowErrors.FromResponse((HttpStatusCode)exchange.Status, exchange.ResponseJson!.ToJsonString());
        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.Equal(MlflowErrorCodes.InvalidParameterValue, error.ErrorCode);
        Assert.Equal("Invalid path", error.ServerMessage);
    }

    /// <summary>One artifact exchange stubbed together with the run it belongs to (023 runs/get of the same folder).</summary>
    private sealed class Replay : IDisposable
    {
        private Replay(WireMockServer server, MlflowClient client, GoldenExchange exchange, string runId)
        {
            Server = server;
            Client = client;
            Exchange = exchange;
            RunId = runId;
        }

        public WireMockServer Server { get; }

        public MlflowClient Client { get; }

        public GoldenExchange Exchange { get; }

        public string RunId { get; }

        public string ArtifactUri => $"mlflow-artifacts:/1/{RunId}/artifacts";

        public static Replay Start(string version, string name, bool stubRun = true)
        {
            var (server, client, exchange) = TestClients.Replay(version, name);
            var run = GoldenExchange.Load(version, RunGet);
            if (stubRun)
            {
                run.Stub(server);
            }

            return new Replay(server, client, exchange, (string)run.ResponseJson!["run"]!["info"]!["run_id"]!);
        }

        /// <summary>The one request that is not the runs/get lookup.</summary>
        public ILogEntry ArtifactRequest() =>
            Assert.Single(Server.LogEntries, e => !e.RequestMessage.Path.EndsWith("/runs/get", StringComparison.Ordinal));

        public void Dispose()
        {
            Client.Dispose();
            Server.Dispose();
        }
    }
}
