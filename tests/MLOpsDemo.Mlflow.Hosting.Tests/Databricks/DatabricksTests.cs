using System.Net;
using Microsoft.Extensions.Time.Testing;
using MLOpsDemo.Mlflow.Databricks;
using MLOpsDemo.Mlflow.Hosting.Tests.TestSupport;
using MLOpsDemo.Mlflow.Http;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Hosting.Tests.Databricks;

public sealed class DatabricksTests : IDisposable
{
    private const string ClientSecret = "dose-SECRET-0c0ffee";
    private readonly string _dir = Directory.CreateTempSubdirectory("dbcfg").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteConfig(string text)
    {
        var path = Path.Combine(_dir, ".databrickscfg");
        File.WriteAllText(path, text);
        return path;
    }

    private const string Config = """
        ; comment
        [DEFAULT]
        host = adb-111.azuredatabricks.net
        token = dapi-default

        [staging]
        host = https://staging.cloud.databricks.com/
        client_id = sp-id
        client_secret = sp-secret

        [broken]
        token = dapi-x

        [nocreds]
        host = https://nocreds.cloud.databricks.com
        """;

    [Fact]
    public void Profile_file_parses_default_and_named_profiles()
    {
        var profiles = DatabricksMlflow.ParseConfigFile(Config);

        Assert.Equal(["DEFAULT", "staging", "broken", "nocreds"], profiles.Keys);
        Assert.Equal("dapi-default", profiles["DEFAULT"]["token"]);
        Assert.Equal("sp-secret", profiles["staging"]["client_secret"]);
    }

    [Fact]
    public void Databricks_uri_uses_the_default_profile_and_named_uri_its_profile()
    {
        var path = WriteConfig(Config);

        var byDefault = DatabricksMlflow.ResolveConfig("databricks", _ => null, path);
        var named = DatabricksMlflow.ResolveConfig("databricks://staging", _ => null, path);

        Assert.Equal(("https://adb-111.azuredatabricks.net", "dapi-default", "DEFAULT"), (byDefault.Host, byDefault.Token, byDefault.Profile));
        Assert.Equal("https://staging.cloud.databricks.com", named.Host);
        Assert.True(named.UsesOAuth);
        Assert.DoesNotContain("sp-secret", named.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Environment_wins_for_the_plain_uri_but_not_for_a_named_profile()
    {
        var path = WriteConfig(Config);
        var env = new Dictionary<string, string> { ["DATABRICKS_HOST"] = "https://env.cloud.databricks.com", ["DATABRICKS_TOKEN"] = "dapi-env" };

        var plain = DatabricksMlflow.ResolveConfig("databricks", n => env.GetValueOrDefault(n), path);
        var named = DatabricksMlflow.ResolveConfig("databricks://staging", n => env.GetValueOrDefault(n), path);
        var profileVar = DatabricksMlflow.ResolveConfig("databricks", n => n == "DATABRICKS_CONFIG_PROFILE" ? "staging" : null, path);

        Assert.Equal(("https://env.cloud.databricks.com", "dapi-env", null), (plain.Host, plain.Token, plain.Profile));
        Assert.Equal("staging", named.Profile);
        Assert.Equal("staging", profileVar.Profile);
    }

    [Fact]
    public void Settings_default_profile_is_honoured_and_not_listed_as_a_profile()
    {
        // databricks-sdk 0.102 (config.py _known_file_config_loader): without an explicit profile,
        // [__settings__] default_profile picks it; [__settings__] is dropped from the profile map.
        var path = WriteConfig("[__settings__]\ndefault_profile = staging\n\n" + Config);

        var byDefault = DatabricksMlflow.ResolveConfig("databricks", _ => null, path);
        var explicitVariable = DatabricksMlflow.ResolveConfig("databricks", n => n == "DATABRICKS_CONFIG_PROFILE" ? "DEFAULT" : null, path);
        var missing = Assert.Throws<ArgumentException>(() => DatabricksMlflow.ResolveConfig("databricks://nope", _ => null, path));

        Assert.Equal(("staging", "https://staging.cloud.databricks.com"), (byDefault.Profile, byDefault.Host));
        Assert.Equal("DEFAULT", explicitVariable.Profile);
        Assert.Contains("profiles found: DEFAULT, staging, broken, nocreds.", missing.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("__settings__", missing.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => DatabricksMlflow.ResolveConfig("databricks://__settings__", _ => null, path));
    }

    [Theory]
    [InlineData("databricks://missing", "has no profile [missing]")]
    [InlineData("databricks://broken", "has no 'host' key")]
    [InlineData("databricks://nocreds", "add 'token', or 'client_id' and 'client_secret'")]
    [InlineData("databricks://scope:prefix", "not supported")]
    public void Missing_profile_or_keys_give_clear_errors(string uri, string expected)
    {
        var path = WriteConfig(Config);
        var ex = Assert.Throws<ArgumentException>(() => DatabricksMlflow.ResolveConfig(uri, _ => null, path));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_file_and_environment_is_reported()
    {
        var ex = Assert.Throws<ArgumentException>(() => DatabricksMlflow.ResolveConfig("databricks", _ => null, Path.Combine(_dir, "none")));
        Assert.Contains("DATABRICKS_HOST", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OAuth_token_is_fetched_cached_and_refreshed_before_expiry()
    {
        using var server = WireMockServer.Start();
        server.Given(Request.Create().WithPath("/oidc/v1/token").UsingPost()).InScenario("t").WillSetStateTo("2")
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody("""{"access_token":"tok-1","token_type":"Bearer","expires_in":3600}"""));
        server.Given(Request.Create().WithPath("/oidc/v1/token").UsingPost()).InScenario("t").WhenStateIs("2")
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody("""{"access_token":"tok-2","token_type":"Bearer","expires_in":3600}"""));
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var http = new HttpClient();
        var credential = DatabricksMlflow.CreateCredential(new DatabricksConfig { Host = server.Url!, ClientId = "sp-id", ClientSecret = ClientSecret }, http, time);
        var ct = TestContext.Current.CancellationToken;

        Assert.Equal("Bearer tok-1", await AuthorizationAsync(credential, ct));
        time.Advance(TimeSpan.FromMinutes(50));
        Assert.Equal("Bearer tok-1", await AuthorizationAsync(credential, ct));
        Assert.Single(server.LogEntries);
        time.Advance(TimeSpan.FromMinutes(6)); // inside the 5-minute margin
        Assert.Equal("Bearer tok-2", await AuthorizationAsync(credential, ct));

        var tokenRequest = server.LogEntries[0];
        Assert.Equal("Basic " + Convert.ToBase64String("sp-id:dose-SECRET-0c0ffee"u8.ToArray()), Stubs.Header(tokenRequest, "Authorization"));
        Assert.Equal("grant_type=client_credentials&scope=all-apis", tokenRequest.RequestMessage.Body);
    }

    [Fact]
    public async Task Unauthorized_answer_refreshes_once_and_retries()
    {
        using var server = WireMockServer.Start();
        server.Given(Request.Create().WithPath("/oidc/v1/token").UsingPost()).InScenario("t").WillSetStateTo("2")
            .RespondWith(Response.Create().WithBody("""{"access_token":"old","expires_in":3600}"""));
        server.Given(Request.Create().WithPath("/oidc/v1/token").UsingPost()).InScenario("t").WhenStateIs("2")
            .RespondWith(Response.Create().WithBody("""{"access_token":"new","expires_in":3600}"""));
        server.Given(Request.Create().WithPath("/api/2.0/mlflow/experiments/get").WithHeader("Authorization", "Bearer old"))
            .RespondWith(Response.Create().WithStatusCode(401));
        server.Given(Request.Create().WithPath("/api/2.0/mlflow/experiments/get").WithHeader("Authorization", "Bearer new"))
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(Stubs.ExperimentJson));
        using var tokenHttp = new HttpClient();
        var credential = DatabricksMlflow.CreateCredential(new DatabricksConfig { Host = server.Url!, ClientId = "id", ClientSecret = ClientSecret }, tokenHttp);
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = server.Url, Credential = credential, MaxRetries = 0 });

        var experiment = await client.Experiments.GetAsync("1", TestContext.Current.CancellationToken);

        Assert.Equal("demo", experiment.Name);
        Assert.Equal(2, server.LogEntries.Count(e => e.RequestMessage.Path == "/api/2.0/mlflow/experiments/get"));
        Assert.Equal(2, server.LogEntries.Count(e => e.RequestMessage.Path == "/oidc/v1/token"));
    }

    [Fact]
    public async Task Token_endpoint_failure_message_has_no_secret()
    {
        using var server = WireMockServer.Start();
        server.Given(Request.Create().WithPath("/oidc/v1/token")).RespondWith(Response.Create().WithStatusCode(401).WithBody("bad " + ClientSecret));
        using var http = new HttpClient();
        var credential = DatabricksMlflow.CreateCredential(new DatabricksConfig { Host = server.Url!, ClientId = "id", ClientSecret = ClientSecret }, http);

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => AuthorizationAsync(credential, TestContext.Current.CancellationToken));

        Assert.Contains("HTTP 401", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(ClientSecret, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OAuth_M2M_with_a_self_signed_workspace_certificate_works_when_InsecureTls_is_set()
    {
        // WireMock serves https with its own self-signed certificate: the token request must go through the client's
        // pipeline (InsecureTls, User-Agent), not a separate HttpClient that verifies TLS regardless.
        using var certificate = SelfSignedLocalhostCertificate();
        using var server = WireMockServer.Start(new WireMock.Settings.WireMockServerSettings
        {
            UseSSL = true,
            CertificateSettings = new WireMock.Settings.WireMockCertificateSettings { X509Certificate = certificate },
        });
        server.Given(Request.Create().WithPath("/oidc/v1/token").UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody("""{"access_token":"m2m","expires_in":3600}"""));
        server.Given(Request.Create().WithPath("/api/2.0/mlflow/experiments/get").WithHeader("Authorization", "Bearer m2m"))
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(Stubs.ExperimentJson));
        Assert.StartsWith("https://", server.Url, StringComparison.Ordinal);
        var config = new DatabricksConfig { Host = server.Url!, ClientId = "sp-id", ClientSecret = ClientSecret };
        var ct = TestContext.Current.CancellationToken;

        var insecure = DatabricksMlflow.Configure(new MlflowClientOptions { TrackingUri = "databricks", InsecureTls = true, MaxRetries = 0 }, config);
        using (var client = new MlflowClient(insecure))
        {
            Assert.Equal("demo", (await client.Experiments.GetAsync("1", ct)).Name);
        }

        var token = Assert.Single(server.LogEntries, e => e.RequestMessage.Path == "/oidc/v1/token");
        Assert.Contains("mlflow-dotnet-client/", Stubs.Header(token, "User-Agent"), StringComparison.Ordinal);

        // Verification stays on without the opt-out: the token request fails on the certificate, before any MLflow call.
        var strict = DatabricksMlflow.Configure(new MlflowClientOptions { TrackingUri = "databricks", MaxRetries = 0 }, config);
        using var strictClient = new MlflowClient(strict);
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => strictClient.Experiments.GetAsync("1", ct));
        Assert.IsType<System.Security.Authentication.AuthenticationException>(error.InnerException);
        Assert.Single(server.LogEntries, e => e.RequestMessage.Path == "/oidc/v1/token");
    }

    [Fact]
    public async Task A_short_lived_token_is_reused_for_half_its_lifetime_not_fetched_per_request()
    {
        // databricks-sdk's Refreshable: stale period = min(TTL / 2, cap); a 4-minute token is renewed after 2 minutes.
        using var server = WireMockServer.Start();
        server.Given(Request.Create().WithPath("/oidc/v1/token").UsingPost())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody("""{"access_token":"short","expires_in":240}"""));
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var http = new HttpClient();
        var credential = DatabricksMlflow.CreateCredential(new DatabricksConfig { Host = server.Url!, ClientId = "sp-id", ClientSecret = ClientSecret }, http, time);
        var ct = TestContext.Current.CancellationToken;

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("Bearer short", await AuthorizationAsync(credential, ct));
        }

        Assert.Single(server.LogEntries);
        time.Advance(TimeSpan.FromSeconds(110));
        Assert.Equal("Bearer short", await AuthorizationAsync(credential, ct));
        Assert.Single(server.LogEntries);
        time.Advance(TimeSpan.FromSeconds(20)); // past half of the 240 s lifetime
        Assert.Equal("Bearer short", await AuthorizationAsync(credential, ct));
        Assert.Equal(2, server.LogEntries.Count);
    }

    [Fact]
    public void Configure_maps_the_uri_to_the_workspace_host()
    {
        var options = new MlflowClientOptions { TrackingUri = "databricks" };
        DatabricksMlflow.Configure(options, new DatabricksConfig { Host = "https://ws.cloud.databricks.com", Token = "dapi-123" });

        Assert.Equal("https://ws.cloud.databricks.com", options.TrackingUri);
        Assert.NotNull(options.Credential);
        Assert.DoesNotContain("dapi-123", options.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rate_limit_handler_spaces_requests()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var sent = 0;
        using var handler = new DatabricksRateLimitHandler(requestsPerSecond: 20, queueLimit: 15, timeProvider: time) { InnerHandler = new CountingHandler(() => Interlocked.Increment(ref sent)) };
        using var http = new HttpMessageInvoker(handler);
        var ct = TestContext.Current.CancellationToken;

        // 40 at once: a burst of 20 goes, 15 wait in the queue, 5 more are refused locally with 429.
        var requests = Enumerable.Range(0, 40).Select(_ => http.SendAsync(new HttpRequestMessage(HttpMethod.Get, "http://databricks.invalid/x"), ct)).ToList();
        await Task.WhenAll(requests.Take(20));
        Assert.Equal(20, Volatile.Read(ref sent));
        Assert.All(requests.Skip(35), r => Assert.Equal(HttpStatusCode.TooManyRequests, r.Result.StatusCode));
        Assert.All(requests.Skip(20).Take(15), r => Assert.False(r.IsCompleted));

        time.Advance(TimeSpan.FromMilliseconds(999)); // just before the bucket refills: still waiting
        Assert.All(requests.Skip(20).Take(15), r => Assert.False(r.IsCompleted));
        Assert.Equal(20, Volatile.Read(ref sent));

        time.Advance(TimeSpan.FromMilliseconds(1)); // one second: 20 permits, enough for the 15 in the queue, oldest first
        var waited = await Task.WhenAll(requests.Skip(20).Take(15));
        Assert.All(waited, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(35, Volatile.Read(ref sent));

        foreach (var response in requests.Select(r => r.Result))
        {
            response.Dispose();
        }
    }

    private sealed class CountingHandler(Action onSend) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            onSend();
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { RequestMessage = request });
        }
    }

    private static System.Security.Cryptography.X509Certificates.X509Certificate2 SelfSignedLocalhostCertificate()
    {
        using var key = System.Security.Cryptography.RSA.Create(2048);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=localhost", key, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        var names = new System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        // Kestrel needs a certificate whose private key it can use: round-trip through PKCS#12.
        return System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(created.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pfx), null);
    }

    private static async Task<string?> AuthorizationAsync(MlflowCredential credential, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://example.invalid/");
        await credential.AuthenticateAsync(request, ct);
        return request.Headers.Authorization?.ToString();
    }
}
