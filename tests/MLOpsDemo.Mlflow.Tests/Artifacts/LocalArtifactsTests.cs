using System.Text;

namespace MLOpsDemo.Mlflow.Tests.Artifacts;

/// <summary>The local repository (<c>file://</c> URIs and plain paths): round trips under a temporary directory.</summary>
public sealed class LocalArtifactsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static MlflowClient NewClient() => new(new MlflowClientOptions { TrackingUri = "http://mlflow.test:5000", MaxRetries = 0 });

    private static void WriteSampleTree(TempDir source)
    {
        source.Write("MLmodel", "flavors: {}\n");
        source.Write("data/model.onnx", Enumerable.Range(0, 70_000).Select(i => (byte)i).ToArray());
        source.Write("data/nested/deeper/config.json", "{\"a\": 1}");
        source.Write("with space #1 ünï.txt", "unicode names survive");
        source.Write("empty.txt", "");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Directory_upload_list_and_download_round_trip(bool asFileUri)
    {
        using var source = new TempDir();
        using var store = new TempDir();
        using var destination = new TempDir();
        WriteSampleTree(source);
        var root = Path.Combine(store.Path, "1", "run", "artifacts");
        var uri = asFileUri ? new Uri(root).AbsoluteUri : root;
        using var client = NewClient();

        await client.Artifacts.UploadDirectoryAsync(uri, source.Path, Ct);
        var listed = await client.Artifacts.ListUriAsync(uri, recursive: true, cancellationToken: Ct).ToListAsync(Ct);
        var local = await client.Artifacts.DownloadUriAsync(uri, destination.Path, Ct);

        var written = TempDir.Snapshot(source.Path);
        Assert.Equal(written.Keys, TempDir.Snapshot(root).Keys);
        Assert.Equal(
            written.Select(kv => (kv.Key, (long?)kv.Value.Length)),
            listed.Where(e => !e.IsDirectory).Select(e => (e.Path, e.FileSize)).OrderBy(e => e.Path, StringComparer.Ordinal));
        Assert.Equal(["data", "data/nested", "data/nested/deeper"], listed.Where(e => e.IsDirectory).Select(e => e.Path));
        Assert.Equal(Path.Combine(destination.Path, "artifacts"), local);
        var downloaded = TempDir.Snapshot(local);
        Assert.Equal(written.Keys, downloaded.Keys);
        Assert.All(written, kv => Assert.Equal(kv.Value, downloaded[kv.Key]));
        Assert.Empty(Directory.EnumerateFiles(local, "*.partial", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Listing_a_subdirectory_gives_root_relative_paths_sorted()
    {
        using var store = new TempDir();
        store.Write("golden/sub/nested.txt", "nested\n");
        store.Write("golden/hello.txt", "hello golden\n");
        store.Write("golden/data.bin", new byte[256]);
        using var client = NewClient();

        var entries = await client.Artifacts.ListUriAsync(store.Path, "golden", cancellationToken: Ct).ToListAsync(Ct);

        Assert.Equal(["golden/data.bin", "golden/hello.txt", "golden/sub"], entries.Select(e => e.Path));
        Assert.Equal([256L, 13L, null], entries.Select(e => e.FileSize));
    }

    [Fact]
    public async Task A_single_file_uri_downloads_as_that_file_and_overwrites_an_older_copy()
    {
        using var store = new TempDir();
        using var destination = new TempDir();
        var file = store.Write("model/MLmodel", "new content");
        destination.Write("MLmodel", "old content that is longer");
        using var client = NewClient();

        var local = await client.Artifacts.DownloadUriAsync(new Uri(file).AbsoluteUri, destination.Path, Ct);

        Assert.Equal(Path.Combine(destination.Path, "MLmodel"), local);
        Assert.Equal("new content", await File.ReadAllTextAsync(local, Ct));
        Assert.Single(Directory.EnumerateFileSystemEntries(destination.Path));
    }

    [Fact]
    public async Task Open_read_and_missing_files()
    {
        using var store = new TempDir();
        var file = store.Write("a.txt", "content");
        using var client = NewClient();

        await using (var stream = await client.Artifacts.OpenReadUriAsync(new Uri(file).AbsoluteUri, Ct))
        {
            using var reader = new StreamReader(stream, Encoding.UTF8);
            Assert.Equal("content", await reader.ReadToEndAsync(Ct));
        }

        var ex = await Assert.ThrowsAsync<MlflowException>(() => client.Artifacts.OpenReadUriAsync(store.Combine("missing.txt"), Ct));
        Assert.Equal(MlflowErrorCodes.ResourceDoesNotExist, ex.ErrorCode);
    }

    [Fact]
    public async Task Upload_reports_progress_per_file_and_overall()
    {
        using var source = new TempDir();
        using var store = new TempDir();
        source.Write("a.bin", new byte[3 * 1024 * 1024]);
        source.Write("b.txt", "bee");
        var reports = new SyncProgress();
        using var client = NewClient();

        await client.Artifacts.UploadDirectoryAsync(store.Path, source.Path, new ArtifactTransferOptions { Progress = reports, MaxParallelism = 1 }, Ct);

        var completed = reports.Items.Where(r => r.FileCompleted).ToList();
        Assert.Equal(["a.bin", "b.txt"], completed.Select(r => r.ArtifactPath).Order(StringComparer.Ordinal));
        Assert.All(completed, r => Assert.Equal(r.FileTotalBytes, r.FileBytesTransferred));
        var last = completed[^1];
        Assert.Equal(2, last.FilesCompleted);
        Assert.Equal(3 * 1024 * 1024 + 3, last.TotalBytes);
        Assert.Equal(last.TotalBytes, last.BytesTransferred);
        Assert.Contains(reports.Items, r => !r.FileCompleted && r.FileBytesTransferred > 0 && r.FileBytesTransferred < r.FileTotalBytes);
    }

    [Fact]
    public async Task Run_operations_need_a_store_and_uris_with_dot_dot_are_refused()
    {
        using var client = NewClient();
        using var temp = new TempDir();

        await Assert.ThrowsAsync<ArgumentException>(() => client.Artifacts.DownloadUriAsync(temp.Path + "/a/../../etc", temp.Path, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => client.Artifacts.DownloadUriAsync("file:///tmp/a/../../etc", temp.Path, Ct));
        await Assert.ThrowsAsync<NotSupportedException>(() => client.Artifacts.DownloadUriAsync("runs:/abc/model", temp.Path, Ct));
    }

    [Fact]
    public async Task Directory_links_in_an_uploaded_tree_are_not_followed()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Creating symbolic links needs extra privileges on Windows.");
        using var source = new TempDir();
        using var outside = new TempDir();
        using var store = new TempDir();
        source.Write("keep.txt", "k");
        outside.Write("secret.txt", "s");
        Directory.CreateSymbolicLink(source.Combine("linked"), outside.Path);
        using var client = NewClient();

        await client.Artifacts.UploadDirectoryAsync(store.Path, source.Path, Ct);

        Assert.Equal(["keep.txt"], TempDir.Snapshot(store.Path).Keys);
    }
}
