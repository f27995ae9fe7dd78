using System.Globalization;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MLOpsDemo.Mlflow.Benchmarks;

/// <summary>
/// Artifact transfer (issue 6): the client's streamed upload (<c>LogArtifactAsync</c>, one PUT through the artifact
/// proxy) and download (<c>DownloadAsync</c>, temp file then move) of one file, next to a plain <see cref="HttpClient"/>
/// stream copy of the same file against the same in-process Kestrel endpoint. The file size is a parameter: 1 GiB by
/// default, <c>MLFLOW_BENCH_ARTIFACT_MIB=64</c> for a quick run. Peak managed memory is sampled every 5 ms during each
/// iteration (whole process, so the in-process server counts too: an upper bound) and printed as <c>// PeakManagedMiB</c>.
/// Targets: peak managed memory ≤ 64 MiB, throughput ≥ 80 % of the plain copy.
/// </summary>
[MemoryDiagnoser]
[MinColumn, MedianColumn]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3, invocationCount: 1)]
public class ArtifactTransferBenchmarks
{
    private const string RunId = "0123456789abcdef0123456789abcdef";
    private WebApplication _app = null!;
    private string _baseUrl = null!;
    private string _directory = null!;
    private string _file = null!;
    private MlflowClient _client = null!;
    private HttpClient _plain = null!;
    private Timer? _sampler;
    private long _peak;

    /// <summary>File sizes in MiB: <c>MLFLOW_BENCH_ARTIFACT_MIB</c> (comma-separated) or 1024 (1 GiB).</summary>
    public static IEnumerable<int> Sizes() =>
        (Environment.GetEnvironmentVariable("MLFLOW_BENCH_ARTIFACT_MIB") ?? "1024").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture));

    [ParamsSource(nameof(Sizes))]
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

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = null);
        _app = builder.Build();
        _app.Run(ServeAsync);
        _app.StartAsync().GetAwaiter().GetResult();
        _baseUrl = _app.Urls.First().TrimEnd('/') + "/";
        _client = new MlflowClient(new MlflowClientOptions { TrackingUri = _baseUrl, MaxRetries = 0, Timeout = TimeSpan.FromMinutes(10) });
        _plain = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
    }

    [IterationSetup]
    public void StartSampling()
    {
        GC.Collect();
        _peak = GC.GetTotalMemory(false);
        _sampler = new Timer(_ => InterlockedMax(ref _peak, GC.GetTotalMemory(false)), null, 0, 5);
    }

    [IterationCleanup]
    public void ReportPeak()
    {
        _sampler?.Dispose();
        InterlockedMax(ref _peak, GC.GetTotalMemory(false));
        Console.WriteLine($"// PeakManagedMiB: {_peak / (1024.0 * 1024):F1}");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _plain.Dispose();
        _app.StopAsync().GetAwaiter().GetResult();
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
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync();
        await using var output = new FileStream(Path.Combine(_directory, "plain.bin"), FileMode.Create, FileAccess.Write, FileShare.None, 81920, useAsync: true);
        await body.CopyToAsync(output);
    }

    [Benchmark(Description = "ArtifactsClient.DownloadAsync")]
    public Task<string> ClientDownload() => _client.Artifacts.DownloadAsync(RunId, "bench/model.bin", Path.Combine(_directory, "down"));

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Volatile.Read(ref target);
        while (value > current && Interlocked.CompareExchange(ref target, value, current) is var seen && seen != current)
        {
            current = seen;
        }
    }

    /// <summary>A tiny artifact proxy: runs/get, listing (empty: the path is a file), mpu/* 501, GET streams the file, PUT drains the body.</summary>
    private async Task ServeAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var path = request.Path.Value ?? "";
        if (path.EndsWith("/runs/get", StringComparison.Ordinal))
        {
            response.ContentType = "application/json";
            await response.WriteAsync("{\"run\":{\"info\":{\"run_id\":\"" + RunId + "\",\"experiment_id\":\"1\",\"artifact_uri\":\"mlflow-artifacts:/1/" + RunId + "/artifacts\"},\"data\":{}}}");
        }
        else if (path.Contains("/mlflow-artifacts/mpu/", StringComparison.Ordinal))
        {
            // Like `mlflow server --serve-artifacts` over a local artifact root: no multipart, one streamed PUT.
            response.StatusCode = StatusCodes.Status501NotImplemented;
            response.ContentType = "application/json";
            await response.WriteAsync("""{"error_code":"NOT_IMPLEMENTED","message":"Multipart upload is not supported for the current artifact repository"}""");
        }
        else if (HttpMethods.IsPut(request.Method))
        {
            await request.Body.CopyToAsync(Stream.Null);
            response.ContentType = "application/json";
            await response.WriteAsync("{}");
        }
        else if (request.Query.ContainsKey("path") || path.EndsWith("/artifacts/list", StringComparison.Ordinal))
        {
            response.ContentType = "application/json";
            await response.WriteAsync("""{"files":[]}""");
        }
        else
        {
            response.ContentType = "application/octet-stream";
            response.ContentLength = new FileInfo(_file).Length;
            await response.SendFileAsync(_file);
        }
    }
}
