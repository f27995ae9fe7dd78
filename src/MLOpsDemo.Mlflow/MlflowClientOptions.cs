using System.Globalization;

namespace MLOpsDemo.Mlflow;

/// <summary>
/// Settings of an <see cref="MlflowClient"/>. <see cref="FromEnvironment()"/> reads the same environment variables as
/// MLflow's Python client; every default below is MLflow's.
/// </summary>
public sealed class MlflowClientOptions
{
    /// <summary>
    /// The tracking URI: <c>http(s)://host[:port][/prefix]</c> for a server, <c>sqlite:///mlflow.db</c> for a local
    /// database. <see langword="null"/> means <c>MLFLOW_TRACKING_URI</c> when set by <see cref="FromEnvironment()"/>,
    /// else the local store <c>sqlite:///mlflow.db</c> in the current directory, as MLflow 3 does.
    /// </summary>
    public string? TrackingUri { get; set; }

    /// <summary>User name for HTTP Basic authentication (<c>MLFLOW_TRACKING_USERNAME</c>). Used only with <see cref="Password"/>.</summary>
    public string? Username { get; set; }

    /// <summary>Password for HTTP Basic authentication (<c>MLFLOW_TRACKING_PASSWORD</c>). Never logged or printed.</summary>
    public string? Password { get; set; }

    /// <summary>Bearer token (<c>MLFLOW_TRACKING_TOKEN</c>), used when Basic credentials are not both set. Never logged or printed.</summary>
    public string? Token { get; set; }

    /// <summary>
    /// A credential that authenticates every request of this client (and only this client). When set it replaces
    /// <see cref="Username"/>/<see cref="Password"/>/<see cref="Token"/>.
    /// </summary>
    public MlflowCredential? Credential { get; set; }

    /// <summary>Skip TLS certificate verification (<c>MLFLOW_TRACKING_INSECURE_TLS</c>). Default <see langword="false"/>; use only for test servers.</summary>
    public bool InsecureTls { get; set; }

    /// <summary>Retries per request for transient failures (<c>MLFLOW_HTTP_REQUEST_MAX_RETRIES</c>, 0–10). Default 7.</summary>
    public int MaxRetries { get; set; } = 7;

    /// <summary>Backoff factor (<c>MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR</c>, seconds). The n-th retry waits factor·2^(n−1), the first none. Default 2 s.</summary>
    public TimeSpan BackoffFactor { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Random extra delay of 0…jitter added to each backoff (<c>MLFLOW_HTTP_REQUEST_BACKOFF_JITTER</c>). Default 1 s.</summary>
    public TimeSpan BackoffJitter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest single backoff. Default 120 s, as MLflow.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Timeout of each attempt (<c>MLFLOW_HTTP_REQUEST_TIMEOUT</c>). Default 120 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Honour a <c>Retry-After</c> header on 429/503 (<c>MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER</c>). Default <see langword="true"/>.</summary>
    public bool RespectRetryAfter { get; set; } = true;

    /// <summary>
    /// Truncate param values over 6000 characters and run tag values over 8000 characters instead of refusing them.
    /// Default <see langword="false"/>: an over-long value throws <see cref="ArgumentException"/> before any request,
    /// because the server would otherwise truncate it silently.
    /// </summary>
    public bool TruncateLongValues { get; set; }

    /// <summary>The MLflow workspace sent as <c>X-MLFLOW-WORKSPACE</c> (<c>MLFLOW_WORKSPACE</c>, MLflow ≥ 3.10), or <see langword="null"/>.</summary>
    public string? Workspace { get; set; }

    /// <summary>
    /// The MLflow release whose database schema a <b>new</b> <c>sqlite:///</c> file is created with
    /// (<c>MLFLOW_SQLITE_SCHEMA_VERSION</c>), e.g. <c>2.22</c>, <c>3.5</c> or <c>3.11.1</c>: set it to the MLflow you
    /// run, so that its <c>mlflow ui</c>/<c>mlflow server</c> opens the file without <c>mlflow db upgrade</c>.
    /// <see langword="null"/> (the default) means the newest schema this library knows (MLflow 3.11.2). Existing files
    /// are never converted or re-stamped: the store writes into whatever schema a file has. Versions this library has
    /// no schema for are rejected, listing the supported ones.
    /// </summary>
    public string? SqliteSchemaVersion { get; set; }

    /// <summary>Page size used by search methods when the caller gives none. Default 1000.</summary>
    public int DefaultPageSize { get; set; } = 1000;

    /// <summary>Settings of the background logging pipeline used by active runs (<c>StartRunAsync</c>).</summary>
    public RunLoggingOptions Logging { get; set; } = new();

    /// <summary>
    /// Where the client's request logs go (category <c>MLOpsDemo.Mlflow.Http</c>: method, path, status, duration,
    /// attempt; never headers, bodies or query strings). <see langword="null"/> (the default) logs nothing. Not
    /// bindable from configuration; the dependency-injection package sets it from the container.
    /// </summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The clock and timer source (tests substitute a fake one). Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Creates options from the process environment: <c>MLFLOW_TRACKING_URI</c>, <c>MLFLOW_TRACKING_USERNAME</c>,
    /// <c>MLFLOW_TRACKING_PASSWORD</c>, <c>MLFLOW_TRACKING_TOKEN</c>, <c>MLFLOW_TRACKING_INSECURE_TLS</c>,
    /// <c>MLFLOW_HTTP_REQUEST_MAX_RETRIES</c>, <c>_BACKOFF_FACTOR</c>, <c>_BACKOFF_JITTER</c>, <c>_TIMEOUT</c>,
    /// <c>MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER</c>, <c>MLFLOW_TRUNCATE_LONG_VALUES</c>, <c>MLFLOW_WORKSPACE</c> and
    /// <c>MLFLOW_SQLITE_SCHEMA_VERSION</c>.
    /// </summary>
    /// <returns>The options.</returns>
    /// <exception cref="ArgumentException">A variable holds a value that cannot be used; the message names it.</exception>
    public static MlflowClientOptions FromEnvironment() => FromEnvironment(Environment.GetEnvironmentVariable);

    /// <summary>Creates options from variables returned by <paramref name="getVariable"/> (see <see cref="FromEnvironment()"/>).</summary>
    /// <param name="getVariable">Returns a variable's value or <see langword="null"/>.</param>
    /// <returns>The options.</returns>
    public static MlflowClientOptions FromEnvironment(Func<string, string?> getVariable)
    {
        ArgumentNullException.ThrowIfNull(getVariable);
        var options = new MlflowClientOptions();
        options.ApplyEnvironment(getVariable);
        return options;
    }

    /// <summary>Fills settings that are still at their defaults from environment variables.</summary>
    internal void ApplyEnvironment(Func<string, string?> getVariable)
    {
        TrackingUri ??= NonEmpty(getVariable("MLFLOW_TRACKING_URI"));
        Username ??= NonEmpty(getVariable("MLFLOW_TRACKING_USERNAME"));
        Password ??= NonEmpty(getVariable("MLFLOW_TRACKING_PASSWORD"));
        Token ??= NonEmpty(getVariable("MLFLOW_TRACKING_TOKEN"));
        Workspace ??= NonEmpty(getVariable("MLFLOW_WORKSPACE"));
        SqliteSchemaVersion ??= NonEmpty(getVariable("MLFLOW_SQLITE_SCHEMA_VERSION"));

        if (ParseBool(getVariable, "MLFLOW_TRACKING_INSECURE_TLS") is { } insecure)
        {
            InsecureTls = insecure;
        }

        if (ParseBool(getVariable, "MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER") is { } respect)
        {
            RespectRetryAfter = respect;
        }

        if (ParseBool(getVariable, "MLFLOW_TRUNCATE_LONG_VALUES") is { } truncate)
        {
            TruncateLongValues = truncate;
        }

        if (ParseNumber(getVariable, "MLFLOW_HTTP_REQUEST_MAX_RETRIES", 0, 10) is { } retries)
        {
            MaxRetries = (int)retries;
        }

        if (ParseNumber(getVariable, "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", 0, 120) is { } factor)
        {
            BackoffFactor = TimeSpan.FromSeconds(factor);
        }

        if (ParseNumber(getVariable, "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", 0, 3600) is { } jitter)
        {
            BackoffJitter = TimeSpan.FromSeconds(jitter);
        }

        if (ParseNumber(getVariable, "MLFLOW_HTTP_REQUEST_TIMEOUT", 0.001, 86400) is { } timeout)
        {
            Timeout = TimeSpan.FromSeconds(timeout);
        }
    }

    /// <summary>Checks the settings and throws an <see cref="ArgumentException"/> that names the first bad one.</summary>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public void Validate()
    {
        if (MaxRetries is < 0 or > 10)
        {
            throw new ArgumentException($"MlflowClientOptions.MaxRetries must be between 0 and 10 (MLflow's limit); it is {MaxRetries}.", nameof(MaxRetries));
        }

        if (BackoffFactor < TimeSpan.Zero || BackoffFactor > TimeSpan.FromSeconds(120))
        {
            throw new ArgumentException($"MlflowClientOptions.BackoffFactor must be between 0 and 120 seconds; it is {BackoffFactor}.", nameof(BackoffFactor));
        }

        if (BackoffJitter < TimeSpan.Zero)
        {
            throw new ArgumentException("MlflowClientOptions.BackoffJitter must not be negative.", nameof(BackoffJitter));
        }

        if (Timeout <= TimeSpan.Zero && Timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException($"MlflowClientOptions.Timeout must be positive; it is {Timeout}.", nameof(Timeout));
        }

        if (DefaultPageSize is < 1 or > 50000)
        {
            throw new ArgumentException($"MlflowClientOptions.DefaultPageSize must be between 1 and 50000; it is {DefaultPageSize}.", nameof(DefaultPageSize));
        }

        if (TrackingUri is { Length: > 0 } uri && !TrackingUriInfo.TryParse(uri, out _, out var error))
        {
            throw new ArgumentException($"MlflowClientOptions.TrackingUri is not usable: {error}", nameof(TrackingUri));
        }

        if (SqliteSchemaVersion is { } schemaVersion && Sqlite.SqliteSchemaCatalog.TryResolve(schemaVersion, out var schemaError) is null)
        {
            throw new ArgumentException($"MlflowClientOptions.SqliteSchemaVersion (MLFLOW_SQLITE_SCHEMA_VERSION) is not usable: {schemaError}", nameof(SqliteSchemaVersion));
        }

        Logging.Validate();
    }

    /// <summary>A description of the settings without any secret.</summary>
    /// <returns>The description.</returns>
    public override string ToString() =>
        $"MlflowClientOptions {{ TrackingUri = {TrackingUriInfo.Redact(TrackingUri)}, Auth = {DescribeAuth()}, MaxRetries = {MaxRetries}, Timeout = {Timeout} }}";

    internal string DescribeAuth() =>
        Credential is not null ? Credential.ToString() ?? "custom"
        : Username is not null && Password is not null ? "Basic (***)"
        : Token is not null ? "Bearer (***)"
        : "none";

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static bool? ParseBool(Func<string, string?> getVariable, string name)
    {
        var raw = NonEmpty(getVariable(name));
        return raw?.ToUpperInvariant() switch
        {
            null => null,
            "TRUE" or "1" => true,
            "FALSE" or "0" => false,
            _ => throw new ArgumentException($"Environment variable {name} must be true, false, 1 or 0; it is '{raw}'."),
        };
    }

    private static double? ParseNumber(Func<string, string?> getVariable, string name, double min, double max)
    {
        var raw = NonEmpty(getVariable(name));
        if (raw is null)
        {
            return null;
        }

        if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new ArgumentException($"Environment variable {name} must be a number between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}; it is '{raw}'.");
        }

        return value;
    }
}
