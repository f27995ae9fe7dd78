using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using WireMock.Logging;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Tests.Projects;

/// <summary>A WireMock tracking server that accepts the calls a project run makes.</summary>
internal static class FakeTrackingServer
{
    public const string RunId = "0123456789abcdef0123456789abcdef";

    public static WireMockServer Start(string experimentId = "5")
    {
        var server = WireMockServer.Start();
        var info = $"{{\"run_id\":\"{RunId}\",\"experiment_id\":\"{experimentId}\",\"status\":\"RUNNING\",\"start_time\":1,\"artifact_uri\":\"mlflow-artifacts:/{experimentId}/{RunId}/artifacts\",\"lifecycle_stage\":\"active\"}}";
        Stub(server, "/api/2.0/mlflow/runs/create", $"{{\"run\":{{\"info\":{info},\"data\":{{}}}}}}", post: true);
        Stub(server, "/api/2.0/mlflow/runs/get", $"{{\"run\":{{\"info\":{info},\"data\":{{}}}}}}", post: false);
        Stub(server, "/api/2.0/mlflow/runs/update", $"{{\"run_info\":{info}}}", post: true);
        Stub(server, "/api/2.0/mlflow/runs/log-batch", "{}", post: true);
        Stub(server, "/api/2.0/mlflow/runs/set-tag", "{}", post: true);
        return server;
    }

    private static void Stub(WireMockServer server, string path, string body, bool post)
    {
        var request = Request.Create().WithPath(path);
        server.Given(post ? request.UsingPost() : request.UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(body));
    }

    public static List<(string Path, JsonNode? Body)> Calls(WireMockServer server) =>
        server.LogEntries
            .OrderBy(e => e.RequestMessage.DateTime)
            .Select(e => (e.RequestMessage.Path, e.RequestMessage.Body is { Length: > 0 } b ? JsonNode.Parse(b) : null))
            .ToList();

    public static Dictionary<string, string> Pairs(JsonNode? list) =>
        list!.AsArray().ToDictionary(n => (string)n!["key"]!, n => (string)n!["value"]!);

    public static List<KeyValuePair<string, string>> OrderedPairs(JsonNode? list) =>
        list!.AsArray().Select(n => new KeyValuePair<string, string>((string)n!["key"]!, (string)n!["value"]!)).ToList();

    public static ILogEntry Single(WireMockServer server, string path) => Assert.Single(server.LogEntries, e => e.RequestMessage.Path == path);
}

/// <summary>Collects log messages.</summary>
internal sealed class ListLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Messages { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Messages.Enqueue((logLevel, formatter(state, exception)));

    public string All => string.Join("\n", Messages.Select(m => m.Message));
}

/// <summary>A temporary project folder.</summary>
internal sealed class TempProject : IDisposable
{
    public TempProject(string mlproject, params (string Name, string Content)[] files)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("mlproject-run-").FullName;
        if (mlproject.Length > 0)
        {
            File.WriteAllText(Path.Combine(Directory, "MLproject"), mlproject);
        }

        foreach (var (name, content) in files)
        {
            File.WriteAllText(Path.Combine(Directory, name), content);
        }
    }

    public string Directory { get; }

    public string PathOf(string name) => Path.Combine(Directory, name);

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
