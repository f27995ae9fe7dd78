using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using WireMock.Logging;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Tests.TestSupport;

/// <summary>One recorded request/response pair from TestData/mlflow-golden (see TestData/README.md).</summary>
public sealed class GoldenExchange
{
    private GoldenExchange(string version, string file, JsonObject root)
    {
        Version = version;
        File = file;
        Root = root;
    }

    /// <summary>"3.11" or "2.22".</summary>
    public string Version { get; }

    /// <summary>The file name, e.g. 022-runs-create-with-tags.json.</summary>
    public string File { get; }

    /// <summary>The whole parsed file.</summary>
    public JsonObject Root { get; }

    public JsonObject Request => Root["request"]!.AsObject();

    public JsonObject Response => Root["response"]!.AsObject();

    public string Method => (string)Request["method"]!;

    public string Path => (string)Request["path"]!;

    public int Status => (int)Response["status"]!;

    public JsonNode? RequestJson => Request["json"];

    public JsonNode? ResponseJson => Response["json"];

    public string? ResponseText => (string?)Response["text"];

    public byte[]? RequestBytes => Request["body_base64"] is JsonNode b ? Convert.FromBase64String((string)b!) : null;

    public byte[]? ResponseBytes => Response["body_base64"] is JsonNode b ? Convert.FromBase64String((string)b!) : null;

    public string? ResponseContentType => Response["headers"]?["Content-Type"] is JsonNode n ? (string?)n : null;

    public string? RequestContentType => Request["headers"]?["Content-Type"] is JsonNode n ? (string?)n : null;

    /// <summary>Query parameters: each value a list (repeated keys give several).</summary>
    public IReadOnlyDictionary<string, string[]> Query
    {
        get
        {
            var result = new Dictionary<string, string[]>(StringComparer.Ordinal);
            if (Request["query"] is JsonObject query)
            {
                foreach (var (key, value) in query)
                {
                    result[key] = value is JsonArray array ? array.Select(v => (string)v!).ToArray() : [(string)value!];
                }
            }

            return result;
        }
    }

    /// <summary>The volatile JSON pointers of the recording.</summary>
    public IReadOnlyList<string> Volatile => Root["volatile"] is JsonArray v ? v.Select(x => (string)x!).ToList() : [];

    /// <summary>The folder that holds the recordings: TestData/mlflow-golden in the test output folder.</summary>
    public static string Directory { get; } = FindDirectory();

    /// <summary>The folder that holds the copied MLflow reference texts (MODELS.md and the others).</summary>
    public static string ReferenceDirectory { get; } = System.IO.Path.Combine(AppContext.BaseDirectory, "TestData", "mlflow-reference");

    /// <summary>Loads one recording, e.g. Load("3.11", "022-runs-create-with-tags").</summary>
    public static GoldenExchange Load(string version, string name)
    {
        var file = name.EndsWith(".json", StringComparison.Ordinal) ? name : name + ".json";
        var path = System.IO.Path.Combine(Directory, version, file);
        var root = JsonNode.Parse(System.IO.File.ReadAllText(path))!.AsObject();
        return new GoldenExchange(version, file, root);
    }

    /// <summary>Whether a recording exists (some steps are not recorded on one version).</summary>
    public static bool Exists(string version, string name) =>
        System.IO.File.Exists(System.IO.Path.Combine(Directory, version, name.EndsWith(".json", StringComparison.Ordinal) ? name : name + ".json"));

    /// <summary>The names (without .json) of all recordings of a version whose number is in [from, to].</summary>
    /// <remarks>Never empty: a theory fed from here must not collapse to zero cases when the data is missing.</remarks>
    public static IEnumerable<string> Names(string version, int from, int to)
    {
        var folder = System.IO.Path.Combine(Directory, version);
        var names = System.IO.Directory.EnumerateFiles(folder, "???-*.json")
            .Select(System.IO.Path.GetFileNameWithoutExtension)
            .Where(n => int.Parse(n![..3], System.Globalization.CultureInfo.InvariantCulture) is var k && k >= from && k <= to)
            .Order(StringComparer.Ordinal)
            .ToList();
        if (names.Count == 0)
        {
            throw new InvalidOperationException($"No recordings {from:000}-{to:000} found in '{folder}'.");
        }

        return names!;
    }

    /// <summary>Adds a stub that answers this exchange's request with the recorded response.</summary>
    public void Stub(WireMockServer server)
    {
        var request = WireMock.RequestBuilders.Request.Create().WithPath(Path).UsingMethod(Method);
        foreach (var (key, values) in Query)
        {
            request = request.WithParam(key, values);
        }

        var response = WireMock.ResponseBuilders.Response.Create().WithStatusCode(Status);
        if (ResponseContentType is { } contentType)
        {
            response = response.WithHeader("Content-Type", contentType);
        }

        if (ResponseJson is { } json)
        {
            response = response.WithBody(json.ToJsonString());
        }
        else if (ResponseText is { } text)
        {
            response = response.WithBody(text);
        }
        else if (ResponseBytes is { } bytes)
        {
            response = response.WithBody(bytes);
        }

        server.Given(request).RespondWith(response);
    }

    /// <summary>
    /// Asserts that a logged request equals the recording: method, path, query, Content-Type media type, and the JSON
    /// body after blanking the volatile pointers under /request/json (or the raw bytes for uploads).
    /// </summary>
    public void AssertRequestMatches(ILogEntry entry)
    {
        var actual = entry.RequestMessage;
        Assert.Equal(Method, actual.Method, ignoreCase: true);
        Assert.Equal(Path, Uri.UnescapeDataString(actual.AbsolutePath));

        var actualQuery = (actual.Query ?? new Dictionary<string, WireMock.Types.WireMockList<string>>())
            .ToDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.Ordinal);
        var expectedQuery = Query;
        Assert.Equal(expectedQuery.Keys.Order(StringComparer.Ordinal), actualQuery.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, values) in expectedQuery)
        {
            if (IsVolatile($"/request/query/{key}"))
            {
                continue;
            }

            Assert.Equal(values, actualQuery[key]);
        }

        if (RequestContentType is { } expectedType)
        {
            WireMock.Types.WireMockList<string>? types = null;
            Assert.True(actual.Headers is not null && actual.Headers.TryGetValue("Content-Type", out types), $"{File}: the request has no Content-Type.");
            var media = types!.First().Split(';')[0].Trim();
            Assert.Equal(expectedType.Split(';')[0].Trim(), media, ignoreCase: true);
        }

        if (RequestJson is { } expectedJson)
        {
            var actualJson = JsonNode.Parse(actual.Body ?? throw new Xunit.Sdk.XunitException($"{File}: the request has no body."));
            var expected = Blank(expectedJson.DeepClone(), "/request/json");
            var got = Blank(actualJson!, "/request/json");
            Assert.True(
                JsonNode.DeepEquals(Normalize(expected), Normalize(got)),
                $"{File}: request body differs.\nexpected: {expected.ToJsonString()}\nactual:   {got.ToJsonString()}");
        }
        else if (RequestBytes is { } bytes)
        {
            Assert.Equal(bytes, actual.BodyAsBytes ?? Encoding.UTF8.GetBytes(actual.Body ?? ""));
        }
    }

    private bool IsVolatile(string pointer) => Volatile.Any(v => v == pointer);

    /// <summary>Replaces every volatile value under <paramref name="prefix"/> with null.</summary>
    private JsonNode Blank(JsonNode node, string prefix)
    {
        foreach (var pointer in Volatile.Where(v => v.StartsWith(prefix + "/", StringComparison.Ordinal)))
        {
            var parts = pointer[(prefix.Length + 1)..].Split('/').Select(p => p.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
            JsonNode? current = node;
            for (var i = 0; i < parts.Length - 1 && current is not null; i++)
            {
                current = current is JsonArray arr ? (int.TryParse(parts[i], out var idx) && idx < arr.Count ? arr[idx] : null) : current[parts[i]];
            }

            var last = parts[^1];
            if (current is JsonObject obj && obj.ContainsKey(last))
            {
                obj[last] = null;
            }
            else if (current is JsonArray array && int.TryParse(last, out var index) && index < array.Count)
            {
                array[index] = null;
            }
        }

        return node;
    }

    /// <summary>Numbers compare by value (0.0 equals 0).</summary>
    private static JsonNode? Normalize(JsonNode? node) => node switch
    {
        JsonObject obj => new JsonObject(obj.Select(kv => KeyValuePair.Create(kv.Key, Normalize(kv.Value)))),
        JsonArray arr => new JsonArray(arr.Select(Normalize).ToArray()),
        JsonValue value when value.GetValueKind() == JsonValueKind.Number => JsonValue.Create(value.GetValue<double>()),
        _ => node?.DeepClone(),
    };

    private static string FindDirectory()
    {
        // The recordings are part of this test project (TestData/mlflow-golden, copied to the output folder); see
        // TestData/README.md for where they came from. A missing folder is a broken checkout: fail loudly, naming it.
        var golden = System.IO.Path.Combine(AppContext.BaseDirectory, "TestData", "mlflow-golden");
        if (!System.IO.Directory.Exists(golden))
        {
            throw new InvalidOperationException(
                $"The golden recordings are missing: expected the folder '{golden}' (copied from tests/MLOpsDemo.Mlflow.Tests/TestData/mlflow-golden by the build).");
        }

        return golden;
    }

    public override string ToString() => $"{Version}/{File}";
}

/// <summary>Creates clients and servers for WireMock-based tests.</summary>
public static class TestClients
{
    /// <summary>A client for <paramref name="server"/> with retries off (unless given) and no environment influence.</summary>
    public static MlflowClient For(WireMockServer server, Action<MlflowClientOptions>? configure = null)
    {
        var options = new MlflowClientOptions { TrackingUri = server.Url!, MaxRetries = 0, Timeout = TimeSpan.FromSeconds(30) };
        configure?.Invoke(options);
        return new MlflowClient(options);
    }

    /// <summary>Replays one golden exchange: starts a server with its stub and returns both.</summary>
    public static (WireMockServer Server, MlflowClient Client, GoldenExchange Exchange) Replay(string version, string name, Action<MlflowClientOptions>? configure = null)
    {
        var exchange = GoldenExchange.Load(version, name);
        var server = WireMockServer.Start();
        exchange.Stub(server);
        return (server, For(server, configure), exchange);
    }
}
