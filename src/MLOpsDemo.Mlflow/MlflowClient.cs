using System.Reflection;
using MLOpsDemo.Mlflow.Http;
using MLOpsDemo.Mlflow.Stores;

namespace MLOpsDemo.Mlflow;

/// <summary>
/// The entry point to MLflow: experiments, runs, and (through other members) the model registry, artifacts and
/// projects. Thread-safe; create one per tracking server and share it. The tracking URI chooses the store:
/// <c>http(s)://</c> talks to an MLflow server over REST; <c>sqlite:///…</c> (and no URI at all) writes MLflow's own
/// database locally.
/// </summary>
public partial class MlflowClient : IDisposable
{
    private readonly bool _ownsHttpClient;
    private readonly HttpClient? _httpClient;
    private readonly ITrackingStore _store;
    private readonly Lazy<HttpClient> _unauthenticatedHttpClient;
    private Fluent.LogBatchSlots? _logBatchSlots;
    private int _disposed;

    /// <summary>Creates a client configured from the environment (<c>MLFLOW_TRACKING_URI</c> and the other <c>MLFLOW_*</c> variables).</summary>
    public MlflowClient()
        : this(MlflowClientOptions.FromEnvironment())
    {
    }

    /// <summary>Creates a client for a tracking URI; credentials and HTTP settings still come from the environment.</summary>
    /// <param name="trackingUri">For example <c>http://localhost:5000</c> or <c>sqlite:///mlflow.db</c>.</param>
    public MlflowClient(string trackingUri)
        : this(WithUri(trackingUri))
    {
    }

    /// <summary>Creates a client from options.</summary>
    /// <param name="options">The options; they are copied by reference and must not be changed afterwards.</param>
    public MlflowClient(MlflowClientOptions options)
        : this(options, httpClient: null, ownsHttpClient: true)
    {
    }

    /// <summary>
    /// Creates a client that sends its requests through <paramref name="httpClient"/> (for example one from
    /// <c>IHttpClientFactory</c> that already has the resilience and credential handlers). The tracking URI comes from
    /// <paramref name="options"/>, else from <see cref="HttpClient.BaseAddress"/>.
    /// </summary>
    /// <param name="httpClient">The HTTP client; it is not disposed by this client.</param>
    /// <param name="options">The options, or <see langword="null"/> for the environment's.</param>
    public MlflowClient(HttpClient httpClient, MlflowClientOptions? options = null)
        : this(PrepareForHttpClient(httpClient, options), httpClient ?? throw new ArgumentNullException(nameof(httpClient)), ownsHttpClient: false)
    {
    }

    private MlflowClient(MlflowClientOptions options, HttpClient? httpClient, bool ownsHttpClient)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        var uri = options.TrackingUri ?? TrackingUriInfo.DefaultLocal;
        if (!TrackingUriInfo.TryParse(uri, out var kind, out var error))
        {
            throw new ArgumentException(error, nameof(options));
        }

        switch (kind)
        {
            case TrackingUriKind.Http:
                _httpClient = httpClient ?? MlflowHttp.CreateHttpClient(options);
                _ownsHttpClient = httpClient is null || ownsHttpClient;
                TrackingBaseUri = MlflowHttp.NormalizeBaseUri(uri);
                MlflowHttp.ApplyDefaultHeaders(_httpClient, options);
                _store = new Rest.RestTrackingStore(_httpClient, TrackingBaseUri, options);
                break;
            case TrackingUriKind.Sqlite:
                _store = StoreFactory.CreateSqliteTrackingStore(uri, options);
                break;
            default:
                throw new NotSupportedException(
                    $"The tracking URI '{TrackingUriInfo.Redact(uri)}' is not supported by the core package. Use http(s)://host:port for an MLflow server or sqlite:///mlflow.db for a local store; managed services (databricks, azureml://, SageMaker ARNs) need their optional package.");
        }

        _unauthenticatedHttpClient = new(options.CreateUnauthenticatedHttpClient, LazyThreadSafetyMode.ExecutionAndPublication);
        Experiments = new ExperimentsClient(this);
        Runs = new RunsClient(this);
    }

    /// <summary>Creates a client for mocking; members that use the store throw.</summary>
    protected MlflowClient(bool forMocking)
    {
        _ = forMocking;
        Options = new MlflowClientOptions();
        _store = null!;
        _unauthenticatedHttpClient = new(Options.CreateUnauthenticatedHttpClient, LazyThreadSafetyMode.ExecutionAndPublication);
        Experiments = new ExperimentsClient(this);
        Runs = new RunsClient(this);
    }

    /// <summary>Experiments: create, get, search, rename, delete, restore and tag.</summary>
    public virtual ExperimentsClient Experiments { get; }

    /// <summary>Runs: create, get, update, search, log metrics/params/tags/batches/inputs and read metric history.</summary>
    public virtual RunsClient Runs { get; }

    /// <summary>The tracking URI in use, without credentials.</summary>
    public string TrackingUri => TrackingUriInfo.Redact(Options.TrackingUri ?? TrackingUriInfo.DefaultLocal);

    /// <summary>The options of this client.</summary>
    internal MlflowClientOptions Options { get; }

    /// <summary>The tracking store (REST or SQLite).</summary>
    internal ITrackingStore Store => _store;

    /// <summary>
    /// The log-batch slots shared by the runs of this client (<see cref="RunLoggingOptions.MaxConcurrentBatches"/> of the
    /// options when the first run starts logging). Never disposed: a sender may still release its slot after the client
    /// was disposed, and a <see cref="SemaphoreSlim"/> without a wait handle holds no unmanaged resource.
    /// </summary>
    internal Fluent.LogBatchSlots LogBatchSlots =>
        LazyInitializer.EnsureInitialized(ref _logBatchSlots, () => new Fluent.LogBatchSlots(Options.Logging.MaxConcurrentBatches));

    /// <summary>The HTTP client for REST stores; <see langword="null"/> for local stores.</summary>
    internal HttpClient? HttpClient => _httpClient;

    /// <summary>
    /// The client's pipeline without the tracking credentials (<see cref="MlflowClientOptions.CreateUnauthenticatedHttpClient"/>),
    /// for presigned storage URLs; created on first use, disposed with this client.
    /// </summary>
    internal HttpClient UnauthenticatedHttpClient => _unauthenticatedHttpClient.Value;

    /// <summary>The server's base URI (ending in '/') for REST stores; <see langword="null"/> for local stores.</summary>
    internal Uri? TrackingBaseUri { get; }

    /// <summary>The version of this library, as sent in the User-Agent header.</summary>
    internal static string LibraryVersion { get; } =
        typeof(MlflowClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    /// <summary>Returns a description of the client without secrets.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => $"MlflowClient {{ TrackingUri = {TrackingUri}, Auth = {Options.DescribeAuth()} }}";

    /// <summary>Disposes the store and, if this client created it, the HTTP client.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases resources.</summary>
    /// <param name="disposing">Whether managed resources are released.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (!disposing || Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        OnDisposing();
        _store?.Dispose();
        if (_ownsHttpClient)
        {
            _httpClient?.Dispose();
        }

        if (_unauthenticatedHttpClient.IsValueCreated)
        {
            _unauthenticatedHttpClient.Value.Dispose();
        }
    }

    /// <summary>Hook for partial parts of the client (sub-clients that hold resources).</summary>
    partial void OnDisposing();

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    private static MlflowClientOptions WithUri(string trackingUri)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(trackingUri);
        var options = MlflowClientOptions.FromEnvironment();
        options.TrackingUri = trackingUri;
        return options;
    }

    private static MlflowClientOptions PrepareForHttpClient(HttpClient httpClient, MlflowClientOptions? options)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        options ??= MlflowClientOptions.FromEnvironment();
        if (options.TrackingUri is null && httpClient.BaseAddress is not null)
        {
            options.TrackingUri = httpClient.BaseAddress.ToString();
        }

        return options;
    }
}
