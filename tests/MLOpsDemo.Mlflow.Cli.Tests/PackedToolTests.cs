using System.Diagnostics;
using System.Text.Json.Nodes;
using MLOpsDemo.Mlflow.TestSupport;

namespace MLOpsDemo.Mlflow.Cli.Tests;

/// <summary>
/// The packed tool as a user gets it: the package from <c>artifacts/packages</c> (what <c>.ci/run</c> packs) or, on a
/// fresh clone, packed by the test into a temporary folder; installed with <c>dotnet tool install --tool-path</c>; the
/// <c>dotnet-mlflow</c> binary run as a process.
/// </summary>
public class PackedToolTests
{
    private const string PackageId = "MLOpsDemo.Mlflow.Cli";

    [Fact]
    public async Task Installed_tool_lists_its_commands_tracks_a_run_and_returns_documented_exit_codes()
    {
        var ct = TestContext.Current.CancellationToken;
        var repository = FindRepository();
        Assert.SkipWhen(repository is null, "The repository (MLOpsDemo.sln) is not above the test binaries; the tool project cannot be packed.");
        var dotnet = FindDotnet();
        Assert.SkipWhen(dotnet is null, "The dotnet host was not found (DOTNET_HOST_PATH, DOTNET_ROOT or PATH); the tool cannot be installed.");

        var work = Directory.CreateTempSubdirectory("mlflow-cli-tool-").FullName;
        try
        {
            var packages = Path.Combine(repository, "artifacts", "packages");
            var package = FindPackage(packages);
            if (package is not null && File.GetLastWriteTimeUtc(package) < NewestSource(repository))
            {
                package = null; // Packed before the last source change (a developer's old artifacts folder): pack afresh.
            }

            if (package is null)
            {
                packages = Path.Combine(work, "packages");
                var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
                var packed = await RunAsync(dotnet, work, ct, "pack", Path.Combine(repository, "src", PackageId, PackageId + ".csproj"), "-c", configuration, "-o", packages, "--nologo");
                Assert.True(packed.ExitCode == 0, $"dotnet pack failed:\n{packed.StandardOutput}\n{packed.StandardError}");
                package = FindPackage(packages);
            }

            Assert.NotNull(package);
            var version = Path.GetFileNameWithoutExtension(package)[(PackageId.Length + 1)..];
            var tools = Path.Combine(work, "tools");
            // A private NuGet cache: a package of the same version installed earlier must not stand in for this one.
            var installed = await RunAsync(dotnet, work, ct, "tool", "install", PackageId, "--tool-path", tools, "--add-source", packages, "--version", version, "--ignore-failed-sources");
            Assert.True(installed.ExitCode == 0, $"dotnet tool install failed:\n{installed.StandardOutput}\n{installed.StandardError}");
            var tool = Path.Combine(tools, OperatingSystem.IsWindows() ? "dotnet-mlflow.exe" : "dotnet-mlflow");
            Assert.True(File.Exists(tool), $"{tool} was not installed.");

            var help = await RunAsync(tool, work, ct, "--help");
            Assert.True(help.ExitCode == 0, $"dotnet-mlflow --help: exit {help.ExitCode}\n{help.StandardOutput}\n{help.StandardError}");
            foreach (var command in new[] { "experiments", "runs", "artifacts", "models", "projects", "sync", "report" })
            {
                Assert.Contains(command, help.StandardOutput, StringComparison.Ordinal);
            }

            // With no --tracking-uri and no MLFLOW_TRACKING_URI the tool uses ./mlflow.db, like the library.
            var runId = (await RunAsync(tool, work, ct, "runs", "create", "--experiment-name", "packed-tool", "--name", "smoke")).EnsureSuccess().LastLine;
            Assert.True(File.Exists(Path.Combine(work, "mlflow.db")));
            (await RunAsync(tool, work, ct, "runs", "log", runId, "--metric", "accuracy=0.91")).EnsureSuccess();
            (await RunAsync(tool, work, ct, "runs", "end", runId)).EnsureSuccess();
            var shown = JsonNode.Parse((await RunAsync(tool, work, ct, "runs", "show", runId, "--output", "json")).EnsureSuccess().StandardOutput)!;
            Assert.Equal("FINISHED", shown["status"]!.GetValue<string>());
            Assert.Equal(0.91, shown["metrics"]!["accuracy"]!.GetValue<double>());

            Assert.Equal(2, (await RunAsync(tool, work, ct, "runs", "list", "--bogus")).ExitCode);
            Assert.Equal(4, (await RunAsync(tool, work, ct, "runs", "show", "0123456789abcdef0123456789abcdef")).ExitCode);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static string? FindPackage(string folder) =>
        Directory.Exists(folder)
            ? Directory.GetFiles(folder, PackageId + ".*.nupkg")
                .Where(f => char.IsAsciiDigit(Path.GetFileName(f)[PackageId.Length + 1]) && !f.EndsWith(".snupkg", StringComparison.Ordinal))
                .OrderByDescending(File.GetLastWriteTimeUtc)
                .FirstOrDefault()
            : null;

    private static DateTime NewestSource(string repository) =>
        new[] { PackageId, "MLOpsDemo.Mlflow" }
            .SelectMany(p => Directory.EnumerateFiles(Path.Combine(repository, "src", p), "*.cs*", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal) && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Max(File.GetLastWriteTimeUtc);

    private static string? FindRepository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MLOpsDemo.sln")) && Directory.Exists(Path.Combine(dir.FullName, "src", PackageId)))
            {
                return dir.FullName;
            }
        }

        return null;
    }

    private static string? FindDotnet()
    {
        var name = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        var candidates = new List<string?>
        {
            Environment.GetEnvironmentVariable("DOTNET_HOST_PATH"),
            Environment.GetEnvironmentVariable("DOTNET_ROOT") is { } root ? Path.Combine(root, name) : null,
        };
        candidates.AddRange((Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Select(p => Path.Combine(p, name)));
        var found = candidates.FirstOrDefault(c => !string.IsNullOrEmpty(c) && File.Exists(c));

        // /usr/bin/dotnet is usually a link into the installation folder, which is what DOTNET_ROOT must name.
        return found is null ? null : new FileInfo(found).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? Path.GetFullPath(found);
    }

    private static Task<ProcessResult> RunAsync(string fileName, string workingDirectory, CancellationToken cancellationToken, params string[] args)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // A user's shell: no inherited tracking URI or CI settings from the test run; the tool finds the runtime of the host that runs the tests.
        start.Environment.Remove("MLFLOW_TRACKING_URI");
        start.Environment["CI"] = "true";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["NUGET_PACKAGES"] = Path.Combine(workingDirectory, "nuget-packages");
        if (FindDotnet() is { } dotnet)
        {
            start.Environment["DOTNET_ROOT"] = Path.GetDirectoryName(Path.GetFullPath(dotnet));
        }

        return ProcessRunner.RunAsync(start, standardInput: null, cancellationToken);
    }
}
