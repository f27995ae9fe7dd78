using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using WireMock;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Types;
using WireMock.Util;

namespace MLOpsDemo.Mlflow.Tests.Fluent;

/// <summary>
/// A stateful MLflow tracking server on WireMock for fluent-API tests: experiments, runs (create/get/update),
/// log-batch and log-inputs. <see cref="LogBatchStatus"/> lets a test make log-batch fail.
/// </summary>
public sealed class FakeMlflowServer : IDisposable
{
    private readonly ConcurrentDictionary<string, JsonObject> _runs = new();
    private readonly ConcurrentDictionary<string, (string Id, string Name)> _experiments = new();
    private int _nextExperiment = 1;

    public FakeMlflowServer()
    {
        Server = WireMockServer.Start();
        _experiments["0"] = ("0", "Default");
        Map("POST", "/api/2.0/mlflow/runs/create", CreateRun);
        Map("GET", "/api/2.0/mlflow/runs/get", GetRun);
        Map("POST", "/api/2.0/mlflow/runs/update", UpdateRun);
        Map("POST", "/api/2.0/mlflow/runs/log-batch", LogBatch);
        Map("POST", "/api/2.0/mlflow/runs/log-inputs", _ => (200, "{}"));
        Map("GET", "/api/2.0/mlflow/experiments/get-by-name", GetExperimentByName);
        Map("GET", "/api/2.0/mlflow/experiments/get", GetExperiment);
        Map("POST", "/api/2.0/mlflow/experiments/create", CreateExperiment);
    }

    public WireMockServer Server { get; }

    /// <summary>Decides the status of each log-batch call (200 when null); non-200 calls store nothing.</summary>
    public Func<JsonObject, int>? LogBatchStatus { get; set; }

    /// <summary>Bodies of the log-batch calls that succeeded, in arrival order.</summary>
    public ConcurrentQueue<JsonObject> Batches { get; } = new();

    private TaskCompletionSource _nextBatch = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A task that completes when the next log-batch is stored (an explicit signal instead of polling).</summary>
    public Task NextBatch()
    {
        lock (Batches)
        {
            return _nextBatch.Task;
        }
    }

    /// <summary>Run status updates in arrival order: (run id, status).</summary>
    public ConcurrentQueue<(string RunId, string Status)> Updates { get; } = new();

    public IReadOnlyDictionary<string, JsonObject> Runs => _runs;

    public MlflowClient CreateClient(Action<MlflowClientOptions>? configure = null, IDictionary<string, string>? environment = null)
    {
        var options = new MlflowClientOptions
        {
            TrackingUri = Server.Url!,
            MaxRetries = 0,
            Timeout = TimeSpan.FromSeconds(30),
        };
        options.Logging.FlushInterval = TimeSpan.FromMilliseconds(20);
        options.Logging.RetryBackoff = TimeSpan.FromMilliseconds(20);
        options.Logging.MaxRetryBackoff = TimeSpan.FromMilliseconds(100);
        configure?.Invoke(options);
        var env = environment ?? new Dictionary<string, string>();
        return new MlflowClient(options)
        {
            EnvironmentReader = name => env.TryGetValue(name, out var value) ? value : null,
        };
    }

    /// <summary>Adds an existing run (for resume tests).</summary>
    public void AddRun(string runId, string experimentId = "0") =>
        _runs[runId] = new JsonObject
        {
            ["info"] = new JsonObject { ["run_id"] = runId, ["experiment_id"] = experimentId, ["run_name"] = "existing", ["status"] = "RUNNING", ["lifecycle_stage"] = "active", ["start_time"] = 1 },
            ["data"] = new JsonObject { ["tags"] = new JsonArray() },
        };

    public Dictionary<string, string> TagsOf(string runId) =>
        _runs[runId]["data"]!["tags"]!.AsArray().ToDictionary(t => (string)t!["key"]!, t => (string)t!["value"]!);

    /// <summary>All metrics of successful log-batch calls for a run, in arrival order.</summary>
    public List<(string Key, double Value, long Step, long Timestamp)> MetricsOf(string runId) =>
        Batches.Where(b => (string?)b["run_id"] == runId)
            .SelectMany(b => b["metrics"]?.AsArray() ?? [])
            .Select(m => ((string)m!["key"]!, ReadDouble(m["value"]!), (long?)m["step"] ?? 0, (long)m["timestamp"]!))
            .ToList();

    public List<KeyValuePair<string, string>> PairsOf(string runId, string field) =>
        Batches.Where(b => (string?)b["run_id"] == runId)
            .SelectMany(b => b[field]?.AsArray() ?? [])
            .Select(p => KeyValuePair.Create((string)p!["key"]!, (string)p["value"]!))
            .ToList();

    public void Dispose() => Server.Stop();

    private static double ReadDouble(JsonNode node) => node.GetValueKind() == System.Text.Json.JsonValueKind.String
        ? double.Parse((string)node!, System.Globalization.CultureInfo.InvariantCulture)
        : (double)node;

    private void Map(string method, string path, Func<IRequestMessage, (int Status, string Body)> handler) =>
        Server.Given(Request.Create().WithPath(path).UsingMethod(method))
            .RespondWith(Response.Create().WithCallback(request =>
            {
                var (status, body) = handler(request);
                return new ResponseMessage
                {
                    StatusCode = status,
                    Headers = new Dictionary<string, WireMockList<string>> { ["Content-Type"] = new("application/json") },
                    BodyData = new BodyData { BodyAsString = body, DetectedBodyType = WireMock.Types.BodyType.String },
                };
            }));

    private static JsonObject Body(IRequestMessage request) => JsonNode.Parse(request.Body!)!.AsObject();

    private static string Error(string code, string message) => new JsonObject { ["error_code"] = code, ["message"] = message }.ToJsonString();

    private (int, string) CreateRun(IRequestMessage request)
    {
        var body = Body(request);
        var id = Guid.NewGuid().ToString("N");
        var run = new JsonObject
        {
            ["info"] = new JsonObject
            {
                ["run_id"] = id,
                ["run_uuid"] = id,
                ["experiment_id"] = (string)body["experiment_id"]!,
                ["run_name"] = (string?)body["run_name"],
                ["user_id"] = (string?)body["user_id"],
                ["status"] = "RUNNING",
                ["start_time"] = (long?)body["start_time"],
                ["lifecycle_stage"] = "active",
                ["artifact_uri"] = $"mlflow-artifacts:/0/{id}/artifacts",
            },
            ["data"] = new JsonObject { ["tags"] = body["tags"]?.DeepClone() ?? new JsonArray() },
        };
        _runs[id] = run;
        return (200, new JsonObject { ["run"] = run.DeepClone() }.ToJsonString());
    }

    private (int, string) GetRun(IRequestMessage request)
    {
        var id = request.Query!["run_id"].First();
        return _runs.TryGetValue(id, out var run)
            ? (200, new JsonObject { ["run"] = run.DeepClone() }.ToJsonString())
            : (404, Error("RESOURCE_DOES_NOT_EXIST", $"Run '{id}' not found"));
    }

    private (int, string) UpdateRun(IRequestMessage request)
    {
        var body = Body(request);
        var id = (string)body["run_id"]!;
        if (!_runs.TryGetValue(id, out var run))
        {
            return (404, Error("RESOURCE_DOES_NOT_EXIST", $"Run '{id}' not found"));
        }

        var info = run["info"]!.AsObject();
        if (body["status"] is { } status)
        {
            info["status"] = (string)status!;
            Updates.Enqueue((id, (string)status!));
        }

        if (body["end_time"] is { } end)
        {
            info["end_time"] = (long)end;
        }

        if (body["run_name"] is { } name)
        {
            info["run_name"] = (string)name!;
        }

        return (200, new JsonObject { ["run_info"] = info.DeepClone() }.ToJsonString());
    }

    private (int, string) LogBatch(IRequestMessage request)
    {
        var body = Body(request);
        var status = LogBatchStatus?.Invoke(body) ?? 200;
        if (status == 200)
        {
            TaskCompletionSource stored;
            lock (Batches)
            {
                Batches.Enqueue(body);
                stored = _nextBatch;
                _nextBatch = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            stored.TrySetResult();
            return (200, "{}");
        }

        return status == 400
            ? (400, Error("INVALID_PARAMETER_VALUE", "Changing param values is not allowed."))
            : (status, Error("TEMPORARILY_UNAVAILABLE", "The server is busy."));
    }

    private (int, string) GetExperimentByName(IRequestMessage request)
    {
        var name = request.Query!["experiment_name"].First();
        var found = _experiments.Values.FirstOrDefault(e => e.Name == name);
        return found.Id is null
            ? (404, Error("RESOURCE_DOES_NOT_EXIST", $"Could not find experiment with name '{name}'"))
            : (200, ExperimentJson(found.Id, found.Name));
    }

    private (int, string) GetExperiment(IRequestMessage request)
    {
        var id = request.Query!["experiment_id"].First();
        return _experiments.TryGetValue(id, out var e)
            ? (200, ExperimentJson(e.Id, e.Name))
            : (404, Error("RESOURCE_DOES_NOT_EXIST", $"No experiment {id}"));
    }

    private (int, string) CreateExperiment(IRequestMessage request)
    {
        var name = (string)Body(request)["name"]!;
        var id = Interlocked.Increment(ref _nextExperiment).ToString(System.Globalization.CultureInfo.InvariantCulture);
        _experiments[id] = (id, name);
        return (200, new JsonObject { ["experiment_id"] = id }.ToJsonString());
    }

    private static string ExperimentJson(string id, string name) =>
        new JsonObject { ["experiment"] = new JsonObject { ["experiment_id"] = id, ["name"] = name, ["lifecycle_stage"] = "active" } }.ToJsonString();
}
