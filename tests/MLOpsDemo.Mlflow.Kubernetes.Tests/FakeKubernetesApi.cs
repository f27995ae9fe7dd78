using System.Text;
using System.Text.Json.Nodes;
using k8s;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Kubernetes.Tests;

/// <summary>
/// A fake Kubernetes API server (WireMock) answering the REST paths the backend calls, with the JSON shapes a real
/// API server returns: Job create/delete, the Job watch stream (one JSON event per line), the pod list and pod logs.
/// The test swaps the answers as the "cluster" progresses.
/// </summary>
internal sealed class FakeKubernetesApi : IDisposable
{
    public const string Namespace = "mlflow";
    private readonly Guid _watchMapping = Guid.NewGuid();
    private readonly Guid _podsMapping = Guid.NewGuid();
    private readonly Guid _listMapping = Guid.NewGuid();

    public FakeKubernetesApi(string jobName, string container)
    {
        JobName = jobName;
        Container = container;
        Server = WireMockServer.Start();
        Server.Given(Request.Create().WithPath($"/apis/batch/v1/namespaces/{Namespace}/jobs").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(201).WithHeader("Content-Type", "application/json").WithBody(Job().ToJsonString()));
        Server.Given(Request.Create().WithPath($"/apis/batch/v1/namespaces/{Namespace}/jobs/{jobName}").UsingDelete())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody(Job(conditions: null, deletionTimestamp: true).ToJsonString()));
        WatchJob(("ADDED", Job()));
        Pods();
    }

    public WireMockServer Server { get; }

    public string JobName { get; }

    public string Container { get; }

    public string PodName => JobName + "-x7k2p";

    public KubernetesClientConfiguration Configuration => new() { Host = Server.Url! };

    /// <summary>The answer to the next Job watches: these events, then the stream ends (as at timeoutSeconds).</summary>
    public void WatchJob(params (string Type, JsonObject Job)[] events)
    {
        var body = new StringBuilder();
        foreach (var (type, job) in events)
        {
            body.Append(new JsonObject { ["type"] = type, ["object"] = job }.ToJsonString()).Append('\n');
        }

        Server.Given(WatchRequest())
            .WithGuid(_watchMapping)
            .AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody(body.ToString()).WithDelay(TimeSpan.FromMilliseconds(20)));
    }

    /// <summary>The answer to the next Job watches: this raw body (e.g. a stream cut mid-event) with this status.</summary>
    public void WatchJobRaw(string body, int status = 200) =>
        Server.Given(WatchRequest())
            .WithGuid(_watchMapping)
            .AtPriority(1)
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body).WithDelay(TimeSpan.FromMilliseconds(20)));

    /// <summary>The next Job watches fail: the connection closes without a response.</summary>
    public void WatchJobDropsConnection() =>
        Server.Given(WatchRequest())
            .WithGuid(_watchMapping)
            .AtPriority(1)
            .RespondWith(Response.Create().WithFault(WireMock.ResponseBuilders.FaultType.EMPTY_RESPONSE));

    /// <summary>An API server Status body (what it answers with errors and sends in ERROR watch events).</summary>
    public static JsonObject Status(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    /// <summary>The answer to the (non-watch) list of the Job, as <c>GET …/jobs?fieldSelector=metadata.name=…</c>.</summary>
    public void JobList(int resourceVersion, params JsonObject[] jobs)
    {
        var list = new JsonObject
        {
            ["apiVersion"] = "batch/v1",
            ["kind"] = "JobList",
            ["metadata"] = new JsonObject { ["resourceVersion"] = resourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            ["items"] = new JsonArray([.. jobs]),
        };
        Server.Given(Request.Create().WithPath($"/apis/batch/v1/namespaces/{Namespace}/jobs").UsingGet()
                .WithParam("fieldSelector", "metadata.name=" + JobName))
            .WithGuid(_listMapping)
            .AtPriority(100) // below the watch mapping, which also matches (it adds watch=true)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(list.ToJsonString()));
    }

    /// <summary>The requests that listed (not watched) the Job.</summary>
    public List<WireMock.Logging.ILogEntry> ListRequests() =>
        [.. Requests("GET", "/jobs").Where(e => !IsWatch(e))];

    /// <summary>The requests that watched the Job.</summary>
    public List<WireMock.Logging.ILogEntry> WatchRequests() =>
        [.. Requests("GET", "/jobs").Where(IsWatch)];

    private static bool IsWatch(WireMock.Logging.ILogEntry entry) =>
        entry.RequestMessage.Query is { } query && query.TryGetValue("watch", out var watch) && watch.Contains("true");

    private IRequestBuilder WatchRequest() =>
        Request.Create().WithPath($"/apis/batch/v1/namespaces/{Namespace}/jobs").UsingGet()
            .WithParam("watch", "true").WithParam("fieldSelector", "metadata.name=" + JobName);

    /// <summary>The answer to the pod list of the Job.</summary>
    public void Pods(params JsonObject[] pods)
    {
        var list = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "PodList",
            ["metadata"] = new JsonObject { ["resourceVersion"] = "4711" },
            ["items"] = new JsonArray([.. pods]),
        };
        Server.Given(Request.Create().WithPath($"/api/v1/namespaces/{Namespace}/pods").UsingGet().WithParam("labelSelector", "job-name=" + JobName))
            .WithGuid(_podsMapping)
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(list.ToJsonString()));
    }

    /// <summary>The (followed) log of the project container of <see cref="PodName"/>.</summary>
    public void Log(string text) =>
        Server.Given(Request.Create().WithPath($"/api/v1/namespaces/{Namespace}/pods/{PodName}/log").UsingGet()
                .WithParam("container", Container).WithParam("follow", "true"))
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "text/plain").WithBody(text));

    public JsonObject Job(string? startTime = null, JsonArray? conditions = null, bool deletionTimestamp = false, int resourceVersion = 1)
    {
        var status = new JsonObject();
        if (startTime is not null)
        {
            status["startTime"] = startTime;
            status["active"] = conditions is null ? 1 : 0;
        }

        if (conditions is not null)
        {
            status["conditions"] = conditions;
        }

        var metadata = new JsonObject
        {
            ["name"] = JobName,
            ["namespace"] = Namespace,
            ["uid"] = "5f1c2d4e-8a1b-4c7d-9e0f-1a2b3c4d5e6f",
            ["resourceVersion"] = resourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["creationTimestamp"] = "2026-12-03T09:17:28Z",
            ["labels"] = new JsonObject { ["batch.kubernetes.io/job-name"] = JobName, ["job-name"] = JobName },
        };
        if (deletionTimestamp)
        {
            metadata["deletionTimestamp"] = "2026-12-03T09:18:00Z";
            metadata["finalizers"] = new JsonArray("foregroundDeletion");
        }

        return new JsonObject
        {
            ["apiVersion"] = "batch/v1",
            ["kind"] = "Job",
            ["metadata"] = metadata,
            ["spec"] = new JsonObject
            {
                ["backoffLimit"] = 0,
                ["completions"] = 1,
                ["parallelism"] = 1,
                ["template"] = new JsonObject
                {
                    ["spec"] = new JsonObject
                    {
                        ["containers"] = new JsonArray(new JsonObject { ["name"] = Container, ["image"] = "registry.example.com/dotnet-train:abc1234" }),
                        ["restartPolicy"] = "Never",
                    },
                },
            },
            ["status"] = status,
        };
    }

    public static JsonArray Condition(string type, string reason, string message) =>
        new(new JsonObject
        {
            ["type"] = type,
            ["status"] = "True",
            ["lastProbeTime"] = "2026-12-03T09:17:40Z",
            ["lastTransitionTime"] = "2026-12-03T09:17:40Z",
            ["reason"] = reason,
            ["message"] = message,
        });

    /// <summary>A pod of the Job whose project container is in <paramref name="state"/> (e.g. <c>{"running": {...}}</c>).</summary>
    public JsonObject Pod(string phase, JsonObject? state = null, JsonArray? conditions = null) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Pod",
        ["metadata"] = new JsonObject
        {
            ["name"] = PodName,
            ["namespace"] = Namespace,
            ["labels"] = new JsonObject { ["batch.kubernetes.io/job-name"] = JobName, ["job-name"] = JobName, ["controller-uid"] = "5f1c2d4e-8a1b-4c7d-9e0f-1a2b3c4d5e6f" },
        },
        ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = Container, ["image"] = "registry.example.com/dotnet-train:abc1234" }) },
        ["status"] = new JsonObject
        {
            ["phase"] = phase,
            ["conditions"] = conditions ?? new JsonArray(new JsonObject { ["type"] = "PodScheduled", ["status"] = "True" }),
            ["containerStatuses"] = state is null ? new JsonArray() : new JsonArray(new JsonObject
            {
                ["name"] = Container,
                ["image"] = "registry.example.com/dotnet-train:abc1234",
                ["imageID"] = "",
                ["ready"] = state.ContainsKey("running"),
                ["restartCount"] = 0,
                ["started"] = state.ContainsKey("running"),
                ["state"] = state,
            }),
        },
    };

    public static JsonObject Running() => new() { ["running"] = new JsonObject { ["startedAt"] = "2026-12-03T09:17:31Z" } };

    public static JsonObject Terminated(int exitCode) => new()
    {
        ["terminated"] = new JsonObject
        {
            ["exitCode"] = exitCode,
            ["reason"] = exitCode == 0 ? "Completed" : "Error",
            ["startedAt"] = "2026-12-03T09:17:31Z",
            ["finishedAt"] = "2026-12-03T09:17:39Z",
            ["containerID"] = "containerd://0f1e2d3c4b5a",
        },
    };

    public static JsonObject Waiting(string reason, string message) => new() { ["waiting"] = new JsonObject { ["reason"] = reason, ["message"] = message } };

    public List<WireMock.Logging.ILogEntry> Requests(string method, string pathSuffix) =>
        [.. Server.LogEntries.Where(e => e.RequestMessage.Method == method && e.RequestMessage.Path.EndsWith(pathSuffix, StringComparison.Ordinal))];

    public void Dispose() => Server.Stop();
}
