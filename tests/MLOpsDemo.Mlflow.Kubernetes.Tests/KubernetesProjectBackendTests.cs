using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using MLOpsDemo.Mlflow.Projects;

namespace MLOpsDemo.Mlflow.Kubernetes.Tests;

/// <summary>
/// Projects on the kubernetes backend against a fake API server: the run lives in a local SQLite store, the "cluster"
/// is WireMock answering the Job, watch, pod and log paths with real Kubernetes JSON.
/// </summary>
public sealed class KubernetesProjectBackendTests : IDisposable
{
    private const string Project = """
        name: dotnet-train

        entry_points:
          main:
            parameters:
              alpha: {type: float, default: 0.5}
              epochs: {type: int, default: 5}
            command: "dotnet run --project . -- --alpha {alpha} --epochs {epochs}"
        """;

    private const string Image = "registry.example.com/dotnet-train:abc1234@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private const string JobName = "dotnet-train-2026-12-03-09-17-27-123456";
    private readonly TestFolder _folder = new();
    private readonly FakeKubernetesApi _api = new(JobName, "dotnet-train");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 3, 9, 17, 27, TimeSpan.Zero).AddTicks(1_234_560));
    private readonly ListLogger _logger = new();
    private readonly List<ProjectOutputLine> _output = [];

    public KubernetesProjectBackendTests() => _time.SetLocalTimeZone(TimeZoneInfo.Utc);

    public void Dispose()
    {
        _api.Dispose();
        _folder.Dispose();
    }

    private KubernetesProjectBackend Backend(TimeSpan? pendingTimeout = null, string? image = Image, int maxWatchFailures = 5) =>
        new(new KubernetesBackendConfig
        {
            JobTemplatePath = TestData.PathOf("job-template-basic.yaml"),
            Image = image,
            TrackingUri = "http://mlflow.mlflow.svc:5000",
            PendingTimeout = pendingTimeout ?? TimeSpan.FromMinutes(5),
        })
        {
            ClientConfiguration = _api.Configuration,
            TimeProvider = _time,
            PollInterval = TimeSpan.Zero,
            MaxWatchFailures = maxWatchFailures,
        };

    private ProjectRunOptions Options(ProjectBackend backend) => new()
    {
        Backend = backend,
        ExperimentName = "k8s",
        Parameters = new Dictionary<string, string> { ["epochs"] = "3" },
        WriteOutputToConsole = false,
        Logger = _logger,
        OutputReceived = line => { lock (_output) { _output.Add(line); } },
    };

    [Fact]
    public async Task Job_is_created_as_mlflow_renders_it_and_the_run_finishes_with_the_pod_log()
    {
        var ct = TestContext.Current.CancellationToken;
        _api.WatchJob(
            ("ADDED", _api.Job()),
            ("MODIFIED", _api.Job(startTime: "2026-12-03T09:17:28Z", resourceVersion: 2)),
            ("MODIFIED", _api.Job(startTime: "2026-12-03T09:17:28Z", conditions: FakeKubernetesApi.Condition("Complete", "CompletionsReached", "Reached expected number of succeeded pods"), resourceVersion: 3)));
        _api.Pods(_api.Pod("Succeeded", FakeKubernetesApi.Terminated(0)));
        _api.Log("Training with alpha=0.5 for 3 epochs\nepoch 0: loss=0.6667\n");
        using var client = _folder.Client();

        var result = await client.Projects.RunAsync(_folder.Project(Project), Options(Backend()), ct);

        Assert.Equal(RunStatus.Finished, result.Status);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("dotnet run --project . -- --alpha 0.5 --epochs 3", result.Command);

        // The Job body equals MLflow's rendering of the same template (TestData), with this run's ids.
        var created = JsonNode.Parse(Assert.Single(_api.Requests("POST", "/jobs")).RequestMessage.Body!)!;
        var expected = TestData.ExpectedCase("basic")["job"]!.DeepClone();
        var container = expected["spec"]!["template"]!["spec"]!["containers"]![0]!;
        container["command"] = new JsonArray("dotnet", "run", "--project", ".", "--", "--alpha", "0.5", "--epochs", "3");
        container["env"]![0]!["value"] = result.RunId;
        container["env"]![2]!["value"] = result.ExperimentId;
        Assert.True(JsonNode.DeepEquals(expected, created), $"Expected:\n{expected.ToJsonString()}\nCreated:\n{created.ToJsonString()}");

        // Tracked like a local run: MLflow's project tags and params, plus the Job's name and namespace.
        var run = await client.Runs.GetAsync(result.RunId, ct);
        Assert.Equal(RunStatus.Finished, run.Info.Status);
        Assert.Equal("kubernetes", run.Data.Tags["mlflow.project.backend"]);
        Assert.Equal("docker", run.Data.Tags["mlflow.project.env"]);
        Assert.Equal("PROJECT", run.Data.Tags["mlflow.source.type"]);
        Assert.Equal("main", run.Data.Tags["mlflow.project.entryPoint"]);
        Assert.Equal(Image, run.Data.Tags["mlflow.docker.image.uri"]);
        Assert.Equal("sha256:" + new string('a', 64), run.Data.Tags["mlflow.docker.image.id"]);
        Assert.Equal(JobName, run.Data.Tags["mlflow.kubernetes.job.name"]);
        Assert.Equal("mlflow", run.Data.Tags["mlflow.kubernetes.job.namespace"]);
        Assert.Equal("3", run.Data.Params["epochs"]);
        Assert.Equal("0.5", run.Data.Params["alpha"]);

        // The pod's log reached the caller line by line; the watch saw the Job start.
        Assert.Equal(["Training with alpha=0.5 for 3 epochs", "epoch 0: loss=0.6667"], _output.Select(l => l.Text));
        Assert.Contains(_logger.Messages, m => m == $"Job {JobName} started.");
        var logRequest = Assert.Single(_api.Requests("GET", "/log"));
        Assert.Equal("true", logRequest.RequestMessage.Query!["follow"].Single());
    }

    [Fact]
    public async Task Status_follows_the_job_from_scheduled_to_running_to_finished()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = _folder.Client();

        var submitted = await client.Projects.SubmitAsync(_folder.Project(Project), Options(Backend()), ct);
        await TestData.Until(() => _api.Requests("GET", "/jobs").Count >= 2, "the Job has been watched twice");
        Assert.Equal(RunStatus.Scheduled, submitted.Status);

        _api.WatchJob(("MODIFIED", _api.Job(startTime: "2026-12-03T09:17:28Z", resourceVersion: 2)));
        await TestData.Until(() => submitted.Status == RunStatus.Running, "the Job has started");
        Assert.Equal(RunStatus.Running, (await client.Runs.GetAsync(submitted.RunId, ct)).Info.Status);

        _api.WatchJob(("MODIFIED", _api.Job(startTime: "2026-12-03T09:17:28Z", conditions: FakeKubernetesApi.Condition("Complete", "CompletionsReached", "Reached expected number of succeeded pods"), resourceVersion: 3)));
        var result = await submitted.WaitAsync(ct);

        Assert.Equal(RunStatus.Finished, result.Status);
        Assert.Equal(RunStatus.Finished, submitted.Status);
        Assert.Equal(RunStatus.Finished, (await client.Runs.GetAsync(submitted.RunId, ct)).Info.Status);
    }

    [Fact]
    public async Task Failed_job_fails_the_run_with_the_condition_and_the_container_exit_code()
    {
        var ct = TestContext.Current.CancellationToken;
        _api.WatchJob(("MODIFIED", _api.Job(startTime: "2026-12-03T09:17:28Z", conditions: FakeKubernetesApi.Condition("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit"))));
        _api.Pods(_api.Pod("Failed", FakeKubernetesApi.Terminated(3)));
        _api.Log("Unhandled exception. System.InvalidOperationException: no data\n");
        using var client = _folder.Client();

        var result = await client.Projects.RunAsync(_folder.Project(Project), Options(Backend()), ct);

        Assert.Equal(RunStatus.Failed, result.Status);
        Assert.Equal(3, result.ExitCode);
        Assert.Equal("BackoffLimitExceeded: Job has reached the specified backoff limit", result.FailureReason);
        Assert.Equal(RunStatus.Failed, (await client.Runs.GetAsync(result.RunId, ct)).Info.Status);
        Assert.Contains(_output, l => l.Text.Contains("no data", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Image_that_cannot_be_pulled_fails_with_the_pod_reason_and_deletes_the_job()
    {
        var ct = TestContext.Current.CancellationToken;
        _api.WatchJob(("MODIFIED", _api.Job(startTime: "2026-12-03T09:17:28Z")));
        _api.Pods(_api.Pod("Pending", FakeKubernetesApi.Waiting("ImagePullBackOff", "Back-off pulling image \"registry.example.com/dotnet-train:abc1234\"")));
        using var client = _folder.Client();

        var submitted = await client.Projects.SubmitAsync(_folder.Project(Project), Options(Backend(pendingTimeout: TimeSpan.FromMinutes(2))), ct);
        await TestData.Until(() => _api.Requests("GET", "/pods").Count >= 2, "the pods have been checked twice");
        Assert.False(submitted.WaitAsync(ct).IsCompleted, "An image pull back-off is tolerated until the pending timeout.");
        Assert.Empty(_api.Requests("DELETE", "/jobs/" + JobName));

        _time.Advance(TimeSpan.FromMinutes(2));
        var result = await submitted.WaitAsync(ct);

        Assert.Equal(RunStatus.Failed, result.Status);
        Assert.StartsWith($"Pod {_api.PodName}: ImagePullBackOff: Back-off pulling image \"registry.example.com/dotnet-train:abc1234\"", result.FailureReason, StringComparison.Ordinal);
        Assert.Equal(RunStatus.Failed, (await client.Runs.GetAsync(result.RunId, ct)).Info.Status);
        var delete = Assert.Single(_api.Requests("DELETE", "/jobs/" + JobName));
        Assert.Equal("Foreground", delete.RequestMessage.Query!["propagationPolicy"].Single());
    }

    [Fact]
    public async Task Unschedulable_pod_fails_with_the_scheduler_message()
    {
        var ct = TestContext.Current.CancellationToken;
        var unschedulable = new JsonArray(new JsonObject
        {
            ["type"] = "PodScheduled",
            ["status"] = "False",
            ["lastTransitionTime"] = "2026-12-03T09:17:29Z",
            ["reason"] = "Unschedulable",
            ["message"] = "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
        });
        _api.Pods(_api.Pod("Pending", conditions: unschedulable));
        using var client = _folder.Client();

        var result = await client.Projects.RunAsync(_folder.Project(Project), Options(Backend(pendingTimeout: TimeSpan.Zero)), ct);

        Assert.Equal(RunStatus.Failed, result.Status);
        Assert.Null(result.ExitCode);
        Assert.StartsWith($"Pod {_api.PodName}: Unschedulable: 0/1 nodes are available: 1 Insufficient memory.", result.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_image_name_fails_at_once_whatever_the_pending_timeout()
    {
        var ct = TestContext.Current.CancellationToken;
        _api.Pods(_api.Pod("Pending", FakeKubernetesApi.Waiting("InvalidImageName", "couldn't parse image name \"Registry/X\": invalid reference format")));
        using var client = _folder.Client();

        var result = await client.Projects.RunAsync(_folder.Project(Project), Options(Backend(pendingTimeout: TimeSpan.FromDays(1))), ct);

        Assert.Equal(RunStatus.Failed, result.Status);
        Assert.Contains("InvalidImageName: couldn't parse image name", result.FailureReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_deletes_the_job_with_foreground_propagation_and_ends_the_run_killed()
    {
        var ct = TestContext.Current.CancellationToken;
        _api.WatchJob(("MODIFIED", _api.Job(startTime: "2026-12-03T09:17:28Z")));
        _api.Pods(_api.Pod("Running", FakeKubernetesApi.Running()));
        _api.Log("epoch 0: loss=0.6667\n");
        using var client = _folder.Client();
        var submitted = await client.Projects.SubmitAsync(_folder.Project(Project), Options(Backend()), ct);
        await TestData.Until(() => submitted.Status == RunStatus.Running, "the Job has started");

        var result = await submitted.CancelAsync(ct);

        Assert.Equal(RunStatus.Killed, result.Status);
        Assert.Equal(RunStatus.Killed, submitted.Status);
        Assert.Equal(RunStatus.Killed, (await client.Runs.GetAsync(result.RunId, ct)).Info.Status);
        var delete = Assert.Single(_api.Requests("DELETE", "/jobs/" + JobName));
        Assert.Equal("Foreground", delete.RequestMessage.Query!["propagationPolicy"].Single());
        Assert.Equal("Foreground", (string?)JsonNode.Parse(delete.RequestMessage.Body!)!["propagationPolicy"]);
        Assert.Equal(result, await submitted.CancelAsync(ct)); // a second cancel changes nothing
        Assert.Single(_api.Requests("DELETE", "/jobs/" + JobName));
    }

    [Fact]
    public async Task Project_without_docker_env_or_image_is_rejected_before_any_run_or_job()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = _folder.Client();

        var ex = await Assert.ThrowsAsync<MlflowProjectException>(() => client.Projects.RunAsync(_folder.Project(Project), Options(Backend(image: null)), ct));

        Assert.Contains("docker_env", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"image\"", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_api.Server.LogEntries);
        var experiment = await client.Experiments.GetByNameAsync("k8s", ct);
        Assert.Null(experiment);
    }

    [Fact]
    public async Task Api_server_refusing_the_job_fails_the_run_with_its_message()
    {
        var ct = TestContext.Current.CancellationToken;
        _api.Server.Given(WireMock.RequestBuilders.Request.Create().WithPath($"/apis/batch/v1/namespaces/{FakeKubernetesApi.Namespace}/jobs").UsingPost())
            .AtPriority(0)
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithStatusCode(403).WithHeader("Content-Type", "application/json")
                .WithBody("""{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"jobs.batch is forbidden: User \"ci\" cannot create resource \"jobs\" in API group \"batch\" in the namespace \"mlflow\"","reason":"Forbidden","details":{"group":"batch","kind":"jobs"},"code":403}"""));
        using var client = _folder.Client();

        var ex = await Assert.ThrowsAsync<MlflowProjectException>(() => client.Projects.RunAsync(_folder.Project(Project), Options(Backend()), ct));

        Assert.Contains("403", ex.Message, StringComparison.Ordinal);
        Assert.Contains("forbidden", ex.Message, StringComparison.Ordinal);
        var experiment = await client.Experiments.GetByNameAsync("k8s", ct);
        var runs = new List<Run>();
        await foreach (var run in client.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = [experiment!.ExperimentId] }, ct))
        {
            runs.Add(run);
        }

        var failed = Assert.Single(runs);
        Assert.Equal(RunStatus.Failed, failed.Info.Status);
    }

    [Fact]
    public async Task Watch_that_drops_mid_run_is_resumed_and_the_run_finishes_when_the_job_succeeds()
    {
        var ct = TestContext.Current.CancellationToken;
        const string Started = "2026-12-03T09:17:28Z";

        // The first watch sees the Job start, then the stream is cut in the middle of the next event.
        _api.WatchJobRaw(Line("MODIFIED", _api.Job(startTime: Started, resourceVersion: 2)) + "{\"type\":\"MODIFIED\",\"object\":{\"apiVersion\":\"batch/v1\",\"kind\":\"Jo");
        _api.JobList(5, _api.Job(startTime: Started, resourceVersion: 4));
        _api.Pods(_api.Pod("Running", FakeKubernetesApi.Running()));
        _api.Log("epoch 0: loss=0.6667\n");
        using var client = _folder.Client();

        var submitted = await client.Projects.SubmitAsync(_folder.Project(Project), Options(Backend()), ct);
        await TestData.Until(() => _logger.Messages.Any(m => m.Contains("failed (1 of 5 in a row: JsonException", StringComparison.Ordinal)), () => "the cut stream is reported: " + string.Join(" | ", _logger.Messages));
        Assert.Equal(RunStatus.Running, submitted.Status);

        // Then the connection drops: retried again, after a longer backoff (1 s, then 2 s on the fake clock).
        _api.WatchJobDropsConnection();
        _time.Advance(TimeSpan.FromSeconds(1));
        await TestData.Until(() => _logger.Messages.Any(m => m.Contains("failed (2 of 5 in a row", StringComparison.Ordinal) && m.Contains("00:00:02", StringComparison.Ordinal)), () => "the dropped connection is reported: " + string.Join(" | ", _logger.Messages));
        Assert.False(submitted.WaitAsync(ct).IsCompleted, "A dropped watch must not end the run while the Job runs.");
        Assert.Equal(RunStatus.Running, (await client.Runs.GetAsync(submitted.RunId, ct)).Info.Status);

        // The API server is back; the Job succeeds.
        _api.WatchJob(("MODIFIED", _api.Job(startTime: Started, conditions: FakeKubernetesApi.Condition("Complete", "CompletionsReached", "Reached expected number of succeeded pods"), resourceVersion: 6)));
        _api.Pods(_api.Pod("Succeeded", FakeKubernetesApi.Terminated(0)));
        var result = await AdvanceUntilEndedAsync(submitted);

        Assert.Equal(RunStatus.Finished, result.Status);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(RunStatus.Finished, (await client.Runs.GetAsync(result.RunId, ct)).Info.Status);
        Assert.True(_api.ListRequests().Count >= 2, "Each resumption re-lists the Job.");
        Assert.Contains(_api.WatchRequests(), r => r.RequestMessage.Query!.TryGetValue("resourceVersion", out var rv) && rv.Single() == "5"); // watched on from the list's version
        Assert.Empty(_api.Requests("DELETE", "/jobs/" + JobName));
    }

    [Fact]
    public async Task Watch_expired_with_410_gone_re_lists_the_job_and_sees_it_complete()
    {
        var ct = TestContext.Current.CancellationToken;
        _api.WatchJobRaw(Line("ADDED", _api.Job()) + Line("ERROR", FakeKubernetesApi.Status(410, "Expired", "too old resource version: 1 (7)")));
        _api.JobList(8, _api.Job(startTime: "2026-12-03T09:17:28Z", conditions: FakeKubernetesApi.Condition("Complete", "CompletionsReached", "Reached expected number of succeeded pods"), resourceVersion: 8));
        _api.Pods(_api.Pod("Succeeded", FakeKubernetesApi.Terminated(0)));
        using var client = _folder.Client();

        var result = await client.Projects.RunAsync(_folder.Project(Project), Options(Backend()), ct);

        Assert.True(result.Status == RunStatus.Finished, result.FailureReason + " | " + string.Join(" | ", _logger.Messages));
        Assert.Single(_api.WatchRequests());
        Assert.Single(_api.ListRequests());
        Assert.Contains(_logger.Messages, m => m.Contains("410 Gone", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Repeated_watch_failures_fail_the_run_clearly_and_delete_the_job()
    {
        var ct = TestContext.Current.CancellationToken;
        _api.WatchJobRaw(FakeKubernetesApi.Status(503, "ServiceUnavailable", "the server is currently unable to handle the request").ToJsonString(), status: 503);
        _api.JobList(5, _api.Job(startTime: "2026-12-03T09:17:28Z", resourceVersion: 4));
        using var client = _folder.Client();

        var submitted = await client.Projects.SubmitAsync(_folder.Project(Project), Options(Backend(maxWatchFailures: 3)), ct);
        var result = await AdvanceUntilEndedAsync(submitted);

        Assert.Equal(RunStatus.Failed, result.Status);
        Assert.Equal(RunStatus.Failed, (await client.Runs.GetAsync(result.RunId, ct)).Info.Status);
        Assert.True(result.FailureReason!.StartsWith($"Lost track of Job mlflow/{JobName}: watching it failed 3 times in a row (KubernetesProjectBackend.MaxWatchFailures = 3); last error: HTTP 503", StringComparison.Ordinal), result.FailureReason);
        Assert.Contains("The Job was deleted", result.FailureReason, StringComparison.Ordinal);
        Assert.Equal(3, _api.WatchRequests().Count);
        var delete = Assert.Single(_api.Requests("DELETE", "/jobs/" + JobName));
        Assert.Equal("Foreground", delete.RequestMessage.Query!["propagationPolicy"].Single());
    }

    [Fact]
    public async Task Backend_from_a_config_with_max_watch_failures_1_gives_up_after_one_watch_failure()
    {
        var ct = TestContext.Current.CancellationToken;
        _api.WatchJobRaw(FakeKubernetesApi.Status(503, "ServiceUnavailable", "the server is currently unable to handle the request").ToJsonString(), status: 503);
        _api.JobList(5, _api.Job(startTime: "2026-12-03T09:17:28Z", resourceVersion: 4));
        using var client = _folder.Client();

        // As `dotnet mlflow projects run --backend kubernetes --backend-config <json>` builds it: nothing set on the backend.
        var submitted = await client.Projects.SubmitAsync(_folder.Project(Project), Options(BackendFromConfig("\"max-watch-failures\": 1")), ct);
        var result = await AdvanceUntilEndedAsync(submitted);

        Assert.Equal(RunStatus.Failed, result.Status);
        Assert.True(result.FailureReason!.StartsWith($"Lost track of Job mlflow/{JobName}: watching it failed 1 time in a row ('max-watch-failures' in the backend config = 1); last error: HTTP 503", StringComparison.Ordinal), result.FailureReason);
        Assert.Single(_api.WatchRequests());
        Assert.Empty(_api.ListRequests()); // no re-list: it gave up at the first failure
        Assert.DoesNotContain(_logger.Messages, m => m.Contains("re-listing and watching again", StringComparison.Ordinal));
        Assert.Single(_api.Requests("DELETE", "/jobs/" + JobName));
    }

    [Fact]
    public async Task Watch_retry_delay_comes_from_the_config_and_an_explicit_backend_value_wins_over_the_configs_max()
    {
        var ct = TestContext.Current.CancellationToken;
        _api.WatchJobRaw(FakeKubernetesApi.Status(503, "ServiceUnavailable", "the server is currently unable to handle the request").ToJsonString(), status: 503);
        _api.JobList(5, _api.Job(startTime: "2026-12-03T09:17:28Z", resourceVersion: 4));
        using var client = _folder.Client();
        var backend = BackendFromConfig("\"max-watch-failures\": 1, \"watch-retry-delay-seconds\": 7");
        backend = new KubernetesProjectBackend(backend.Config) { ClientConfiguration = _api.Configuration, TimeProvider = _time, PollInterval = TimeSpan.Zero, MaxWatchFailures = 2 };
        Assert.Equal(2, backend.MaxWatchFailures);
        Assert.Equal(TimeSpan.FromSeconds(7), backend.WatchRetryDelay);

        var submitted = await client.Projects.SubmitAsync(_folder.Project(Project), Options(backend), ct);
        await TestData.Until(() => _logger.Messages.Any(m => m.Contains("failed (1 of 2 in a row", StringComparison.Ordinal)), () => "the first failure is reported: " + string.Join(" | ", _logger.Messages));
        Assert.Contains(_logger.Messages, m => m.Contains("failed (1 of 2 in a row", StringComparison.Ordinal) && m.Contains("watching again in 00:00:07", StringComparison.Ordinal));

        // Not retried before the configured 7 s have passed on the fake clock.
        _time.Advance(TimeSpan.FromSeconds(6));
        Assert.Single(_api.WatchRequests());
        var result = await AdvanceUntilEndedAsync(submitted);

        Assert.Equal(RunStatus.Failed, result.Status);
        Assert.True(result.FailureReason!.StartsWith($"Lost track of Job mlflow/{JobName}: watching it failed 2 times in a row (KubernetesProjectBackend.MaxWatchFailures = 2); last error: HTTP 503", StringComparison.Ordinal), result.FailureReason);
        Assert.Equal(2, _api.WatchRequests().Count);
    }

    [Fact]
    public async Task Bad_watch_retry_values_in_a_config_built_in_code_fail_before_any_run_naming_the_key()
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = _folder.Client();
        var config = new KubernetesBackendConfig { JobTemplatePath = TestData.PathOf("job-template-basic.yaml"), Image = Image, MaxWatchFailures = 0 };
        var backend = new KubernetesProjectBackend(config) { ClientConfiguration = _api.Configuration, TimeProvider = _time };

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => client.Projects.RunAsync(_folder.Project(Project), Options(backend), ct));
        Assert.StartsWith("KubernetesBackendConfig.MaxWatchFailures ('max-watch-failures') is 0; use 1", ex.Message, StringComparison.Ordinal);

        var delay = new KubernetesProjectBackend(config with { MaxWatchFailures = 5, WatchRetryDelay = TimeSpan.FromSeconds(-1) }) { ClientConfiguration = _api.Configuration, TimeProvider = _time };
        ex = await Assert.ThrowsAsync<ArgumentException>(() => client.Projects.RunAsync(_folder.Project(Project), Options(delay), ct));
        Assert.StartsWith("KubernetesBackendConfig.WatchRetryDelay ('watch-retry-delay-seconds') is -00:00:01; use", ex.Message, StringComparison.Ordinal);

        var explicitValue = new KubernetesProjectBackend(config) { ClientConfiguration = _api.Configuration, TimeProvider = _time, MaxWatchFailures = -3 };
        ex = await Assert.ThrowsAsync<ArgumentException>(() => client.Projects.RunAsync(_folder.Project(Project), Options(explicitValue), ct));
        Assert.StartsWith("KubernetesProjectBackend.MaxWatchFailures is -3; use 1", ex.Message, StringComparison.Ordinal);

        Assert.Empty(_api.Server.LogEntries);
        Assert.Null(await client.Experiments.GetByNameAsync("k8s", ct));
    }

    /// <summary>A backend as the CLI makes it: <c>new KubernetesProjectBackend(KubernetesBackendConfig.Load(json))</c>, plus the fake cluster and clock.</summary>
    private KubernetesProjectBackend BackendFromConfig(string extraKeys)
    {
        var json = new JsonObject
        {
            ["kube-job-template-path"] = TestData.PathOf("job-template-basic.yaml"),
            ["image"] = Image,
            ["tracking-uri"] = "http://mlflow.mlflow.svc:5000",
        }.ToJsonString();
        return new(KubernetesBackendConfig.Load(json[..^1] + ", " + extraKeys + "}"))
        {
            ClientConfiguration = _api.Configuration,
            TimeProvider = _time,
            PollInterval = TimeSpan.Zero,
        };
    }

    private static string Line(string type, JsonNode value) => new JsonObject { ["type"] = type, ["object"] = value }.ToJsonString() + "\n";

    /// <summary>Moves the fake clock a second at a time (past the watch backoffs) until the run has ended.</summary>
    private async Task<ProjectRunResult> AdvanceUntilEndedAsync(SubmittedRun submitted)
    {
        var ended = submitted.WaitAsync(TestContext.Current.CancellationToken);
        await TestData.Until(
            () =>
            {
                if (!ended.IsCompleted)
                {
                    _time.Advance(TimeSpan.FromSeconds(1));
                }

                return ended.IsCompleted;
            },
            "the run has ended");
        return await ended;
    }
}
