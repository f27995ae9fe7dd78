using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using MLOpsDemo.Mlflow.Projects;
using MLOpsDemo.Mlflow.Tests.TestSupport;
using static MLOpsDemo.Mlflow.Tests.Projects.FakeTrackingServer;

namespace MLOpsDemo.Mlflow.Tests.Projects;

public sealed class ProjectRunnerTests
{
    private const string MlProjectText = """
        name: runner-test
        entry_points:
          main:
            parameters:
              x: {type: string, default: "a b"}
              n: {type: int, default: 3}
            command: "bash main.sh {x} {n}"
          fail:
            command: "echo oops >&2; exit 3"
          hang:
            command: "echo $$ > shell.pid; sleep 300 & echo $! > child.pid; echo started; wait"
        """;

    private const string MainScript = """
        echo "RUN_ID=$MLFLOW_RUN_ID"
        echo "URI=$MLFLOW_TRACKING_URI"
        echo "EXP=$MLFLOW_EXPERIMENT_ID"
        echo "TOKEN=${MLFLOW_TRACKING_TOKEN:-none}"
        echo "EXTRA=${EXTRA_VAR:-none}"
        echo "ARGS=$1|$2|$3|$4"
        echo "PWD=$(pwd)"
        echo "to stderr" >&2
        """;

    private static void RequireBash() => Assert.SkipUnless(File.Exists("/bin/bash") && !OperatingSystem.IsWindows(), "These tests run bash scripts; /bin/bash is not available.");

    [Fact]
    public async Task A_successful_command_finishes_the_run_with_mlflow_run_tags_params_and_environment()
    {
        RequireBash();
        using var project = new TempProject(MlProjectText, ("main.sh", MainScript));
        using var server = Start();
        using var client = TestClients.For(server, o => o.Token = "s3cr3t-token");
        var lines = new ConcurrentQueue<ProjectOutputLine>();
        var logger = new ListLogger();

        var result = await client.Projects.RunAsync(project.Directory, new ProjectRunOptions
        {
            ExperimentId = "5",
            Parameters = new Dictionary<string, string> { ["x"] = "hello world", ["extra"] = "e 1" },
            EnvironmentVariables = new Dictionary<string, string> { ["EXTRA_VAR"] = "yes" },
            WriteOutputToConsole = false,
            OutputReceived = lines.Enqueue,
            Logger = logger,
        }, TestContext.Current.CancellationToken);

        Assert.Equal((RunStatus.Finished, 0, RunId, "5"), (result.Status, result.ExitCode, result.RunId, result.ExperimentId));
        Assert.Equal("bash main.sh 'hello world' 3 --extra 'e 1'", result.Command);
        var stdout = lines.Where(l => !l.IsError).Select(l => l.Text).ToList();
        Assert.Equal(
            [$"RUN_ID={RunId}", $"URI={server.Url}", "EXP=5", "TOKEN=s3cr3t-token", "EXTRA=yes", "ARGS=hello world|3|--extra|e 1", $"PWD={project.Directory}"],
            stdout);
        Assert.Equal([new ProjectOutputLine("to stderr", true)], lines.Where(l => l.IsError));

        var calls = Calls(server);
        Assert.Equal(["/api/2.0/mlflow/runs/create", "/api/2.0/mlflow/runs/log-batch", "/api/2.0/mlflow/runs/set-tag", "/api/2.0/mlflow/runs/update"], calls.Select(c => c.Path));
        var create = calls[0].Body!;
        Assert.Equal("5", (string?)create["experiment_id"]);
        Assert.Equal(Environment.UserName, (string?)create["user_id"]);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["mlflow.user"] = Environment.UserName,
                ["mlflow.source.name"] = project.Directory,
                ["mlflow.source.type"] = "PROJECT",
                ["mlflow.project.entryPoint"] = "main",
            },
            Pairs(create["tags"]));
        Assert.Equal([new("x", "'hello world'"), new("n", "3"), new KeyValuePair<string, string>("extra", "'e 1'")], OrderedPairs(calls[1].Body!["params"]));
        Assert.Equal(("mlflow.project.backend", "local"), ((string?)calls[2].Body!["key"], (string?)calls[2].Body!["value"]));
        Assert.Equal(RunId, (string?)calls[3].Body!["run_id"]);
        Assert.Equal("FINISHED", (string?)calls[3].Body!["status"]);
        Assert.NotNull(calls[3].Body!["end_time"]);

        Assert.Contains(logger.Messages, m => m.Level == LogLevel.Information && m.Message == "EXP=5");
        Assert.Contains(logger.Messages, m => m.Level == LogLevel.Warning && m.Message == "to stderr");
        Assert.Contains("=== Running command 'bash main.sh 'hello world' 3 --extra 'e 1'' in run with ID", logger.All, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t-token", string.Join("\n", logger.Messages.Where(m => !m.Message.StartsWith("TOKEN=", StringComparison.Ordinal)).Select(m => m.Message)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_non_zero_exit_code_fails_the_run()
    {
        RequireBash();
        using var project = new TempProject(MlProjectText, ("main.sh", MainScript));
        using var server = Start();
        using var client = TestClients.For(server);
        var lines = new ConcurrentQueue<ProjectOutputLine>();

        var result = await client.Projects.RunAsync(project.Directory, new() { EntryPoint = "fail", ExperimentId = "5", WriteOutputToConsole = false, OutputReceived = lines.Enqueue }, TestContext.Current.CancellationToken);

        Assert.Equal((RunStatus.Failed, 3), (result.Status, result.ExitCode));
        Assert.False(result.Succeeded);
        Assert.Equal([new ProjectOutputLine("oops", true)], lines);
        var calls = Calls(server);
        Assert.Equal("FAILED", (string?)calls[^1].Body!["status"]);
        Assert.Equal("fail", Pairs(calls[0].Body!["tags"])["mlflow.project.entryPoint"]);
        Assert.DoesNotContain(calls, c => c.Path.EndsWith("log-batch", StringComparison.Ordinal)); // no params to log
    }

    [Fact]
    public async Task CancelAsync_kills_the_process_tree_and_ends_the_run_killed()
    {
        RequireBash();
        using var project = new TempProject(MlProjectText);
        using var server = Start();
        using var client = TestClients.For(server);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var submitted = await client.Projects.SubmitAsync(project.Directory, new()
        {
            EntryPoint = "hang",
            ExperimentId = "5",
            WriteOutputToConsole = false,
            OutputReceived = l => { if (l.Text == "started") { started.TrySetResult(); } },
        }, TestContext.Current.CancellationToken);
        Assert.Equal(RunStatus.Running, submitted.Status);
        Assert.Equal(RunId, submitted.RunId);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        var childPid = int.Parse(File.ReadAllText(project.PathOf("child.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);

        var result = await submitted.CancelAsync(TestContext.Current.CancellationToken);

        Assert.Equal((RunStatus.Killed, (int?)null), (result.Status, result.ExitCode));
        Assert.Equal(RunStatus.Killed, submitted.Status);
        Assert.Equal("KILLED", (string?)Calls(server)[^1].Body!["status"]);
        Assert.True(await ExitsAsync(childPid), $"The grandchild 'sleep' (pid {childPid}) survived the cancellation.");
        var again = await submitted.CancelAsync(TestContext.Current.CancellationToken);
        Assert.Equal(RunStatus.Killed, again.Status);
        Assert.Single(server.LogEntries, e => e.RequestMessage.Path.EndsWith("runs/update", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cancelling_RunAsync_kills_the_command_and_throws()
    {
        RequireBash();
        using var project = new TempProject(MlProjectText);
        using var server = Start();
        using var client = TestClients.For(server);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);

        var run = client.Projects.RunAsync(project.Directory, new()
        {
            EntryPoint = "hang",
            ExperimentId = "5",
            WriteOutputToConsole = false,
            OutputReceived = l => { if (l.Text == "started") { cts.Cancel(); } },
        }, cts.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal("KILLED", (string?)Calls(server)[^1].Body!["status"]);
        var shellPid = int.Parse(File.ReadAllText(project.PathOf("shell.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(await ExitsAsync(shellPid));
    }

    [Fact]
    public async Task Invalid_parameters_fail_before_any_request()
    {
        using var project = new TempProject("entry_points: {main: {parameters: {alpha: float}, command: 'echo {alpha}'}}");
        using var server = Start();
        using var client = TestClients.For(server);

        var missing = await Assert.ThrowsAsync<ArgumentException>(() => client.Projects.RunAsync(project.Directory, new() { ExperimentId = "5" }, TestContext.Current.CancellationToken));
        Assert.Contains("No value given for missing parameters: 'alpha'", missing.Message, StringComparison.Ordinal);
        var bad = await Assert.ThrowsAsync<ArgumentException>(() => client.Projects.RunAsync(project.Directory, new() { ExperimentId = "5", Parameters = new Dictionary<string, string> { ["alpha"] = "high" } }, TestContext.Current.CancellationToken));
        Assert.Contains("is not a number", bad.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => client.Projects.RunAsync(project.Directory, new() { ExperimentId = "5", ExperimentName = "x" }, TestContext.Current.CancellationToken));
        Assert.Empty(server.LogEntries);
    }

    [Fact]
    public async Task An_existing_run_is_reused_without_logging_tags_or_params()
    {
        RequireBash();
        using var project = new TempProject(MlProjectText, ("main.sh", MainScript));
        using var server = Start();
        using var client = TestClients.For(server);

        var result = await client.Projects.RunAsync(project.Directory, new() { RunId = RunId, WriteOutputToConsole = false }, TestContext.Current.CancellationToken);

        Assert.Equal(RunStatus.Finished, result.Status);
        Assert.Equal(["/api/2.0/mlflow/runs/get", "/api/2.0/mlflow/runs/set-tag", "/api/2.0/mlflow/runs/update"], Calls(server).Select(c => c.Path));
    }

    [Fact]
    public async Task Python_env_projects_warn_and_run_locally_unless_asked_to_fail()
    {
        RequireBash();
        using var project = new TempProject("name: py\npython_env: python_env.yaml\nentry_points: {main: {command: 'echo ran'}}", ("python_env.yaml", "python: '3.11'"));
        using var server = Start();
        using var client = TestClients.For(server);

        var ex = await Assert.ThrowsAsync<MlflowProjectException>(() => client.Projects.RunAsync(project.Directory, new() { ExperimentId = "5", FailOnUnsupportedEnvironment = true }, TestContext.Current.CancellationToken));
        Assert.Contains("asks for a python_env environment", ex.Message, StringComparison.Ordinal);
        Assert.Empty(server.LogEntries);

        var logger = new ListLogger();
        var result = await client.Projects.RunAsync(project.Directory, new() { ExperimentId = "5", WriteOutputToConsole = false, Logger = logger }, TestContext.Current.CancellationToken);
        Assert.Equal(RunStatus.Finished, result.Status);
        Assert.Contains(logger.Messages, m => m.Level == LogLevel.Warning && m.Message.Contains("runs it in the current environment", StringComparison.Ordinal));
        Assert.DoesNotContain("mlflow.project.env", Pairs(Calls(server)[0].Body!["tags"]).Keys);
    }

    [Fact]
    public async Task Docker_projects_fail_before_creating_a_run_when_no_engine_answers()
    {
        RequireBash();
        using var project = new TempProject("name: d\ndocker_env: {image: 'python:3.11'}\nentry_points: {main: {command: 'python x.py'}}", ("docker", "#!/bin/bash\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n"));
        MakeExecutable(project.PathOf("docker"));
        using var server = Start();
        using var client = TestClients.For(server);
        client.Projects.DockerExecutable = project.PathOf("docker");

        var ex = await Assert.ThrowsAsync<MlflowProjectException>(() => client.Projects.RunAsync(project.Directory, new() { ExperimentId = "5" }, TestContext.Current.CancellationToken));

        Assert.Contains("no Docker engine is available", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Cannot connect to the Docker daemon", ex.Message, StringComparison.Ordinal);
        Assert.Empty(server.LogEntries);

        client.Projects.DockerExecutable = project.PathOf("no-such-docker");
        ex = await Assert.ThrowsAsync<MlflowProjectException>(() => client.Projects.RunAsync(project.Directory, new() { ExperimentId = "5" }, TestContext.Current.CancellationToken));
        Assert.Contains("no Docker engine is available", ex.Message, StringComparison.Ordinal);
        Assert.Empty(server.LogEntries);
    }

    [Fact]
    public async Task Docker_projects_run_in_docker_run_with_the_project_mounted()
    {
        RequireBash();
        const string fakeDocker = """
            #!/bin/bash
            case "$1" in
              info) echo 27.0; exit 0 ;;
              image) echo sha256:feed; exit 0 ;;
              run) printf '%s\n' "$@" > "$(dirname "$0")/docker-args.txt"; echo "in container"; exit 0 ;;
            esac
            exit 9
            """;
        using var project = new TempProject(
            "name: d\ndocker_env:\n  image: 'python:3.11'\n  volumes: ['/data:/data']\n  environment: [['A', 'b c'], 'HOME']\nentry_points: {main: {parameters: {p: {default: 1}}, command: 'python x.py {p}'}}",
            ("docker", fakeDocker));
        MakeExecutable(project.PathOf("docker"));
        using var server = Start();
        using var client = TestClients.For(server, o => o.Token = "s3cr3t-token");
        client.Projects.DockerExecutable = project.PathOf("docker");

        var result = await client.Projects.RunAsync(project.Directory, new()
        {
            ExperimentId = "5",
            WriteOutputToConsole = false,
            DockerArgs = new Dictionary<string, string?> { ["t"] = null, ["memory"] = "1g" },
        }, TestContext.Current.CancellationToken);

        Assert.Equal(RunStatus.Finished, result.Status);
        var args = File.ReadAllLines(project.PathOf("docker-args.txt"));
        Assert.Equal(
            [
                "run", "--rm", "-t", "--memory", "1g",
                "-v", $"{project.Directory}:/mlflow/projects/code", "-w", "/mlflow/projects/code", "-v", "/data:/data",
                "-e", $"MLFLOW_RUN_ID={RunId}", "-e", $"MLFLOW_TRACKING_URI={server.Url}", "-e", "MLFLOW_EXPERIMENT_ID=5",
                "-e", "MLFLOW_TRACKING_TOKEN", "-e", "A=b c", "-e", "HOME", "python:3.11", "python", "x.py", "1",
            ],
            args);
        Assert.DoesNotContain("s3cr3t", result.Command, StringComparison.Ordinal);
        var tags = Calls(server).Where(c => c.Path.EndsWith("set-tag", StringComparison.Ordinal)).Select(c => ((string)c.Body!["key"]!, (string)c.Body!["value"]!)).ToList();
        Assert.Equal([("mlflow.project.env", "docker"), ("mlflow.docker.image.uri", "python:3.11"), ("mlflow.docker.image.id", "sha256:feed"), ("mlflow.project.backend", "local")], tags);
    }

    private static void MakeExecutable(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static async Task<bool> ExitsAsync(int pid)
    {
        for (var i = 0; i < 600; i++) // a hang guard of 30 s, not a timing assertion
        {
            if (!Directory.Exists($"/proc/{pid}") || File.ReadAllText($"/proc/{pid}/stat").Split(' ')[2] == "Z")
            {
                return true;
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        return false;
    }
}
