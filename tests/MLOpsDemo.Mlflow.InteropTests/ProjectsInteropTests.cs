using System.Diagnostics;
using System.Text.Json;
using MLOpsDemo.Mlflow.Projects;
using MLOpsDemo.Mlflow.TestSupport;

namespace MLOpsDemo.Mlflow.InteropTests;

/// <summary>
/// The library's project runs next to Python's <c>mlflow.projects.run(..., env_manager="local")</c> on the same real
/// MLflow 3.11 server and the same git working copy: the source and git tags must be the same. Skipped, naming the
/// variable, where the server, Python MLflow or git is missing.
/// </summary>
public sealed class ProjectsInteropTests : IDisposable
{
    private static readonly string[] s_sourceTags =
        ["mlflow.source.name", "mlflow.source.type", "mlflow.source.git.commit", "mlflow.source.git.repoURL", "mlflow.source.git.branch"];

    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("interop-proj-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        foreach (var file in _work.EnumerateFiles("*", SearchOption.AllDirectories))
        {
            file.Attributes = FileAttributes.Normal; // git's read-only object files
        }

        _work.Delete(recursive: true);
    }

    [Fact]
    public async Task A_working_copy_with_a_subdirectory_and_with_a_version_gets_the_source_tags_mlflow_run_writes()
    {
        var url = RealMlflow.SkipUnlessServer(3);
        var python = RealMlflow.SkipUnlessPython(3);
        var repo = await CreateRepositoryAsync();
        var name = $"interop-projects-{Guid.NewGuid():N}";

        var answer = await PythonJson.RunAsync(python, """
            import json, sys, mlflow
            from mlflow import MlflowClient
            url, repo, exp, keys = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")
            mlflow.set_tracking_uri(url)
            runs = [mlflow.projects.run(repo + "#sub", env_manager="local", experiment_name=exp),
                    mlflow.projects.run(repo, version="main", env_manager="local", experiment_name=exp)]
            c = MlflowClient(url)
            print(json.dumps([{k: c.get_run(r.run_id).data.tags.get(k) for k in keys} for r in runs]))
            """, url, repo, name + "-py", string.Join(",", s_sourceTags));

        using var client = new MlflowClient(url);
        var ours = new List<Dictionary<string, string?>>();
        foreach (var (uri, version) in new[] { (repo + "#sub", (string?)null), (repo, "main") })
        {
            var result = await client.Projects.RunAsync(uri, new ProjectRunOptions { Version = version, ExperimentName = name + "-net", WriteOutputToConsole = false }, Ct);
            Assert.True(result.Succeeded, result.FailureReason);
            var tags = (await client.Runs.GetAsync(result.RunId, Ct)).Data.Tags;
            ours.Add(s_sourceTags.ToDictionary(k => k, k => tags.TryGetValue(k, out var v) ? v : null));
        }

        var theirs = answer.EnumerateArray().Select(r => s_sourceTags.ToDictionary(k => k, k => r.GetProperty(k).ValueKind == JsonValueKind.Null ? null : r.GetProperty(k).GetString())).ToList();
        Assert.Equal(theirs, ours);
        Assert.Equal(repo + "#sub", ours[0]["mlflow.source.name"]); // the URI as given
        Assert.Equal(Path.Combine(_work.FullName, "bare.git"), ours[1]["mlflow.source.git.repoURL"]); // the working copy's first remote
    }

    /// <summary>A working copy on branch main with an MLproject at the root and in sub/, pushed to a bare 'origin'.</summary>
    private async Task<string> CreateRepositoryAsync()
    {
        Assert.SkipUnless(await GitAsync(_work.FullName, "--version") is not null, "git is not installed.");
        var repo = Directory.CreateDirectory(Path.Combine(_work.FullName, "repo")).FullName;
        var bare = Path.Combine(_work.FullName, "bare.git");
        Directory.CreateDirectory(Path.Combine(repo, "sub"));
        const string Project = "name: p\nentry_points:\n  main:\n    command: \"echo ran\"\n";
        await File.WriteAllTextAsync(Path.Combine(repo, "MLproject"), Project, Ct);
        await File.WriteAllTextAsync(Path.Combine(repo, "sub", "MLproject"), Project, Ct);
        foreach (var args in new[]
        {
            new[] { "init", "--quiet", "-b", "main" },
            ["add", "-A"],
            ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "init"],
            ["init", "--quiet", "--bare", bare],
            ["remote", "add", "origin", bare],
            ["push", "--quiet", "origin", "main"],
            ["remote", "add", "second", "https://example.com/second.git"],
        })
        {
            Assert.NotNull(await GitAsync(repo, args));
        }

        return repo;
    }

    private static async Task<string?> GitAsync(string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync(Ct);
            var error = process.StandardError.ReadToEndAsync(Ct);
            await process.WaitForExitAsync(Ct);
            return process.ExitCode == 0 ? await output : throw new InvalidOperationException($"git {string.Join(' ', arguments)} failed: {await error}");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
