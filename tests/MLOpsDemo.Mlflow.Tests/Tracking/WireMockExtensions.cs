using System.Text.Json.Nodes;
using WireMock.Logging;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Tests.Tracking;

internal static class WireMockExtensions
{
    /// <summary>Answers <paramref name="method"/> <paramref name="path"/> with a JSON body, at a low priority (100) so that more specific stubs win.</summary>
    public static void Json(this WireMockServer server, string method, string path, string body, int status = 200) =>
        server.Given(Request.Create().WithPath(path).UsingMethod(method)).AtPriority(100)
            .RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(body));

    public static JsonNode Body(this ILogEntry entry) => JsonNode.Parse(entry.RequestMessage.Body ?? throw new InvalidOperationException("no body"))!;

    public static string? QueryValue(this ILogEntry entry, string key) =>
        entry.RequestMessage.Query is { } q && q.TryGetValue(key, out var v) ? string.Join(",", v) : null;

    /// <summary>Asserts method, path, JSON body (semantically) and, optionally, the exact query.</summary>
    public static void AssertRequest(this ILogEntry entry, string method, string path, string? json = null, string? query = null)
    {
        Assert.Equal(method, entry.RequestMessage.Method, ignoreCase: true);
        Assert.Equal(path, entry.RequestMessage.AbsolutePath);
        if (json is not null)
        {
            var expected = JsonNode.Parse(json);
            var actual = entry.Body();
            Assert.True(JsonNode.DeepEquals(expected, actual), $"expected {expected!.ToJsonString()}\nactual   {actual.ToJsonString()}");
            Assert.StartsWith("application/json", entry.RequestMessage.Headers!["Content-Type"].Single(), StringComparison.Ordinal);
        }

        if (query is not null)
        {
            var actualQuery = new Uri(entry.RequestMessage.Url).Query.TrimStart('?');
            Assert.Equal(query, Uri.UnescapeDataString(actualQuery));
        }
    }
}
