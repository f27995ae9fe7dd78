using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace MLOpsDemo.Mlflow.Databricks;

/// <summary>
/// Configures MLflow clients for Databricks workspaces: tracking URI <c>databricks</c> (environment, else the profile
/// <c>DATABRICKS_CONFIG_PROFILE</c>, the <c>[__settings__] default_profile</c>, or <c>DEFAULT</c> of <c>~/.databrickscfg</c>) or <c>databricks://&lt;profile&gt;</c>
/// (that profile). Authentication: a personal access token, or OAuth machine-to-machine with a service principal
/// (<c>POST {host}/oidc/v1/token</c>, <c>client_credentials</c>, scope <c>all-apis</c>; cached and fetched again 5
/// minutes before expiry, or half-way through a shorter lifetime, and after a 401). The token request goes through the
/// client's HTTP pipeline without its credentials (<see cref="MlflowClientOptions.CreateUnauthenticatedHttpClient"/>).
/// </summary>
/// <remarks>
/// This is a separate package (not part of the core) so that the core's URI handling stays "http(s) or sqlite" and
/// applications that never talk to Databricks carry none of its configuration-file and OAuth code.
/// </remarks>
public static class DatabricksMlflow
{
    private const string SettingsSection = "__settings__";

    /// <summary>Whether <paramref name="trackingUri"/> is <c>databricks</c> or <c>databricks://profile</c>.</summary>
    /// <param name="trackingUri">A tracking URI.</param>
    /// <returns>Whether it names a Databricks workspace.</returns>
    public static bool IsDatabricksUri(string? trackingUri)
    {
        var uri = trackingUri?.Trim();
        return string.Equals(uri, "databricks", StringComparison.OrdinalIgnoreCase)
            || (uri is not null && uri.StartsWith("databricks://", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Resolves host and credentials for a Databricks tracking URI from the process environment and <c>~/.databrickscfg</c>.</summary>
    /// <param name="trackingUri"><c>databricks</c> or <c>databricks://&lt;profile&gt;</c>.</param>
    /// <returns>The configuration.</returns>
    /// <exception cref="ArgumentException">The URI is not a Databricks URI, a profile is missing, or a host or credential is missing; the message names what to set.</exception>
    public static DatabricksConfig ResolveConfig(string trackingUri) =>
        ResolveConfig(trackingUri, Environment.GetEnvironmentVariable, null);

    /// <summary>Resolves host and credentials from the given variables and configuration file.</summary>
    /// <param name="trackingUri"><c>databricks</c> or <c>databricks://&lt;profile&gt;</c>.</param>
    /// <param name="getVariable">Returns an environment variable's value.</param>
    /// <param name="configFilePath">The configuration file; <see langword="null"/> for <c>DATABRICKS_CONFIG_FILE</c> or <c>~/.databrickscfg</c>.</param>
    /// <returns>The configuration.</returns>
    /// <exception cref="ArgumentException">Something is missing; the message names what to set.</exception>
    public static DatabricksConfig ResolveConfig(string trackingUri, Func<string, string?> getVariable, string? configFilePath)
    {
        ArgumentNullException.ThrowIfNull(trackingUri);
        ArgumentNullException.ThrowIfNull(getVariable);
        var uri = trackingUri.Trim();
        if (!IsDatabricksUri(uri))
        {
            throw new ArgumentException($"'{uri}' is not a Databricks tracking URI; use databricks or databricks://<profile>.", nameof(trackingUri));
        }

        var profile = uri.Length > "databricks://".Length ? uri["databricks://".Length..].TrimEnd('/') : null;
        if (profile is not null && profile.Contains(':', StringComparison.Ordinal))
        {
            throw new ArgumentException($"The Databricks URI form databricks://<scope>:<key-prefix> (secret scopes) is not supported; use databricks://<profile> or the DATABRICKS_* variables.", nameof(trackingUri));
        }

        if (profile is null)
        {
            var host = NonEmpty(getVariable("DATABRICKS_HOST"));
            if (host is not null)
            {
                var fromEnv = new DatabricksConfig
                {
                    Host = NormalizeHost(host, "DATABRICKS_HOST"),
                    Token = NonEmpty(getVariable("DATABRICKS_TOKEN")),
                    ClientId = NonEmpty(getVariable("DATABRICKS_CLIENT_ID")),
                    ClientSecret = NonEmpty(getVariable("DATABRICKS_CLIENT_SECRET")),
                };
                return RequireCredentials(fromEnv, "the environment (set DATABRICKS_TOKEN, or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET)");
            }

            profile = NonEmpty(getVariable("DATABRICKS_CONFIG_PROFILE"));
        }

        var path = configFilePath ?? NonEmpty(getVariable("DATABRICKS_CONFIG_FILE"))
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".databrickscfg");
        if (!File.Exists(path))
        {
            throw new ArgumentException($"No Databricks credentials: DATABRICKS_HOST is not set and the configuration file '{path}' does not exist. Set DATABRICKS_HOST and DATABRICKS_TOKEN, or create the file with a [{profile ?? "DEFAULT"}] profile.");
        }

        var sections = ParseConfigFile(File.ReadAllText(path));

        // As databricks-sdk: without an explicit profile, [__settings__] default_profile names it, else DEFAULT;
        // [__settings__] itself is not a profile.
        profile ??= sections.TryGetValue(SettingsSection, out var settings) && NonEmpty(settings.GetValueOrDefault("default_profile")) is { } defaultProfile
            ? defaultProfile
            : "DEFAULT";
        var profiles = sections.Where(p => p.Key != SettingsSection).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        var section = profiles.FirstOrDefault(p => string.Equals(p.Key, profile, profile.Equals("DEFAULT", StringComparison.OrdinalIgnoreCase) ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal)).Value;
        if (section is null)
        {
            throw new ArgumentException($"The Databricks configuration file '{path}' has no profile [{profile}]; profiles found: {(profiles.Count == 0 ? "none" : string.Join(", ", profiles.Keys))}.");
        }

        var hostValue = section.GetValueOrDefault("host")
            ?? throw new ArgumentException($"Profile [{profile}] in '{path}' has no 'host' key; add host = https://<workspace>.cloud.databricks.com.");
        var config = new DatabricksConfig
        {
            Host = NormalizeHost(hostValue, $"host in profile [{profile}]"),
            Token = section.GetValueOrDefault("token"),
            ClientId = section.GetValueOrDefault("client_id"),
            ClientSecret = section.GetValueOrDefault("client_secret"),
            Profile = profile,
        };
        return RequireCredentials(config, $"profile [{profile}] in '{path}' (add 'token', or 'client_id' and 'client_secret')");
    }

    /// <summary>Parses an INI file in the format of <c>~/.databrickscfg</c>: <c>[profile]</c> sections of <c>key = value</c> lines, <c>#</c>/<c>;</c> comments.</summary>
    /// <param name="text">The file's text.</param>
    /// <returns>Profiles by name, keys lower-cased.</returns>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> ParseConfigFile(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var result = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        Dictionary<string, string>? current = null;
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (line[0] == '[' && line[^1] == ']')
            {
                var name = line[1..^1].Trim();
                current = new Dictionary<string, string>(StringComparer.Ordinal);
                result[name] = current;
                continue;
            }

            var separator = line.IndexOfAny(['=', ':']);
            if (current is null || separator <= 0)
            {
                continue;
            }

            var value = line[(separator + 1)..].Trim();
            if (value.Length > 0)
            {
                current[line[..separator].Trim().ToLowerInvariant()] = value;
            }
        }

        return result;
    }

    /// <summary>The credential for <paramref name="config"/>: a bearer PAT, or OAuth M2M tokens fetched from the workspace.</summary>
    /// <param name="config">The resolved configuration.</param>
    /// <param name="tokenHttpClient">
    /// The HTTP client for the token endpoint; <see langword="null"/> for one built from default
    /// <see cref="MlflowClientOptions"/> (<see cref="MlflowClientOptions.CreateUnauthenticatedHttpClient"/>) on first use.
    /// <see cref="Configure"/> passes the client's own pipeline without credentials, so <c>InsecureTls</c>, retries and
    /// logging apply to the token request too.
    /// </param>
    /// <param name="timeProvider">The clock for token expiry.</param>
    /// <returns>The credential.</returns>
    public static MlflowCredential CreateCredential(DatabricksConfig config, HttpClient? tokenHttpClient = null, TimeProvider? timeProvider = null) =>
        CreateCredentialCore(config, tokenHttpClient is null ? null : () => tokenHttpClient, timeProvider);

    /// <summary>The credential, with the token endpoint's HTTP client created on the first token request.</summary>
    internal static MlflowCredential CreateCredentialCore(DatabricksConfig config, Func<HttpClient>? tokenHttpClient, TimeProvider? timeProvider)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Token is { } token)
        {
            return MlflowCredential.Bearer(token);
        }

        if (!config.UsesOAuth)
        {
            throw new ArgumentException($"{config} has neither a token nor an OAuth client id and secret.", nameof(config));
        }

        // Created on the first token request: inside AddMlflowClient the options (and their IHttpClientFactory client)
        // are still being built when this runs.
        var http = new Lazy<HttpClient>(tokenHttpClient ?? (() => new MlflowClientOptions { TimeProvider = timeProvider ?? TimeProvider.System }.CreateUnauthenticatedHttpClient()), LazyThreadSafetyMode.ExecutionAndPublication);
        var time = timeProvider ?? TimeProvider.System;
        return MlflowCredential.FromTokenProvider(ct => FetchOAuthTokenAsync(http.Value, config, time, ct), TimeSpan.FromMinutes(5), time);
    }

    /// <summary>
    /// When <see cref="MlflowClientOptions.TrackingUri"/> is a Databricks URI: resolves the workspace, sets the https
    /// URI and the credential. Other options are returned unchanged.
    /// </summary>
    /// <param name="options">The client options; changed in place.</param>
    /// <param name="config">The configuration, or <see langword="null"/> to resolve it from the URI.</param>
    /// <returns><paramref name="options"/>.</returns>
    public static MlflowClientOptions Configure(MlflowClientOptions options, DatabricksConfig? config = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (config is null && !IsDatabricksUri(options.TrackingUri))
        {
            return options;
        }

        config ??= ResolveConfig(options.TrackingUri!);
        options.TrackingUri = config.Host;
        options.Credential = CreateCredentialCore(config, options.CreateUnauthenticatedHttpClient, options.TimeProvider);
        return options;
    }

    /// <summary>Creates a client for a Databricks workspace; retry settings come from the <c>MLFLOW_*</c> environment variables.</summary>
    /// <param name="trackingUri"><c>databricks</c> (default) or <c>databricks://&lt;profile&gt;</c>.</param>
    /// <returns>The client.</returns>
    public static MlflowClient CreateClient(string trackingUri = "databricks")
    {
        var options = MlflowClientOptions.FromEnvironment();
        options.TrackingUri = trackingUri;
        return new MlflowClient(Configure(options, ResolveConfig(trackingUri)));
    }

    private static async ValueTask<MlflowAccessToken> FetchOAuthTokenAsync(HttpClient http, DatabricksConfig config, TimeProvider time, CancellationToken cancellationToken)
    {
        var endpoint = new Uri(config.Host + "/oidc/v1/token");
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint)
        {
            Content = new FormUrlEncodedContent([new("grant_type", "client_credentials"), new("scope", "all-apis")]),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.EscapeDataString(config.ClientId!) + ":" + Uri.EscapeDataString(config.ClientSecret!))));
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException(
                $"The Databricks OAuth token request to {endpoint} failed with HTTP {(int)response.StatusCode}; check the service principal's client id and secret (DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET).",
                null,
                response.StatusCode);
        }

        var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (body.ConfigureAwait(false))
        {
            using var document = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken).ConfigureAwait(false);
            var root = document.RootElement;
            if (!root.TryGetProperty("access_token", out var tokenElement) || tokenElement.GetString() is not { Length: > 0 } token)
            {
                throw new HttpRequestException($"The Databricks OAuth token response from {endpoint} has no access_token.");
            }

            var expiresIn = root.TryGetProperty("expires_in", out var expires) && expires.TryGetDouble(out var seconds) ? seconds : 3600;
            return new MlflowAccessToken(token, time.GetUtcNow().AddSeconds(expiresIn));
        }
    }

    private static DatabricksConfig RequireCredentials(DatabricksConfig config, string where) =>
        config.Token is not null || config.UsesOAuth
            ? config
            : throw new ArgumentException($"No Databricks credentials for {config.Host} in {where}.");

    private static string NormalizeHost(string host, string setting)
    {
        var value = host.Trim().TrimEnd('/');
        if (!value.Contains("://", StringComparison.Ordinal))
        {
            value = "https://" + value;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The Databricks host '{host}' ({setting}) is not a valid URL; use https://<workspace>.cloud.databricks.com."));
        }

        return value;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
