using MLOpsDemo.Mlflow.Fluent;

namespace MLOpsDemo.Mlflow.Tests.Fluent;

public sealed class RunContextTests : IDisposable
{
    private const string Sha1 = "0123456789abcdef0123456789abcdef01234567";
    private const string Sha2 = "89abcdef0123456789abcdef0123456789abcdef";
    private readonly string _root = Directory.CreateTempSubdirectory("fluent-git-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string MakeRepo(string head, bool packed)
    {
        var repo = Path.Combine(_root, "repo");
        var git = Path.Combine(repo, ".git");
        Directory.CreateDirectory(Path.Combine(git, "refs", "heads"));
        File.WriteAllText(Path.Combine(git, "HEAD"), head + "\n");
        if (packed)
        {
            File.WriteAllText(Path.Combine(git, "packed-refs"), $"# pack-refs with: peeled fully-peeled sorted\n{Sha2} refs/heads/other\n{Sha1} refs/heads/main\n^{Sha2}\n");
        }
        else
        {
            File.WriteAllText(Path.Combine(git, "refs", "heads", "main"), Sha1 + "\n");
        }

        File.WriteAllText(Path.Combine(git, "config"), "[core]\n\tbare = false\n[remote \"upstream\"]\n\turl = https://example.com/other.git\n[remote \"origin\"]\n\turl = https://user:s3cret@example.com/team/repo.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n");
        var source = Path.Combine(repo, "src", "bin");
        Directory.CreateDirectory(source);
        return source;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Git_info_is_read_from_loose_or_packed_refs_without_credentials(bool packed)
    {
        var info = GitInfo.Find(MakeRepo("ref: refs/heads/main", packed));

        Assert.NotNull(info);
        Assert.Equal(Sha1, info.Commit);
        Assert.Equal("main", info.Branch);
        Assert.Equal("https://example.com/team/repo.git", info.RepoUrl);
    }

    [Fact]
    public void A_detached_head_has_a_commit_and_no_branch_and_a_linked_worktree_is_followed()
    {
        var detached = GitInfo.Find(MakeRepo(Sha2, packed: false));
        Assert.Equal((Sha2, (string?)null), (detached!.Commit, detached.Branch));

        // A linked work tree: .git is a file pointing at .git/worktrees/<name>, whose commondir is the main .git.
        var mainGit = Path.Combine(_root, "repo", ".git");
        var wtGit = Path.Combine(mainGit, "worktrees", "feature");
        Directory.CreateDirectory(wtGit);
        File.WriteAllText(Path.Combine(wtGit, "HEAD"), "ref: refs/heads/main\n");
        File.WriteAllText(Path.Combine(wtGit, "commondir"), "../..\n");
        var worktree = Path.Combine(_root, "feature");
        Directory.CreateDirectory(worktree);
        File.WriteAllText(Path.Combine(worktree, ".git"), $"gitdir: {wtGit}\n");

        var linked = GitInfo.Find(worktree);
        Assert.Equal((Sha1, "main", "https://example.com/team/repo.git"), (linked!.Commit, linked.Branch, linked.RepoUrl));
    }

    [Fact]
    public void Outside_a_work_tree_there_is_no_git_info()
    {
        var plain = Directory.CreateDirectory(Path.Combine(_root, "plain")).FullName;
        for (var dir = new DirectoryInfo(_root); dir is not null; dir = dir.Parent)
        {
            Assert.SkipWhen(Path.Exists(Path.Combine(dir.FullName, ".git")), $"The temp folder is inside a git work tree ({dir.FullName}).");
        }

        Assert.Null(GitInfo.Find(plain));
    }

    [Fact]
    public async Task A_new_run_gets_MLflows_system_tags_and_run_context_tags_that_user_tags_override()
    {
        using var server = new FakeMlflowServer();
        using var client = server.CreateClient(
            o => o.Username = "alice",
            new Dictionary<string, string> { ["MLFLOW_RUN_CONTEXT"] = "{\"team\": \"vision\", \"priority\": 2, \"owner\": \"ctx\"}" });
        client.SourceNameOverride = "/app/train.dll";
        client.SourceDirectoryOverride = MakeRepo("ref: refs/heads/main", packed: true);

        await using var run = await client.StartRunAsync(new StartRunOptions { RunName = "tagged", Tags = new Dictionary<string, string> { ["owner"] = "me" } }, Ct);

        var tags = server.TagsOf(run.RunId);
        Assert.Equal("alice", tags["mlflow.user"]);
        Assert.Equal("/app/train.dll", tags["mlflow.source.name"]);
        Assert.Equal("LOCAL", tags["mlflow.source.type"]);
        Assert.Equal(Sha1, tags["mlflow.source.git.commit"]);
        Assert.Equal("main", tags["mlflow.source.git.branch"]);
        Assert.Equal("https://example.com/team/repo.git", tags["mlflow.source.git.repoURL"]);
        Assert.Equal("tagged", tags["mlflow.runName"]);
        Assert.Equal("vision", tags["team"]);
        Assert.Equal("2", tags["priority"]);
        Assert.Equal("me", tags["owner"]);
        Assert.Equal("alice", (string)server.Runs[run.RunId]["info"]!["user_id"]!);
    }

    [Fact]
    public async Task Default_system_tags_use_the_os_user_and_the_entry_point()
    {
        using var server = new FakeMlflowServer();
        using var client = server.CreateClient();
        await using var run = await client.StartRunAsync(cancellationToken: Ct);
        var tags = server.TagsOf(run.RunId);
        Assert.Equal(Environment.UserName, tags["mlflow.user"]);
        Assert.Equal(Environment.GetCommandLineArgs()[0], tags["mlflow.source.name"]);
        Assert.Equal("LOCAL", tags["mlflow.source.type"]);
    }

    [Theory]
    [InlineData("[1, 2]")]
    [InlineData("{not json")]
    public async Task An_invalid_MLFLOW_RUN_CONTEXT_is_refused_with_the_variable_name(string value)
    {
        using var server = new FakeMlflowServer();
        using var client = server.CreateClient(environment: new Dictionary<string, string> { ["MLFLOW_RUN_CONTEXT"] = value });
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => client.StartRunAsync(cancellationToken: Ct));
        Assert.Contains("MLFLOW_RUN_CONTEXT", ex.Message, StringComparison.Ordinal);
    }
}
