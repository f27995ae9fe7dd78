using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MLOpsDemo.Mlflow.Tests.Http;

/// <summary>What the raw server does with one request.</summary>
/// <param name="Reset">Reset the TCP connection (RST) instead of answering.</param>
/// <param name="Delay">Wait before answering (or resetting).</param>
/// <param name="Status">The HTTP status.</param>
/// <param name="Body">The JSON body.</param>
internal sealed record RawReply(bool Reset = false, TimeSpan Delay = default, int Status = 200, string Body = "{}");

/// <summary>
/// A minimal HTTP/1.1 server on a real socket: one request per connection (<c>Connection: close</c>), answering with
/// what <c>reply</c> says for the n-th request, including real TCP resets and delays, which WireMock cannot do.
/// </summary>
internal sealed class RawHttpServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<int, string, RawReply> _reply;
    private readonly CancellationTokenSource _stop = new();
    private int _count;

    public RawHttpServer(Func<int, string, RawReply> reply)
    {
        _reply = reply;
        _listener.Start();
        Url = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _ = AcceptLoopAsync();
    }

    public string Url { get; }

    /// <summary>The request lines received (e.g. <c>POST /api/2.0/mlflow/runs/create</c>) with bodies, in order.</summary>
    public ConcurrentQueue<(string Line, string Body)> Requests { get; } = new();

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            _ = HandleAsync(socket);
        }
    }

    private async Task HandleAsync(Socket socket)
    {
        using var _ = socket;
        try
        {
            var (line, body) = await ReadRequestAsync(socket);
            Requests.Enqueue((line, body));
            var reply = _reply(Interlocked.Increment(ref _count), line);
            if (reply.Delay > TimeSpan.Zero)
            {
                await Task.Delay(reply.Delay, _stop.Token);
            }

            if (reply.Reset)
            {
                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
                return;
            }

            var payload = Encoding.UTF8.GetBytes(reply.Body);
            var head = $"HTTP/1.1 {reply.Status} X\r\nContent-Type: application/json\r\nContent-Length: {payload.Length}\r\nConnection: close\r\n\r\n";
            await socket.SendAsync(Encoding.ASCII.GetBytes(head).Concat(payload).ToArray(), SocketFlags.None);
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception)
        {
            // The client went away (e.g. its attempt timed out): nothing to do.
        }
    }

    private static async Task<(string Line, string Body)> ReadRequestAsync(Socket socket)
    {
        var buffer = new byte[64 * 1024];
        var received = 0;
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None);
            if (n == 0)
            {
                break;
            }

            received += n;
            var text = Encoding.UTF8.GetString(buffer, 0, received);
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0)
            {
                continue;
            }

            var headers = text[..end];
            var length = headers.Split("\r\n").Where(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                .Select(h => int.Parse(h["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
            if (received - (end + 4) >= length)
            {
                return (headers.Split("\r\n")[0].Replace(" HTTP/1.1", "", StringComparison.Ordinal), text.Substring(end + 4, length));
            }
        }

        return ("", "");
    }
}
