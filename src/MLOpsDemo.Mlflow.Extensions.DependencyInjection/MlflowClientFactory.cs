using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MLOpsDemo.Mlflow.Extensions.DependencyInjection;

/// <summary>Creates a client from its HTTP client and options (replaced in tests).</summary>
internal sealed class MlflowClientActivator(Func<HttpClient, MlflowClientOptions, MlflowClient> create)
{
    public static MlflowClientActivator Default { get; } = new((http, options) => new MlflowClient(http, options));

    public Func<HttpClient, MlflowClientOptions, MlflowClient> Create { get; } = create;
}

/// <summary>The names under which clients were registered.</summary>
internal sealed class MlflowClientRegistry
{
    private readonly ConcurrentDictionary<string, byte> _names = new(StringComparer.Ordinal);

    public void Add(string name) => _names.TryAdd(name, 0);

    public bool Contains(string name) => _names.ContainsKey(name);

    public IEnumerable<string> Names => _names.Keys;
}

/// <summary>Creates one <see cref="MlflowClient"/> per registered name, on first use, and disposes them.</summary>
internal sealed class MlflowClientFactory(
    IHttpClientFactory httpClientFactory,
    IOptionsMonitor<MlflowClientOptions> optionsMonitor,
    MlflowClientRegistry registry,
    MlflowClientActivator activator) : IMlflowClientFactory, IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<MlflowClient>> _clients = new(StringComparer.Ordinal);
    private int _disposed;

    public MlflowClient GetClient(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!registry.Contains(name))
        {
            throw new InvalidOperationException(
                $"No MLflow client is registered under the name '{name}'. Register it with services.AddMlflowClient(\"{name}\", ...); registered names: {string.Join(", ", registry.Names.Select(n => n.Length == 0 ? "(default)" : n))}.");
        }

        return _clients.GetOrAdd(name, n => new Lazy<MlflowClient>(() => Create(n))).Value;
    }

    /// <summary>The clients created so far.</summary>
    public IReadOnlyList<MlflowClient> CreatedClients =>
        _clients.Values.Where(l => l.IsValueCreated).Select(l => l.Value).ToList();

    private MlflowClient Create(string name)
    {
        var httpName = MlflowClientNames.HttpClientName(name);
        var options = optionsMonitor.Get(httpName);
        var http = httpClientFactory.CreateClient(httpName);
        return activator.Create(http, options);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var client in CreatedClients)
        {
            client.Dispose();
        }
    }
}

/// <summary>Maps client names to the names of their HTTP clients and options.</summary>
internal static class MlflowClientNames
{
    public const string Prefix = "MLOpsDemo.Mlflow";

    public static string HttpClientName(string name) => name.Length == 0 ? Prefix : Prefix + ":" + name;

    /// <summary>The named HttpClient without credentials (presigned URLs, token endpoints) of client <paramref name="name"/>.</summary>
    public static string UnauthenticatedHttpClientName(string name) => Prefix + ".Unauthenticated" + (name.Length == 0 ? "" : ":" + name);
}

/// <summary>Log messages of the DI package.</summary>
internal static partial class MlflowHostingLog
{
    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Flushing the active runs of MLflow client {Client} did not finish within the host's shutdown timeout.")]
    public static partial void FlushTimedOut(ILogger logger, string client);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "Flushing the active runs of MLflow client {Client} failed with {ExceptionType}: {Reason}")]
    public static partial void FlushFailed(ILogger logger, string client, string exceptionType, string reason);
}
