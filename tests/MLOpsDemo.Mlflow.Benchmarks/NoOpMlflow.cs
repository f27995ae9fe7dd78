using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MLOpsDemo.Mlflow.Benchmarks;

/// <summary>
/// An in-process stand-in for an MLflow server that accepts everything: runs/create and runs/update answer a run,
/// anything else <c>{}</c>. The request body is read to the end, as a server would. <see cref="Pause"/> holds
/// log-batch requests until <see cref="Resume"/>, to measure the enqueue cost without the sender competing.
/// </summary>
public sealed class NoOpMlflowHandler : HttpMessageHandler
{
    private volatile TaskCompletionSource? _gate;

    public long Requests;

    public void Pause() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Resume() => Interlocked.Exchange(ref _gate, null)?.TrySetResult();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Requests);
        if (request.Content is not null)
        {
            await request.Content.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
        }

        var path = request.RequestUri!.AbsolutePath;
        if (_gate is { } gate && path.EndsWith("log-batch", StringComparison.Ordinal))
        {
            await gate.Task.ConfigureAwait(false);
        }

        return new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(NoOpMlflow.Answer(path)) { Headers = { { "Content-Type", "application/json" } } } };
    }
}

/// <summary>Clients for the benchmarks.</summary>
public static class NoOpMlflow
{
    private static readonly byte[] s_run = Encoding.UTF8.GetBytes("""{"run":{"info":{"run_id":"bench0000000000000000000000000001","experiment_id":"0","status":"RUNNING","lifecycle_stage":"active"},"data":{}}}""");
    private static readonly byte[] s_runInfo = Encoding.UTF8.GetBytes("""{"run_info":{"run_id":"bench0000000000000000000000000001","experiment_id":"0","status":"FINISHED","lifecycle_stage":"active"}}""");
    private static readonly byte[] s_empty = "{}"u8.ToArray();

    public static byte[] Answer(string path) =>
        path.EndsWith("runs/create", StringComparison.Ordinal) ? s_run
        : path.EndsWith("runs/update", StringComparison.Ordinal) ? s_runInfo
        : s_empty;

    public static MlflowClientOptions Options(string uri, int bufferCapacity)
    {
        var options = new MlflowClientOptions { TrackingUri = uri, MaxRetries = 0 };
        options.Logging.BufferCapacity = bufferCapacity;
        return options;
    }

    /// <summary>A client whose HTTP requests never leave the process.</summary>
    public static MlflowClient InMemory(NoOpMlflowHandler handler, int bufferCapacity = 100_000) =>
        new(new HttpClient(handler) { BaseAddress = new Uri("http://noop.invalid/") }, Options("http://noop.invalid", bufferCapacity));

    /// <summary>Starts Kestrel on a loopback port with no-op MLflow endpoints; returns the app and its URL.</summary>
    public static async Task<(WebApplication App, string Url)> StartKestrelAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.Run(async context =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null);
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(Answer(context.Request.Path.Value ?? ""));
        });
        await app.StartAsync();
        return (app, app.Urls.First());
    }
}
