using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using MLOpsDemo.Mlflow.TestSupport;

[assembly: AssemblyFixture(typeof(MLOpsDemo.Mlflow.IntegrationTests.Infrastructure.MlflowServerFixture))]

namespace MLOpsDemo.Mlflow.IntegrationTests.Infrastructure;

/// <summary>
/// One MLflow tracking server for the whole test assembly (xunit v3 assembly fixture; take it as a constructor
/// parameter). It uses <c>MLFLOW_TEST_TRACKING_URI</c> when set; otherwise it starts <see cref="DefaultImage"/>
/// (override with <c>MLFLOW_TEST_IMAGE</c>) with Testcontainers when a Docker engine answers; otherwise it is
/// unavailable and every test calls <see cref="SkipIfUnavailable"/>, which skips with "Docker not available".
/// </summary>
public sealed class MlflowServerFixture : IAsyncLifetime
{
    /// <summary>The MLflow 3.x image started when no external server is given.</summary>
    public const string DefaultImage = "ghcr.io/mlflow/mlflow:v3.1.0";

    /// <summary>The skip reason when neither Docker nor <c>MLFLOW_TEST_TRACKING_URI</c> is available.</summary>
    public const string SkipReason = "Docker not available";

    private IContainer? _container;
    private Exception? _startFailure;
    private volatile int _majorVersion; // 0 until asked; tests ask concurrently and all get the same answer

    /// <summary>The tracking URI of the server, or <see langword="null"/> when unavailable.</summary>
    public string? TrackingUri { get; private set; }

    /// <summary>Where the server comes from: "MLFLOW_TEST_TRACKING_URI", the image name, or "unavailable".</summary>
    public string Source { get; private set; } = "unavailable";

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable("MLFLOW_TEST_TRACKING_URI");
        if (!string.IsNullOrWhiteSpace(external))
        {
            TrackingUri = external.Trim();
            Source = "MLFLOW_TEST_TRACKING_URI";
            return;
        }

        if (!await DockerDetection.IsAvailableAsync().ConfigureAwait(false))
        {
            return;
        }

        var image = Environment.GetEnvironmentVariable("MLFLOW_TEST_IMAGE") is { Length: > 0 } custom ? custom : DefaultImage;
        try
        {
            _container = new ContainerBuilder(image)
                .WithCommand("mlflow", "server", "--host", "0.0.0.0", "--port", "5000")
                .WithEnvironment("MLFLOW_SERVER_ALLOWED_HOSTS", "*") // MLflow >= 3.5 refuses unknown Host headers (403)
                .WithPortBinding(5000, assignRandomHostPort: true)
                .WithWaitStrategy(Wait.ForUnixContainer().UntilHttpRequestIsSucceeded(r => r.ForPort(5000).ForPath("/health")))
                .Build();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            await _container.StartAsync(timeout.Token).ConfigureAwait(false);
            TrackingUri = $"http://{_container.Hostname}:{_container.GetMappedPublicPort(5000)}";
            Source = image;
        }
        catch (Exception ex)
        {
            // Docker answers but the server did not start: tests fail with this cause instead of skipping.
            _startFailure = ex;
        }
    }

    /// <summary>
    /// Skips the calling test with <see cref="SkipReason"/> when there is no server because there is no Docker and no
    /// <c>MLFLOW_TEST_TRACKING_URI</c>; fails it when Docker is there but the container could not start.
    /// </summary>
    public void SkipIfUnavailable()
    {
        if (_startFailure is not null)
        {
            throw new InvalidOperationException($"Docker is available but the MLflow container did not start: {_startFailure.Message}", _startFailure);
        }

        Assert.SkipWhen(TrackingUri is null, SkipReason);
    }

    /// <summary>Creates a client for the server (after <see cref="SkipIfUnavailable"/>), with a few quick retries.</summary>
    /// <param name="configure">Changes the options.</param>
    /// <returns>A new client; dispose it.</returns>
    public MlflowClient CreateClient(Action<MlflowClientOptions>? configure = null)
    {
        SkipIfUnavailable();
        var options = new MlflowClientOptions { TrackingUri = TrackingUri, MaxRetries = 3, BackoffFactor = TimeSpan.FromMilliseconds(200), Timeout = TimeSpan.FromSeconds(60) };
        configure?.Invoke(options);
        return new MlflowClient(options);
    }

    /// <summary>
    /// The major version of the server (<c>GET /version</c>, asked once): tests take their "only on MLflow 3" branches
    /// from it, not from the errors an older server answers.
    /// </summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>2 or 3.</returns>
    public async Task<int> GetMajorVersionAsync(CancellationToken cancellationToken = default)
    {
        if (_majorVersion is > 0 and var known)
        {
            return known;
        }

        using var client = CreateClient();
        var version = await client.GetServerVersionAsync(cancellationToken).ConfigureAwait(false);
        var major = int.Parse(version.Split('.')[0], System.Globalization.CultureInfo.InvariantCulture);
        _majorVersion = major;
        return major;
    }

    /// <summary>A name that no other test (or earlier run against the same server) uses.</summary>
    /// <param name="prefix">A readable prefix.</param>
    /// <returns>The name.</returns>
    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_container is not null)
        {
            await _container.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>Whether the integration tests can have a server: <c>MLFLOW_TEST_TRACKING_URI</c> or a Docker engine.</summary>
public static class ServerAvailability
{
    /// <summary>Whether tests that need a server can run: <c>MLFLOW_TEST_TRACKING_URI</c> is set or Docker answers.</summary>
    public static bool CanRunServerTests =>
        !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("MLFLOW_TEST_TRACKING_URI"))
        || DockerDetection.IsAvailableAsync().GetAwaiter().GetResult();
}

/// <summary>
/// A fact that runs only when an MLflow server can be had (Docker or <c>MLFLOW_TEST_TRACKING_URI</c>), and is skipped
/// with "Docker not available" otherwise. Tests using the fixture may also call <see cref="MlflowServerFixture.SkipIfUnavailable"/>.
/// </summary>
public sealed class DockerFactAttribute : FactAttribute
{
    /// <summary>Creates the attribute.</summary>
    public DockerFactAttribute(
        [System.Runtime.CompilerServices.CallerFilePath] string? sourceFilePath = null,
        [System.Runtime.CompilerServices.CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber)
    {
        Skip = MlflowServerFixture.SkipReason;
        SkipType = typeof(ServerAvailability);
        SkipUnless = nameof(ServerAvailability.CanRunServerTests);
    }
}
