using DotNet.Testcontainers.Configurations;

namespace MLOpsDemo.Mlflow.TestSupport;

/// <summary>Finds out whether a Docker engine answers (the CLI alone is not enough).</summary>
public static class DockerDetection
{
    private static readonly Lazy<Task<bool>> s_available = new(PingAsync);

    /// <summary>Whether a Docker engine answered a ping within a few seconds (cached for the process).</summary>
    /// <returns><see langword="true"/> when Docker can run containers.</returns>
    public static Task<bool> IsAvailableAsync() => s_available.Value;

    private static async Task<bool> PingAsync()
    {
        try
        {
            // Testcontainers resolves the endpoint as it would for a container (DOCKER_HOST, ~/.testcontainers.properties, the socket).
            var endpoint = TestcontainersSettings.OS.DockerEndpointAuthConfig?.Endpoint;
            if (endpoint is null)
            {
                return false;
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var handler = new SocketsHttpHandler();
            Uri pingUri;
            if (endpoint.Scheme == "unix")
            {
                var socketPath = endpoint.LocalPath;
                if (!File.Exists(socketPath))
                {
                    return false;
                }

                handler.ConnectCallback = async (_, ct) =>
                {
                    var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                    await socket.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(socketPath), ct).ConfigureAwait(false);
                    return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                };
                pingUri = new Uri("http://docker/_ping");
            }
            else
            {
                pingUri = new UriBuilder(endpoint) { Scheme = endpoint.Port == 2376 ? "https" : "http", Path = "/_ping" }.Uri;
            }

            using var http = new HttpClient(handler);
            using var response = await http.GetAsync(pingUri, timeout.Token).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (Exception)
        {
            return false;
        }
    }
}
