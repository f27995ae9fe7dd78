using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace MLOpsDemo.Mlflow.Tests.Http;

/// <summary>
/// A tiny in-memory MLflow server (experiments/create, get-by-name, runs/create, runs/search) that can "lose" the
/// answer of a request after it has acted on it, to prove that a retried create never makes two objects.
/// </summary>
internal sealed partial class FakeMlflowServer : HttpMessageHandler
{
    private readonly ConcurrentDictionary<string, int> _toLose = new(StringComparer.Ordinal);
    private int _nextId;

    public ConcurrentDictionary<string, string> Experiments { get; } = new(StringComparer.Ordinal);

    public ConcurrentQueue<JsonObject> Runs { get; } = new();

    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>Acts on the next <paramref name="count"/> calls of <paramref name="endpoint"/> but drops the connection instead of answering.</summary>
    public void LoseResponses(string endpoint, int count) => _toLose[endpoint] = count;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var endpoint = request.RequestUri!.AbsolutePath.Replace("/api/2.0/mlflow/", "", StringComparison.Ordinal);
        Calls.Enqueue(endpoint);
        var body = request.Content is null ? null : JsonNode.Parse(await request.Content.ReadAsStringAsync(cancellationToken))!;
        var response = endpoint switch
        {
            "experiments/create" => CreateExperiment((string)body!["name"]!),
            "experiments/get-by-name" => GetExperimentByName(Uri.UnescapeDataString(request.RequestUri.Query.Split('=')[1])),
            "runs/create" => CreateRun(body!),
            "runs/search" => SearchRuns((string?)body!["filter"]),
            _ => Json(HttpStatusCode.NotFound, """{"error_code":"ENDPOINT_NOT_FOUND"}"""),
        };

        if (_toLose.TryGetValue(endpoint, out var remaining) && remaining > 0)
        {
            _toLose[endpoint] = remaining - 1;
            response.Dispose();
            throw new HttpRequestException("The response ended prematurely (connection reset).", new IOException("Connection reset by peer"));
        }

        response.RequestMessage = request;
        return response;
    }

    private HttpResponseMessage CreateExperiment(string name)
    {
        var id = Interlocked.Increment(ref _nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Experiments.TryAdd(name, id)
            ? Json(HttpStatusCode.OK, $$"""{"experiment_id":"{{id}}"}""")
            : Json(HttpStatusCode.BadRequest, $$"""{"error_code":"RESOURCE_ALREADY_EXISTS","message":"Experiment(name={{name}}) already exists."}""");
    }

    private HttpResponseMessage GetExperimentByName(string name) =>
        Experiments.TryGetValue(name, out var id)
            ? Json(HttpStatusCode.OK, $$$"""{"experiment":{"experiment_id":"{{{id}}}","name":"{{{name}}}"}}""")
            : Json(HttpStatusCode.NotFound, """{"error_code":"RESOURCE_DOES_NOT_EXIST"}""");

    private HttpResponseMessage CreateRun(JsonNode body)
    {
        var info = new JsonObject
        {
            ["run_id"] = Guid.NewGuid().ToString("N"),
            ["experiment_id"] = (string)body["experiment_id"]!,
            ["run_name"] = (string?)body["run_name"],
            ["user_id"] = (string?)body["user_id"],
            ["start_time"] = (long)body["start_time"]!,
            ["status"] = "RUNNING",
        };
        Runs.Enqueue(info);
        return Json(HttpStatusCode.OK, new JsonObject { ["run"] = new JsonObject { ["info"] = info.DeepClone() } }.ToJsonString());
    }

    private HttpResponseMessage SearchRuns(string? filter)
    {
        var start = StartTimeRegex().Match(filter ?? "");
        var name = RunNameRegex().Match(filter ?? "");
        var matches = Runs.Where(r => (!start.Success || (long)r["start_time"]! == long.Parse(start.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))
            && (!name.Success || (string?)r["run_name"] == name.Groups[2].Value));
        var runs = new JsonArray(matches.Select(r => (JsonNode)new JsonObject { ["info"] = r.DeepClone() }).ToArray());
        return Json(HttpStatusCode.OK, new JsonObject { ["runs"] = runs }.ToJsonString());
    }

    private static HttpResponseMessage Json(HttpStatusCode status, string json) =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    [GeneratedRegex(@"attributes\.start_time = (\d+)")]
    private static partial Regex StartTimeRegex();

    [GeneratedRegex("""attributes\.run_name = (['"])(.*?)\1""")]
    private static partial Regex RunNameRegex();
}
