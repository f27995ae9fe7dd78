using MLOpsDemo.Mlflow.Projects;
using MLOpsDemo.Mlflow.Tests.Sqlite;

namespace MLOpsDemo.Mlflow.Tests.Projects;

/// <summary>
/// End to end on the embedded store: the parent (ProjectsClient) and the .NET child program of samples/Projects log
/// into the same run of one mlflow.db, from two processes.
/// </summary>
public class ProjectSqliteEndToEndTests
{
    [Fact]
    public async Task Parent_and_dotnet_child_log_into_the_same_run_of_one_sqlite_database()
    {
        var childDll = FindSampleChild();
        Assert.SkipWhen(childDll is null, "samples/Projects has not been built (build MLOpsDemo.sln first); the child program is needed.");
        Assert.SkipUnless(File.Exists("/bin/bash") || OperatingSystem.IsWindows(), "The local backend needs /bin/bash.");
        var ct = TestContext.Current.CancellationToken;
        using var folder = new TempFolder();
        var project = Path.Combine(folder.Path, "project");
        Directory.CreateDirectory(project);
        await File.WriteAllTextAsync(Path.Combine(project, "MLproject"), $$"""
            name: dotnet-child
            entry_points:
              main:
                parameters:
                  alpha: {type: float, default: 0.5}
                  epochs: {type: int, default: 3}
                command: "dotnet '{{childDll}}' --alpha {alpha} --epochs {epochs}"
            """, ct);
        using var client = folder.Client();
        var experimentId = await client.Experiments.CreateAsync("projects-e2e", artifactLocation: Path.Combine(folder.Path, "store"), cancellationToken: ct);
        var output = new List<string>();

        var result = await client.Projects.RunAsync(project, new ProjectRunOptions
        {
            ExperimentId = experimentId,
            Parameters = new Dictionary<string, string> { ["epochs"] = "4" },
            WriteOutputToConsole = false,
            OutputReceived = line => { lock (output) { output.Add(line.Text); } },
        }, ct);

        Assert.True(result.Succeeded, $"exit {result.ExitCode}: {string.Join("\n", output)}");
        var run = await client.Runs.GetAsync(result.RunId, ct);
        Assert.Equal(RunStatus.Finished, run.Info.Status);
        Assert.Equal("PROJECT", run.Data.Tags["mlflow.source.type"]);
        Assert.Equal("main", run.Data.Tags["mlflow.project.entryPoint"]);
        Assert.Equal("4", run.Data.Params["epochs"]);
        Assert.Equal("0.5", run.Data.Params["alpha"]);
        Assert.Equal(".NET child process", run.Data.Tags["trained.by"]); // written by the child
        var history = new List<Metric>();
        await foreach (var point in client.Runs.GetMetricHistoryAsync(result.RunId, "loss", cancellationToken: ct))
        {
            history.Add(point);
        }

        Assert.Equal([0L, 1L, 2L, 3L], history.Select(m => m.Step).Order());
        Assert.Contains(output, line => line.Contains(result.RunId, StringComparison.Ordinal));
    }

    /// <summary>The child program built with the solution (any configuration), or null.</summary>
    private static string? FindSampleChild()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MLOpsDemo.sln")))
        {
            dir = dir.Parent;
        }

        var bin = dir is null ? null : Path.Combine(dir.FullName, "samples", "Projects", "bin");
        if (bin is null || !Directory.Exists(bin))
        {
            return null;
        }

        return Directory.EnumerateFiles(bin, "ProjectsSample.dll", SearchOption.AllDirectories)
            .Where(p => p.Contains("net10.0", StringComparison.Ordinal) && !p.Contains(Path.DirectorySeparatorChar + "obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .OrderByDescending(File.GetLastWriteTimeUtc)
            .FirstOrDefault();
    }
}
