using System.Net.Http.Headers;

namespace MLOpsDemo.Mlflow.Http;

/// <summary>Builds the HTTP pipeline of a client that creates its own <see cref="HttpClient"/>.</summary>
internal static class MlflowHttp
{
    /// <summary>
    /// The client's pipeline: observability → resilience → [credential] → sockets (TLS per
    /// <see cref="MlflowClientOptions.InsecureTls"/>). <paramref name="authenticate"/> <see langword="false"/> leaves out
    /// the credential, for presigned URLs and token endpoints.
    /// </summary>
    public static HttpClient CreateHttpClient(MlflowClientOptions options, bool authenticate = true)
    {
        var socketsHandler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AutomaticDecompression = System.Net.DecompressionMethods.All,
        };
        if (options.InsecureTls)
        {
#pragma warning disable CA5359 // The user opted out of verification explicitly (MLFLOW_TRACKING_INSECURE_TLS); off by default.
            socketsHandler.SslOptions.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
#pragma warning restore CA5359
        }

        HttpMessageHandler handler = socketsHandler;
        if (authenticate && MlflowCredential.FromOptions(options) is { } credential)
        {
            handler = new MlflowCredentialHandler(credential) { InnerHandler = handler };
        }

        var resilience = new MlflowResilienceHandler(options) { InnerHandler = handler };
        resilience.Retrying += MlflowObservabilityHandler.RecordRetry;
        handler = new MlflowObservabilityHandler(options.LoggerFactory) { InnerHandler = resilience };
        return new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>Adds <c>mlflow-dotnet-client/&lt;version&gt;</c> to the User-Agent unless it is there.</summary>
    public static void ApplyUserAgent(HttpClient client)
    {
        lock (client)
        {
            var headers = client.DefaultRequestHeaders;
            if (!headers.UserAgent.Any(p => p.Product?.Name == "mlflow-dotnet-client"))
            {
                headers.UserAgent.Add(new ProductInfoHeaderValue("mlflow-dotnet-client", MlflowClient.LibraryVersion));
            }
        }
    }

    public static void ApplyDefaultHeaders(HttpClient client, MlflowClientOptions options)
    {
        ApplyUserAgent(client);
        lock (client)
        {
            var headers = client.DefaultRequestHeaders;

            if (options.Workspace is { } workspace && !headers.Contains("X-MLFLOW-WORKSPACE"))
            {
                headers.TryAddWithoutValidation("X-MLFLOW-WORKSPACE", workspace);
            }
        }
    }

    /// <summary>Turns a tracking URI into a base URI ending in '/', keeping any path prefix.</summary>
    public static Uri NormalizeBaseUri(string trackingUri)
    {
        var builder = new UriBuilder(trackingUri) { UserName = "", Password = "", Query = "", Fragment = "" };
        if (!builder.Path.EndsWith('/'))
        {
            builder.Path += "/";
        }

        return builder.Uri;
    }
}
