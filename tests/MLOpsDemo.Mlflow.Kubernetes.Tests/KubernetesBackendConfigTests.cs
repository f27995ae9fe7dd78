using Microsoft.Extensions.Time.Testing;
using MLOpsDemo.Mlflow.Projects;

namespace MLOpsDemo.Mlflow.Kubernetes.Tests;

/// <summary>kubernetes_config.json as <c>mlflow run --backend-config</c> reads it, and the image build/push path.</summary>
public sealed class KubernetesBackendConfigTests : IDisposable
{
    private readonly TestFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Json_file_gives_mlflows_keys_and_a_template_path_relative_to_the_file()
    {
        var dir = Directory.CreateDirectory(Path.Combine(_folder.Path, "conf")).FullName;
        File.Copy(TestData.PathOf("job-template-basic.yaml"), Path.Combine(dir, "kubernetes_job_template.yaml"));
        var file = Path.Combine(dir, "kubernetes_config.json");
        File.WriteAllText(file, """
            {
              "kube-context": "docker-desktop",
              "repository-uri": "registry.example.com/dotnet-train",
              "kube-job-template-path": "kubernetes_job_template.yaml",
              "build-image": false,
              "tracking-uri": "http://mlflow.mlflow.svc:5000",
              "pending-timeout-seconds": 90
            }
            """);

        var config = KubernetesBackendConfig.Load(file);

        Assert.Equal("docker-desktop", config.KubeContext);
        Assert.Equal("registry.example.com/dotnet-train", config.RepositoryUri);
        Assert.Equal(Path.Combine(dir, "kubernetes_job_template.yaml"), config.JobTemplatePath);
        Assert.False(config.BuildImage);
        Assert.Equal("http://mlflow.mlflow.svc:5000", config.TrackingUri);
        Assert.Equal(TimeSpan.FromSeconds(90), config.PendingTimeout);
        Assert.Null(config.Image);
    }

    [Fact]
    public void Inline_json_is_accepted_as_mlflow_does()
    {
        var config = KubernetesBackendConfig.Load("""{"kube-job-template-path": "/tmp/job.yaml", "image": "ghcr.io/org/train:1.2"}""");

        Assert.Equal("/tmp/job.yaml", config.JobTemplatePath);
        Assert.Equal("ghcr.io/org/train:1.2", config.Image);
        Assert.True(config.BuildImage);
        Assert.Null(config.KubeContext);
    }

    [Theory]
    [InlineData("""{"repository-uri": "r"}""", "'kube-job-template-path' attribute must be specified")]
    [InlineData("""{"kube-job-template-path": 3}""", "'kube-job-template-path' in the Kubernetes backend config must be a non-empty string")]
    [InlineData("""{"kube-job-template-path": "j.yaml", "build-image": "yes"}""", "'build-image'")]
    [InlineData("""[1]""", "must be a JSON object")]
    [InlineData("""{"kube-job-template-path": """, "not valid JSON")]
    public void Bad_config_says_what_is_wrong(string json, string message)
    {
        var ex = Assert.Throws<ArgumentException>(() => KubernetesBackendConfig.Load(json));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Watch_retry_keys_are_read_from_the_config()
    {
        var config = KubernetesBackendConfig.Load("""{"kube-job-template-path": "/tmp/job.yaml", "max-watch-failures": 12, "watch-retry-delay-seconds": 2.5}""");

        Assert.Equal(12, config.MaxWatchFailures);
        Assert.Equal(TimeSpan.FromMilliseconds(2500), config.WatchRetryDelay);
    }

    [Fact]
    public void Watch_retry_keys_accept_their_smallest_values()
    {
        var config = KubernetesBackendConfig.Load("""{"kube-job-template-path": "/tmp/job.yaml", "max-watch-failures": 1, "watch-retry-delay-seconds": 0}""");

        Assert.Equal(1, config.MaxWatchFailures);
        Assert.Equal(TimeSpan.Zero, config.WatchRetryDelay);
    }

    [Fact]
    public void Absent_watch_retry_keys_give_the_defaults()
    {
        var config = KubernetesBackendConfig.Load("""{"kube-job-template-path": "/tmp/job.yaml"}""");

        Assert.Equal(5, config.MaxWatchFailures);
        Assert.Equal(TimeSpan.FromSeconds(1), config.WatchRetryDelay);
        Assert.Equal(config.MaxWatchFailures, new KubernetesBackendConfig { JobTemplatePath = "j.yaml" }.MaxWatchFailures);
        Assert.Equal(config.WatchRetryDelay, new KubernetesBackendConfig { JobTemplatePath = "j.yaml" }.WatchRetryDelay);
    }

    [Theory]
    [InlineData("0", "0")]
    [InlineData("-2", "-2")]
    [InlineData("2.5", "2.5")]
    [InlineData("1e10", "1e10")]
    [InlineData("\"3\"", "\"3\" (a string)")]
    [InlineData("true", "true (a boolean)")]
    [InlineData("null", "null")]
    [InlineData("[3]", "[3] (an array)")]
    public void Bad_max_watch_failures_names_the_key_the_value_and_what_to_use(string value, string shown)
    {
        var ex = Assert.Throws<ArgumentException>(() => KubernetesBackendConfig.Load($$"""{"kube-job-template-path": "/tmp/job.yaml", "max-watch-failures": {{value}}}"""));

        Assert.StartsWith($"'max-watch-failures' in the Kubernetes backend config is {shown}; use a whole number, 1 (give up at the first watch failure) or more (default 5).", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-1", "-1")]
    [InlineData("-0.001", "-0.001")]
    [InlineData("3601", "3601")]
    [InlineData("1e300", "1e300")]
    [InlineData("\"1\"", "\"1\" (a string)")]
    [InlineData("\"abc\"", "\"abc\" (a string)")]
    [InlineData("false", "false (a boolean)")]
    [InlineData("null", "null")]
    [InlineData("{\"s\": 1}", "{\"s\": 1} (an object)")]
    public void Bad_watch_retry_delay_names_the_key_the_value_and_what_to_use(string value, string shown)
    {
        var ex = Assert.Throws<ArgumentException>(() => KubernetesBackendConfig.Load($$"""{"kube-job-template-path": "/tmp/job.yaml", "watch-retry-delay-seconds": {{value}}}"""));

        Assert.StartsWith($"'watch-retry-delay-seconds' in the Kubernetes backend config is {shown}; use a number of seconds from 0 (retry at once) to 3600", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Pending_timeout_too_large_for_a_timespan_is_a_clear_error()
    {
        var ex = Assert.Throws<ArgumentException>(() => KubernetesBackendConfig.Load("""{"kube-job-template-path": "/tmp/job.yaml", "pending-timeout-seconds": 1e300}"""));

        Assert.StartsWith("'pending-timeout-seconds' in the Kubernetes backend config is 1e300; use a number of seconds from 0", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_config_file_names_the_path() =>
        Assert.Contains("nope.json", Assert.Throws<FileNotFoundException>(() => KubernetesBackendConfig.Load(Path.Combine(_folder.Path, "nope.json"))).Message, StringComparison.Ordinal);

    [Fact]
    public async Task Docker_env_project_is_built_from_its_base_image_pushed_and_run_by_digest()
    {
        Assert.SkipUnless(!OperatingSystem.IsWindows() && File.Exists("/bin/bash"), "The fake docker CLI is a bash script (needs /bin/bash, not Windows).");
        var ct = TestContext.Current.CancellationToken;
        var calls = Path.Combine(_folder.Path, "docker-calls.txt");
        var docker = Path.Combine(_folder.Path, "docker");
        var digest = "sha256:" + new string('c', 64);
        File.WriteAllText(docker, $$"""
            #!/bin/bash
            echo "$*" >> '{{calls}}'
            case "$1" in
              info) echo 28.2.2 ;;
              build) echo "FROM-LINE: $(head -1 "$5")" >> '{{calls}}' ;;
              push) echo "latest: digest: {{digest}} size: 1234" ;;
              image) echo "registry.example.com/train@{{digest}}" ;;
            esac
            """);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(docker, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var project = _folder.Project("name: train\ndocker_env: {image: 'mcr.microsoft.com/dotnet/sdk:10.0'}\nentry_points: {main: {command: 'dotnet run'}}\n");
        using var api = new FakeKubernetesApi("train-2026-12-03-09-17-27-000000", "train");
        api.WatchJob(("MODIFIED", api.Job(startTime: "2026-12-03T09:17:28Z", conditions: FakeKubernetesApi.Condition("Complete", "CompletionsReached", "done"))));
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 3, 9, 17, 27, TimeSpan.Zero));
        time.SetLocalTimeZone(TimeZoneInfo.Utc);
        var backend = new KubernetesProjectBackend(new KubernetesBackendConfig { JobTemplatePath = TestData.PathOf("job-template-basic.yaml"), RepositoryUri = "registry.example.com/train" })
        {
            ClientConfiguration = api.Configuration,
            TimeProvider = time,
            PollInterval = TimeSpan.Zero,
            DockerExecutable = docker,
        };
        using var client = _folder.Client();

        var result = await client.Projects.RunAsync(project, new ProjectRunOptions { Backend = backend, WriteOutputToConsole = false }, ct);

        Assert.Equal(RunStatus.Finished, result.Status);
        var lines = File.ReadAllLines(calls);
        Assert.Equal("info --format {{.ServerVersion}}", lines[0]);
        Assert.StartsWith("build --tag registry.example.com/train --file ", lines[1], StringComparison.Ordinal); // no git repo: no :sha7 tag
        Assert.EndsWith(" " + project, lines[1], StringComparison.Ordinal);
        Assert.Equal("FROM-LINE: FROM mcr.microsoft.com/dotnet/sdk:10.0", lines[2]);
        Assert.Equal("push registry.example.com/train", lines[3]);
        var created = System.Text.Json.Nodes.JsonNode.Parse(Assert.Single(api.Requests("POST", "/jobs")).RequestMessage.Body!)!;
        Assert.Equal("registry.example.com/train@" + digest, (string?)created["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]);
        var run = await client.Runs.GetAsync(result.RunId, ct);
        Assert.Equal("registry.example.com/train", run.Data.Tags["mlflow.docker.image.uri"]);
        Assert.Equal(digest, run.Data.Tags["mlflow.docker.image.id"]);
    }

    [Fact]
    public async Task No_docker_engine_fails_before_any_run_and_suggests_a_prebuilt_image()
    {
        Assert.SkipUnless(!OperatingSystem.IsWindows() && File.Exists("/bin/bash"), "The fake docker CLI is a bash script (needs /bin/bash, not Windows).");
        var docker = Path.Combine(_folder.Path, "docker");
        File.WriteAllText(docker, "#!/bin/bash\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2\nexit 1\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(docker, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var project = _folder.Project("name: train\ndocker_env: {image: 'python:3.12'}\nentry_points: {main: {command: 'python t.py'}}\n");
        var backend = new KubernetesProjectBackend(new KubernetesBackendConfig { JobTemplatePath = TestData.PathOf("job-template-basic.yaml"), RepositoryUri = "r/x" })
        {
            ClientConfiguration = new k8s.KubernetesClientConfiguration { Host = "http://127.0.0.1:1" },
            DockerExecutable = docker,
        };
        using var client = _folder.Client();

        var ex = await Assert.ThrowsAsync<MlflowProjectException>(() => client.Projects.RunAsync(project, new ProjectRunOptions { Backend = backend, ExperimentName = "none" }, TestContext.Current.CancellationToken));

        Assert.Contains("Cannot connect to the Docker daemon", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"image\"", ex.Message, StringComparison.Ordinal);
        Assert.Null(await client.Experiments.GetByNameAsync("none", TestContext.Current.CancellationToken));
    }
}
