// Artifact transfer benchmark (issue 6). The repository has no benchmark project yet: copy this file into
// tests/MLOpsDemo.Mlflow.Benchmarks (BenchmarkDotNet, net10.0) when it exists. Run with
//   dotnet run -c Release --project tests/MLOpsDemo.Mlflow.Benchmarks -- --filter '*ArtifactTransfer*'
// It serves a local HTTP endpoint (HttpListener, no credentials) that mimics the MLflow artifact proxy, and compares
// the client's streamed upload/download of a 1 GiB file with a plain HttpClient stream copy of the same file.
// Targets (issue 6): peak managed memory <= 64 MiB (see the "Allocated" column and PeakManagedMiB in the log) and
// throughput >= 80 % of the plain copy.
using System.Net;
using BenchmarkDotNet.Attributes;
using MLOpsDemo.Mlflow;

namespace MLOpsDemo.Mlflow.Benchmarks;

[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class ArtifactTransferBenchmarks
{
    private const string RunId = "0123456789abcdef0123456789abcdef";
    private HttpListener _listener = null!;
    private string _baseUrl = null!;
    private string _directory = null!;
    private string _file = null!;
    private MlflowClient _client = null!;
    private HttpClient _plain = null!;
    private CancellationTokenSource _stop = null!;

    /// <summary>File size in MiB (1024 = 1 GiB).</summary>
    [Params(1024)]
    public int SizeMiB { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(Path.GetTempPath(), "mlflow-artifact-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _file = Path.Combine(_directory, "model.bin");
        using (var stream = File.Create(_file))
        {
            var block = new byte[1024 * 1024];
            Random.Shared.NextBytes(block);
            for (var i = 0; i < SizeMiB; i++)
            {
                stream.Write(block);
            }
        }

        var port = 20000 + Random.Shared.Next(20000);
        _baseUrl = $"http://127.0.0.1:{port}/";
        _listener = new HttpListener();
        _listener.Prefixes.Add(_baseUrl);
        _listener.Start();
        _stop = new CancellationTokenSource();
        _ = Task.Run(ServeAsync);
        _client = new MlflowClient(new MlflowClientOptions { TrackingUri = _baseUrl, MaxRetries = 0, Timeout = TimeSpan.FromMinutes(10) });
        _plain = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stop.Cancel();
        _listener.Close();
        _client.Dispose();
        _plain.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Baseline = true, Description = "plain HttpClient PUT (StreamContent)")]
    public async Task PlainUpload()
    {
        await using var stream = new FileStream(_file, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, useAsync: true);
        using var response = await _plain.PutAsync(_baseUrl + "api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/model.bin", new StreamContent(stream, 81920));
        response.EnsureSuccessStatusCode();
    }

    [Benchmark(Description = "ArtifactsClient.LogArtifactAsync")]
    public Task ClientUpload() => _client.Artifacts.LogArtifactAsync(RunId, _file, "bench");

    [Benchmark(Description = "plain HttpClient GET to file")]
    public async Task PlainDownload()
    {
        using var response = await _plain.GetAsync(_baseUrl + "api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/bench/model.bin", HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        await using var output = new FileStream(Path.Combine(_directory, "plain.bin"), FileMode.Create, FileAccess.Write, FileShare.None, 81920, useAsync: true);
        await body.CopyToAsync(output);
    }

    [Benchmark(Description = "ArtifactsClient.DownloadAsync")]
    public Task<string> ClientDownload() => _client.Artifacts.DownloadAsync(RunId, "bench/model.bin", Path.Combine(_directory, "down"));

    [IterationCleanup]
    public void ReportPeak() => Console.WriteLine($"// PeakManagedMiB: {GC.GetGCMemoryInfo().HeapSizeBytes / (1024.0 * 1024):F1}");

    /// <summary>A tiny artifact proxy: runs/get, listing (empty: a file), GET streams the file, PUT drains the body.</summary>
    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                var request = context.Request;
                var response = context.Response;
                var path = request.Url!.AbsolutePath;
                if (path.EndsWith("/runs/get", StringComparison.Ordinal))
                {
                    await WriteJson(response, "{\"run\":{\"info\":{\"run_id\":\"" + RunId + "\",\"artifact_uri\":\"mlflow-artifacts:/1/" + RunId + "/artifacts\"},\"data\":{}}}");
                }
                else if (request.HttpMethod == "PUT")
                {
                    await request.InputStream.CopyToAsync(Stream.Null);
                    await WriteJson(response, "{}");
                }
                else if (request.QueryString["path"] is not null)
                {
                    await WriteJson(response, """{"files":[]}""");
                }
                else
                {
                    await using var file = new FileStream(_file, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, useAsync: true);
                    response.ContentLength64 = file.Length;
                    response.ContentType = "application/octet-stream";
                    await file.CopyToAsync(response.OutputStream);
                    response.Close();
                }
            });
        }
    }

    private static async Task WriteJson(HttpListenerResponse response, string json)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(json);
        response.ContentType = "application/json";
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes);
        response.Close();
    }
}
