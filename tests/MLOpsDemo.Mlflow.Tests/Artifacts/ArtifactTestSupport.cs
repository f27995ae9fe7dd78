using System.Net;
using System.Text;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Tests.Artifacts;

/// <summary>A temporary directory removed after the test.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mlflow-artifacts-tests", Guid.NewGuid().ToString("N"));

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public string Write(string relative, string content) => Write(relative, Encoding.UTF8.GetBytes(content));

    public string Write(string relative, byte[] content)
    {
        var full = Combine(relative.Split('/'));
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, content);
        return full;
    }

    /// <summary>Every file below the directory as relative '/' path → bytes.</summary>
    public static SortedDictionary<string, byte[]> Snapshot(string root) =>
        new(Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .ToDictionary(f => System.IO.Path.GetRelativePath(root, f).Replace('\\', '/'), File.ReadAllBytes), StringComparer.Ordinal);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public static class ArtifactStubs
{
    public const string RunId = "6481551c462e45029bceadec84fda830";
    public const string RunRoot = "1/" + RunId + "/artifacts";
    public const string RunArtifactUri = "mlflow-artifacts:/" + RunRoot;
    public const string ProxyApi = "/api/2.0/mlflow-artifacts/artifacts";

    /// <summary>Answers runs/get for <paramref name="runId"/> with a run whose artifact_uri is <paramref name="artifactUri"/>.</summary>
    public static void StubRun(WireMockServer server, string runId = RunId, string artifactUri = RunArtifactUri) =>
        server.Given(Request.Create().WithPath("/api/2.0/mlflow/runs/get").WithParam("run_id", runId).UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json")
                .WithBody("{\"run\":{\"info\":{\"run_id\":\"" + runId + "\",\"experiment_id\":\"1\",\"artifact_uri\":\"" + artifactUri + "\",\"status\":\"RUNNING\",\"lifecycle_stage\":\"active\"},\"data\":{}}}"));

    public static void StubJson(WireMockServer server, string method, string path, string json, int status = 200, params (string Key, string Value)[] query)
    {
        var request = Request.Create().WithPath(path).UsingMethod(method);
        foreach (var (key, value) in query)
        {
            request = request.WithParam(key, value);
        }

        server.Given(request).RespondWith(Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/json").WithBody(json));
    }

    public static void StubListing(WireMockServer server, string dir, string filesJson) =>
        StubJson(server, "GET", ProxyApi, $$"""{"files":{{filesJson}}}""", 200, ("path", dir));

    public static void StubFile(WireMockServer server, string fullPath, byte[] content) =>
        server.Given(Request.Create().WithPath(ProxyApi + "/" + fullPath).UsingGet())
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/octet-stream").WithBody(content));
}

/// <summary>An in-process transport: records each request (with its body) and answers with a delegate.</summary>
public sealed class RecordingHandler : HttpMessageHandler
{
    private readonly Func<HttpRequestMessage, int, HttpResponseMessage> _respond;
    private int _count;

    public RecordingHandler(Func<HttpRequestMessage, int, HttpResponseMessage> respond) => _respond = respond;

    public List<(HttpMethod Method, Uri Uri, byte[]? Body, string? Authorization)> Requests { get; } = [];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        lock (Requests)
        {
            Requests.Add((request.Method, request.RequestUri!, body, request.Headers.Authorization?.ToString()));
        }

        return _respond(request, Interlocked.Increment(ref _count));
    }

    public static HttpResponseMessage Json(string json, HttpStatusCode status = HttpStatusCode.OK) =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    public static HttpResponseMessage Run(string artifactUri, string runId = ArtifactStubs.RunId) =>
        Json("{\"run\":{\"info\":{\"run_id\":\"" + runId + "\",\"experiment_id\":\"1\",\"artifact_uri\":\"" + artifactUri + "\"},\"data\":{}}}");
}

/// <summary>A response body that sends some bytes and then fails like a dropped connection.</summary>
public sealed class BrokenStream : Stream
{
    private readonly byte[] _prefix;
    private int _position;

    public BrokenStream(byte[] prefix) => _prefix = prefix;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (_position >= _prefix.Length)
        {
            throw new IOException("The connection was reset by the peer (simulated).");
        }

        var n = Math.Min(count, _prefix.Length - _position);
        Array.Copy(_prefix, _position, buffer, offset, n);
        _position += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
