using System.Text.Json.Nodes;
using WireMock.Logging;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Tests.Registry;

/// <summary>Small WireMock helpers for registry tests.</summary>
internal static class RegistryStubs
{
    public const string MlflowApi = "/api/2.0/mlflow";

    public static void Json(WireMockServer server, string method, string path, string body, int status = 200, params (string Key, string Value)[] query)
    {
        var request = Request.Create().WithPath(path).UsingMethod(method);
        foreach (var (key, value) in query)
        {
            request = request.WithParam(key, value);
        }

        server.Given(request).RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body));
    }

    public static void Html404(WireMockServer server, string method, string path) =>
        server.Given(Request.Create().WithPath(path).UsingMethod(method))
            .RespondWith(Response.Create().WithStatusCode(404).WithHeader("Content-Type", "text/html; charset=utf-8").WithBody("<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server.</p>\n"));

    public static string Version(string name, string version, string? runId = null, string stage = "None", string? source = null, string? aliases = null) =>
        $$"""{"name": "{{name}}", "version": "{{version}}", "current_stage": "{{stage}}", "status": "READY", "source": "{{source ?? $"mlflow-artifacts:/1/{runId ?? "r"}/artifacts/model"}}"{{(runId is null ? "" : $", \"run_id\": \"{runId}\"")}}{{(aliases is null ? "" : $", \"aliases\": [\"{aliases}\"]")}}}""";

    public static string Run(string runId, string experimentId = "1", string? metrics = null, string? outputs = null, string? tags = null, string? parameters = null)
    {
        var info = $$"""{"run_id": "{{runId}}", "experiment_id": "{{experimentId}}", "status": "FINISHED", "artifact_uri": "mlflow-artifacts:/{{experimentId}}/{{runId}}/artifacts", "lifecycle_stage": "active"}""";
        var data = "{\"metrics\": [" + metrics + "], \"params\": [" + parameters + "], \"tags\": [" + tags + "]}";
        var outputPart = outputs is null ? "" : ", \"outputs\": {\"model_outputs\": [" + outputs + "]}";
        return "{\"run\": {\"info\": " + info + ", \"data\": " + data + ", \"inputs\": {}" + outputPart + "}}";
    }

    public static IEnumerable<ILogEntry> Calls(WireMockServer server, string method, string pathSuffix) =>
        server.LogEntries.Where(e => e.RequestMessage.Method == method && e.RequestMessage.Path.EndsWith(pathSuffix, StringComparison.Ordinal));

    public static JsonNode Body(ILogEntry entry) => JsonNode.Parse(entry.RequestMessage.Body!)!;
}
