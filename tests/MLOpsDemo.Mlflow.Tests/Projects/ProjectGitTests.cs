using System.Diagnostics;
using MLOpsDemo.Mlflow.Projects;
using MLOpsDemo.Mlflow.Tests.TestSupport;
using static MLOpsDemo.Mlflow.Tests.Projects.FakeTrackingServer;

namespace MLOpsDemo.Mlflow.Tests.Projects;

/// <summary>Git URIs against a bare repository created in the test.</summary>
public sealed class ProjectGitTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mlproject-git-").FullName;
    private string _bare = "";
    private string _work = "";
    private string _v1Commit = "";
    private string _headCommit = "";

    public void Dispose()
    {
        foreach (var file in Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories))
        {
            File.SetAttributes(file, FileAttributes.Normal);
        }

        Directory.Delete(_root, recursive: true);
    }

    private static bool GitAvailable()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("git", "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    private static async Task<string> Git(string dir, params string[] args)
    {
        var psi = new ProcessStartInfo("git") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = await p.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = await p.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await p.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.True(p.ExitCode == 0, $"git {string.Join(' ', args)} failed: {stderr}");
        return stdout.Trim();
    }

    /// <summary>A bare repo with branch main (HEAD), tag v1 on the first commit and a 'dev' branch; the project lives in sub/proj.</summary>
    private async Task CreateRepositoryAsync()
    {
        Assert.SkipUnless(GitAvailable(), "git is not installed.");
        _bare = Path.Combine(_root, "repo.git");
        _work = Path.Combine(_root, "work");
        Directory.CreateDirectory(_bare);
        Directory.CreateDirectory(Path.Combine(_work, "sub", "proj"));
        await Git(_bare, "init", "--quiet", "--bare");
        await Git(_bare, "symbolic-ref", "HEAD", "refs/heads/main");
        await Git(_work, "init", "--quiet");
        File.WriteAllText(Path.Combine(_work, "sub", "proj", "MLproject"), "name: v1\nentry_points:\n  main:\n    parameters: {a: {default: one}}\n    command: 'echo version={a} && pwd'\n");
        await Git(_work, "add", "-A");
        await Git(_work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "one");
        await Git(_work, "tag", "v1");
        _v1Commit = await Git(_work, "rev-parse", "HEAD");
        File.WriteAllText(Path.Combine(_work, "sub", "proj", "MLproject"), "name: v2\nentry_points:\n  main:\n    parameters: {a: {default: two}}\n    command: 'echo version={a} && pwd'\n");
        await Git(_work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-am", "two");
        _headCommit = await Git(_work, "rev-parse", "HEAD");
        await Git(_work, "push", "--quiet", _bare, "HEAD:refs/heads/main", "HEAD~1:refs/heads/dev", "--tags");
    }

    private string RepoUri => new Uri(_bare).AbsoluteUri; // file:///…/repo.git

    [Fact]
    public async Task Default_branch_with_subdirectory()
    {
        await CreateRepositoryAsync();
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = "http://localhost:1" });

        var project = await client.Projects.LoadAsync(RepoUri + "#sub/proj", cancellationToken: TestContext.Current.CancellationToken);
        try
        {
            Assert.Equal("v2", project.Name);
            Assert.Equal(_headCommit, project.Source.GitCommit);
            Assert.Equal(RepoUri, project.Source.GitRepoUrl);
            Assert.Equal(RepoUri + "#sub/proj", project.Source.SourceName);
            Assert.Null(project.Source.GitBranch);
            Assert.StartsWith(project.Source.TemporaryDirectory!, project.Directory, StringComparison.Ordinal);
            Assert.Equal(Path.Combine(project.Source.TemporaryDirectory!, "sub", "proj"), project.Directory);
        }
        finally
        {
            Directory.Delete(project.Source.TemporaryDirectory!, recursive: true);
        }
    }

    [Theory]
    [InlineData("v1", "v1", null)]
    [InlineData("dev", "v1", "dev")]
    [InlineData("main", "v2", "main")]
    public async Task A_tag_or_branch_version_is_checked_out(string version, string expectedName, string? expectedBranch)
    {
        await CreateRepositoryAsync();
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = "http://localhost:1" });

        var project = await client.Projects.LoadAsync(RepoUri + "#sub/proj", version, TestContext.Current.CancellationToken);
        Directory.Delete(project.Source.TemporaryDirectory!, recursive: true);

        Assert.Equal(expectedName, project.Name);
        Assert.Equal(expectedBranch, project.Source.GitBranch);
    }

    [Fact]
    public async Task A_commit_version_runs_with_git_tags_and_the_clone_is_deleted_afterwards()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Uses bash.");
        await CreateRepositoryAsync();
        using var server = Start();
        using var client = TestClients.For(server);
        var lines = new List<string>();

        var result = await client.Projects.RunAsync(RepoUri + "#sub/proj", new()
        {
            Version = _v1Commit,
            ExperimentId = "5",
            WriteOutputToConsole = false,
            OutputReceived = l => { lock (lines) { lines.Add(l.Text); } },
        }, TestContext.Current.CancellationToken);

        Assert.Equal(RunStatus.Finished, result.Status);
        Assert.Equal("version=one", lines[0]);
        Assert.EndsWith(Path.Combine("sub", "proj"), lines[1], StringComparison.Ordinal);
        Assert.False(Directory.Exists(lines[1]), "The temporary clone should be deleted when the run ends.");
        var tags = Pairs(Calls(server)[0].Body!["tags"]);
        Assert.Equal(RepoUri + "#sub/proj", tags["mlflow.source.name"]);
        Assert.Equal(_v1Commit, tags["mlflow.source.git.commit"]);
        Assert.Equal(RepoUri, tags["mlflow.source.git.repoURL"]);
        Assert.Equal(RepoUri, tags["mlflow.gitRepoURL"]);
        Assert.False(tags.ContainsKey("mlflow.source.git.branch"));
    }

    [Fact]
    public async Task A_local_folder_inside_a_git_repository_is_tagged_as_file_uri_with_subdirectory()
    {
        await CreateRepositoryAsync();
        await Git(_work, "remote", "add", "origin", "https://example.com/org/repo.git");
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = "http://localhost:1" });

        var project = await client.Projects.LoadAsync(Path.Combine(_work, "sub", "proj"), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal($"file://{_work}#sub/proj", project.Source.SourceName);
        Assert.Equal(_headCommit, project.Source.GitCommit);
        Assert.Equal("https://example.com/org/repo.git", project.Source.GitRepoUrl);
        Assert.Null(project.Source.TemporaryDirectory);
        Assert.Equal($"file://{_work}", (await client.Projects.LoadAsync(_work, cancellationToken: TestContext.Current.CancellationToken)).Source.SourceName);
    }

    [Fact]
    public async Task Bad_versions_and_subdirectories_fail_clearly()
    {
        await CreateRepositoryAsync();
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = "http://localhost:1" });
        var ct = TestContext.Current.CancellationToken;

        var version = await Assert.ThrowsAsync<MlflowProjectException>(() => client.Projects.LoadAsync(RepoUri, "nope", ct));
        Assert.Contains("Unable to checkout version 'nope' of git repo", version.Message, StringComparison.Ordinal);
        var subdir = await Assert.ThrowsAsync<MlflowProjectException>(() => client.Projects.LoadAsync(RepoUri + "#missing", null, ct));
        Assert.Contains("Could not find subdirectory missing", subdir.Message, StringComparison.Ordinal);
        var dot = await Assert.ThrowsAsync<ArgumentException>(() => client.Projects.LoadAsync(RepoUri + "#../x", null, ct));
        Assert.Contains("'.' is not allowed in project subdirectory paths", dot.Message, StringComparison.Ordinal);
        var local = await Assert.ThrowsAsync<ArgumentException>(() => client.Projects.LoadAsync(_root, "v1", ct));
        Assert.Contains("Setting a version is only supported for Git project URIs", local.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_local_repository_with_a_version_is_cloned_not_changed()
    {
        await CreateRepositoryAsync();
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = "http://localhost:1" });

        var project = await client.Projects.LoadAsync(Path.Combine(_work, "sub", "proj"), "v1", TestContext.Current.CancellationToken);
        Directory.Delete(project.Source.TemporaryDirectory!, recursive: true);

        Assert.Equal("v1", project.Name);
        Assert.Equal(_v1Commit, project.Source.GitCommit);
        Assert.Equal(_headCommit, await Git(_work, "rev-parse", "HEAD"));
        // Without a remote MLflow adds the URI as given as 'origin' and records it (mlflow run <dir> -v v1).
        Assert.Equal(Path.Combine(_work, "sub", "proj"), project.Source.GitRepoUrl);
    }

    [Fact]
    public async Task A_local_repository_with_a_version_records_its_first_remote_and_its_work_tree_as_mlflow_run_does()
    {
        await CreateRepositoryAsync();
        // Config order, not name order: GitPython's repo.remotes[0] is 'upstream' here, `git remote` would list 'origin' first.
        await Git(_work, "remote", "add", "upstream", "https://example.com/org/repo.git");
        await Git(_work, "remote", "add", "origin", "https://example.com/fork/repo.git");
        await Git(_work, "branch", "dev", _v1Commit);
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = "http://localhost:1" });
        var ct = TestContext.Current.CancellationToken;

        var project = await client.Projects.LoadAsync(Path.Combine(_work, "sub", "proj"), "dev", ct);
        Directory.Delete(project.Source.TemporaryDirectory!, recursive: true);
        var inPlace = await client.Projects.LoadAsync(_work + "#sub/proj", null, ct);

        // mlflow run work/sub/proj -v dev --env-manager local (MLflow 3.11): source name file://<work tree>#sub/proj,
        // repoURL the first remote, branch dev.
        Assert.Equal(("v1", _v1Commit), (project.Name, project.Source.GitCommit));
        Assert.Equal($"file://{_work}#sub/proj", project.Source.SourceName);
        Assert.Equal("https://example.com/org/repo.git", project.Source.GitRepoUrl);
        Assert.Equal("dev", project.Source.GitBranch);
        Assert.Equal("https://example.com/org/repo.git", inPlace.Source.GitRepoUrl);
    }

    [Fact]
    public async Task A_local_work_tree_given_with_a_subdirectory_records_the_uri_as_given()
    {
        await CreateRepositoryAsync();
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = "http://localhost:1" });
        var ct = TestContext.Current.CancellationToken;
        var given = _work + "#sub/proj";

        var project = await client.Projects.LoadAsync(given, null, ct);
        var versioned = await client.Projects.LoadAsync(given, "v1", ct);
        Directory.Delete(versioned.Source.TemporaryDirectory!, recursive: true);

        // mlflow run '<dir>#sub' --env-manager local: '<dir>#sub' is no local path to MLflow, so the tag is the URI as given.
        Assert.Equal((given, Path.Combine(_work, "sub", "proj")), (project.Source.SourceName, project.Directory));
        Assert.Equal(_headCommit, project.Source.GitCommit);
        Assert.Equal(given, versioned.Source.SourceName);
        Assert.Equal(_v1Commit, versioned.Source.GitCommit);
    }
}
