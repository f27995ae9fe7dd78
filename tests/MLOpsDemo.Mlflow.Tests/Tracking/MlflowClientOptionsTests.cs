using MLOpsDemo.Mlflow.Tests.TestSupport;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Tests.Tracking;

public class MlflowClientOptionsTests
{
    private static MlflowClientOptions From(params (string Name, string Value)[] variables)
    {
        var map = variables.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal);
        return MlflowClientOptions.FromEnvironment(name => map.GetValueOrDefault(name));
    }

    [Fact]
    public void Defaults_are_MLflow_defaults()
    {
        var o = From();
        Assert.Null(o.TrackingUri);
        Assert.Null(o.Username);
        Assert.Null(o.Password);
        Assert.Null(o.Token);
        Assert.Null(o.Workspace);
        Assert.False(o.InsecureTls);
        Assert.Equal(7, o.MaxRetries);
        Assert.Equal(TimeSpan.FromSeconds(2), o.BackoffFactor);
        Assert.Equal(TimeSpan.FromSeconds(1), o.BackoffJitter);
        Assert.Equal(TimeSpan.FromSeconds(120), o.MaxBackoff);
        Assert.Equal(TimeSpan.FromSeconds(120), o.Timeout);
        Assert.True(o.RespectRetryAfter);
        Assert.False(o.TruncateLongValues);
        Assert.Equal(1000, o.DefaultPageSize);
        Assert.Same(TimeProvider.System, o.TimeProvider);
    }

    [Fact]
    public void Every_variable_is_read()
    {
        var o = From(
            ("MLFLOW_TRACKING_URI", " http://mlflow:5000/prefix "),
            ("MLFLOW_TRACKING_USERNAME", "user"),
            ("MLFLOW_TRACKING_PASSWORD", "pw"),
            ("MLFLOW_TRACKING_TOKEN", "tok"),
            ("MLFLOW_TRACKING_INSECURE_TLS", "true"),
            ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3"),
            ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0.5"),
            ("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0"),
            ("MLFLOW_HTTP_REQUEST_TIMEOUT", "30"),
            ("MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER", "False"),
            ("MLFLOW_TRUNCATE_LONG_VALUES", "1"),
            ("MLFLOW_WORKSPACE", "team-a"));
        Assert.Equal("http://mlflow:5000/prefix", o.TrackingUri);
        Assert.Equal(("user", "pw", "tok"), (o.Username, o.Password, o.Token));
        Assert.True(o.InsecureTls);
        Assert.Equal(3, o.MaxRetries);
        Assert.Equal(TimeSpan.FromMilliseconds(500), o.BackoffFactor);
        Assert.Equal(TimeSpan.Zero, o.BackoffJitter);
        Assert.Equal(TimeSpan.FromSeconds(30), o.Timeout);
        Assert.False(o.RespectRetryAfter);
        Assert.True(o.TruncateLongValues);
        Assert.Equal("team-a", o.Workspace);
    }

    [Fact]
    public void Empty_variables_count_as_unset()
    {
        var o = From(("MLFLOW_TRACKING_URI", ""), ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "  "), ("MLFLOW_TRACKING_TOKEN", ""));
        Assert.Null(o.TrackingUri);
        Assert.Null(o.Token);
        Assert.Equal(7, o.MaxRetries);
    }

    [Theory]
    [InlineData("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "eleven")]
    [InlineData("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "11")]
    [InlineData("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "-1")]
    [InlineData("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "121")]
    [InlineData("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "-1")]
    [InlineData("MLFLOW_HTTP_REQUEST_TIMEOUT", "0")]
    [InlineData("MLFLOW_HTTP_REQUEST_TIMEOUT", "1,5")]
    [InlineData("MLFLOW_TRACKING_INSECURE_TLS", "yes")]
    [InlineData("MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER", "maybe")]
    [InlineData("MLFLOW_TRUNCATE_LONG_VALUES", "2")]
    public void Bad_values_give_an_error_that_names_the_variable_and_the_value(string name, string value)
    {
        var ex = Assert.Throws<ArgumentException>(() => From((name, value)));
        Assert.Contains(name, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"'{value}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_names_the_bad_setting()
    {
        Assert.Contains("MaxRetries", Assert.Throws<ArgumentException>(() => new MlflowClientOptions { MaxRetries = 11 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("Timeout", Assert.Throws<ArgumentException>(() => new MlflowClientOptions { Timeout = TimeSpan.Zero }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("DefaultPageSize", Assert.Throws<ArgumentException>(() => new MlflowClientOptions { DefaultPageSize = 0 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("TrackingUri", Assert.Throws<ArgumentException>(() => new MlflowClientOptions { TrackingUri = "http://" }.Validate()).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new MlflowClient(new MlflowClientOptions { TrackingUri = "http://localhost:5000", MaxRetries = -1 }));
        foreach (var batches in new[] { 0, 65 })
        {
            var options = new MlflowClientOptions { TrackingUri = "http://localhost:5000" };
            options.Logging.MaxConcurrentBatches = batches;
            Assert.Contains("MaxConcurrentBatches", Assert.Throws<ArgumentException>(() => new MlflowClient(options)).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Unsupported_schemes_are_refused_with_a_clear_message()
    {
        var ex = Assert.Throws<NotSupportedException>(() => new MlflowClient(new MlflowClientOptions { TrackingUri = "databricks" }));
        Assert.Contains("http(s)://", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Secrets_never_appear_in_ToString()
    {
        var o = new MlflowClientOptions { TrackingUri = "http://alice:s3cr3t-pw@host:5000", Username = "alice", Password = "s3cr3t-pw", Token = "t0ken-value" };
        using var client = new MlflowClient(o);
        foreach (var text in new[] { o.ToString(), client.ToString(), client.TrackingUri })
        {
            Assert.DoesNotContain("s3cr3t-pw", text, StringComparison.Ordinal);
            Assert.DoesNotContain("t0ken-value", text, StringComparison.Ordinal);
        }

        Assert.Contains("Basic (***)", o.ToString(), StringComparison.Ordinal);
        Assert.Contains("Bearer (***)", new MlflowClientOptions { Token = "t0ken-value" }.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("t0ken-value", MlflowCredential.Bearer("t0ken-value").ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("t0ken-value", new MlflowAccessToken("t0ken-value", DateTimeOffset.UnixEpoch).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Secrets_never_appear_in_exception_messages()
    {
        using var server = WireMockServer.Start();
        server.Json("GET", "/api/2.0/mlflow/runs/get", """{"error_code":"UNAUTHENTICATED","message":"bad credentials"}""", 401);
        using var client = TestClients.For(server, o => o.Token = "t0ken-value");
        var ex = await Assert.ThrowsAsync<MlflowException>(() => client.Runs.GetAsync("abc", TestContext.Current.CancellationToken));
        Assert.DoesNotContain("t0ken-value", ex.ToString(), StringComparison.Ordinal);
        Assert.Equal("Bearer t0ken-value", Assert.Single(server.LogEntries).RequestMessage.Headers!["Authorization"].Single());
    }

    [Fact]
    public async Task Basic_credentials_and_workspace_are_sent_on_every_request()
    {
        using var server = WireMockServer.Start();
        server.Json("GET", "/api/2.0/mlflow/runs/get", """{"run":{"info":{"run_id":"abc"}}}""");
        using var client = TestClients.For(server, o => (o.Username, o.Password, o.Workspace) = ("alice", "pw", "team-a"));
        await client.Runs.GetAsync("abc", TestContext.Current.CancellationToken);
        var headers = Assert.Single(server.LogEntries).RequestMessage.Headers!;
        Assert.Equal("Basic " + Convert.ToBase64String("alice:pw"u8.ToArray()), headers["Authorization"].Single());
        Assert.Equal("team-a", headers["X-MLFLOW-WORKSPACE"].Single());
        Assert.StartsWith("mlflow-dotnet-client/", headers["User-Agent"].Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tracking_uri_with_a_path_prefix_keeps_the_prefix()
    {
        using var server = WireMockServer.Start();
        server.Json("GET", "/mlflow/api/2.0/mlflow/runs/get", """{"run":{"info":{"run_id":"abc"}}}""");
        using var client = TestClients.For(server, o => o.TrackingUri = server.Url + "/mlflow/");
        await client.Runs.GetAsync("abc", TestContext.Current.CancellationToken);
        Assert.Equal("/mlflow/api/2.0/mlflow/runs/get", Assert.Single(server.LogEntries).RequestMessage.AbsolutePath);
    }
}
