using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using MLOpsDemo.Mlflow.Extensions.DependencyInjection;
using MLOpsDemo.Mlflow.Hosting.Tests.TestSupport;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace MLOpsDemo.Mlflow.Hosting.Tests.DependencyInjection;

public sealed class AddMlflowClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Action_overload_registers_client_and_sub_clients_that_reach_the_server()
    {
        using var server = WireMockServer.Start();
        Stubs.ExperimentGet(server);
        var services = new ServiceCollection();
        services.AddMlflowClient(o => { o.TrackingUri = server.Url; o.Token = "t-123"; });
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<MlflowClient>();
        Assert.Same(client, provider.GetRequiredService<MlflowClient>());
        Assert.Same(client.Experiments, provider.GetRequiredService<ExperimentsClient>());
        Assert.Same(client.Runs, provider.GetRequiredService<RunsClient>());
        var experiment = await provider.GetRequiredService<ExperimentsClient>().GetAsync("1", Ct);

        Assert.Equal("demo", experiment.Name);
        Assert.Equal("Bearer t-123", Stubs.Header(Assert.Single(server.LogEntries), "Authorization"));
    }

    [Fact]
    public void Configuration_section_binds_the_simple_settings()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mlflow:TrackingUri"] = "http://mlflow.internal:5000",
            ["Mlflow:Username"] = "alice",
            ["Mlflow:Password"] = "pw",
            ["Mlflow:MaxRetries"] = "3",
            ["Mlflow:Timeout"] = "00:00:30",
            ["Mlflow:BackoffFactor"] = "1.5",
            ["Mlflow:InsecureTls"] = "true",
            ["Mlflow:Workspace"] = "team-a",
            ["Mlflow:SqliteSchemaVersion"] = "2.22",
            ["Mlflow:DefaultPageSize"] = "50",
        }).Build();
        var services = new ServiceCollection();
        var builder = services.AddMlflowClient(configuration.GetSection("Mlflow"));
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptionsMonitor<MlflowClientOptions>>().Get(builder.Name);

        Assert.Equal("http://mlflow.internal:5000", options.TrackingUri);
        Assert.Equal(("alice", "pw"), (options.Username, options.Password));
        Assert.Equal(3, options.MaxRetries);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(1.5), options.BackoffFactor);
        Assert.True(options.InsecureTls);
        Assert.Equal("team-a", options.Workspace);
        Assert.Equal("2.22", options.SqliteSchemaVersion);
        Assert.Equal(50, options.DefaultPageSize);
        Assert.Equal("http://mlflow.internal:5000/", provider.GetRequiredService<MlflowClient>().TrackingUri.TrimEnd('/') + "/");
    }

    [Fact]
    public async Task Invalid_configuration_value_fails_start_naming_the_setting()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mlflow:TrackingUri"] = "http://localhost:5000",
            ["Mlflow:MaxRetries"] = "many",
        }).Build();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddMlflowClient(configuration.GetSection("Mlflow"));
        using var host = builder.Build();

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(Ct));
        Assert.Contains("Mlflow:MaxRetries", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(99, "http://localhost:5000", "MaxRetries")]
    [InlineData(1, "databricks", "AddDatabricksAuth")]
    [InlineData(1, "azureml://eastus.api.azureml.ms/mlflow/v1.0/x", "AddAzureMlAuth")]
    [InlineData(1, "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/t", "AddSageMakerAuth")]
    public async Task ValidateOnStart_reports_the_bad_setting(int maxRetries, string uri, string expected)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddMlflowClient("team", o => { o.TrackingUri = uri; o.MaxRetries = maxRetries; });
        using var host = builder.Build();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Contains("'team'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Named_clients_resolve_by_name_and_by_key()
    {
        var services = new ServiceCollection();
        services.AddMlflowClient("team", o => o.TrackingUri = "http://team:5000");
        services.AddMlflowClient("lab", o => o.TrackingUri = "http://lab:5000");
        using var provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<IMlflowClientFactory>();

        Assert.Equal("http://team:5000", factory.GetClient("team").TrackingUri);
        Assert.Equal("http://lab:5000", factory.GetClient("lab").TrackingUri);
        Assert.Same(factory.GetClient("team"), provider.GetRequiredKeyedService<MlflowClient>("team"));
        Assert.Same(factory.GetClient("lab").Runs, provider.GetRequiredKeyedService<RunsClient>("lab"));
        Assert.Null(provider.GetService<MlflowClient>());
        var ex = Assert.Throws<InvalidOperationException>(() => factory.GetClient("other"));
        Assert.Contains("team", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Registering_a_name_twice_is_refused()
    {
        var services = new ServiceCollection();
        services.AddMlflowClient("team", o => o.TrackingUri = "http://team:5000");
        var ex = Assert.Throws<InvalidOperationException>(() => services.AddMlflowClient("team", o => o.TrackingUri = "http://x:5000"));
        Assert.Contains("already registered", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Default_pipeline_retries_and_WithoutMlflowResilience_removes_it()
    {
        using var server = WireMockServer.Start();
        server.Given(Request.Create().UsingGet()).RespondWith(Response.Create().WithStatusCode(503));
        var services = new ServiceCollection();
        void Options(MlflowClientOptions o)
        {
            o.TrackingUri = server.Url;
            o.MaxRetries = 2;
            o.BackoffFactor = TimeSpan.Zero;
            o.BackoffJitter = TimeSpan.Zero;
            o.RespectRetryAfter = false;
        }

        services.AddMlflowClient("retrying", Options);
        services.AddMlflowClient("plain", Options).WithoutMlflowResilience();
        await using var provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<IMlflowClientFactory>();

        await Assert.ThrowsAsync<MlflowException>(() => factory.GetClient("retrying").Experiments.GetAsync("1", Ct));
        Assert.Equal(3, server.LogEntries.Count);
        server.ResetLogEntries();
        await Assert.ThrowsAsync<MlflowException>(() => factory.GetClient("plain").Experiments.GetAsync("1", Ct));
        Assert.Single(server.LogEntries);
    }

    [Fact]
    public async Task Added_handlers_run_inside_the_default_ones_and_see_the_credential()
    {
        using var server = WireMockServer.Start();
        Stubs.ExperimentGet(server);
        var seen = new List<string?>();
        var services = new ServiceCollection();
        services.AddMlflowClient(o => { o.TrackingUri = server.Url; o.Token = "abc"; })
            .AddHttpMessageHandler(() => new RecordingHandler(seen));
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<MlflowClient>().Experiments.GetAsync("1", Ct);

        Assert.Equal(["Bearer abc"], seen);
    }

    [Fact]
    public async Task Environment_overload_reads_MLFLOW_variables()
    {
        var services = new ServiceCollection();
        var builder = services.AddMlflowClient();
        await using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptionsMonitor<MlflowClientOptions>>().Get(builder.Name);
        var expected = MlflowClientOptions.FromEnvironment();

        Assert.Equal("MLOpsDemo.Mlflow", builder.Name);
        Assert.Equal(expected.TrackingUri, options.TrackingUri);
        Assert.Equal(expected.MaxRetries, options.MaxRetries);
        Assert.Equal(expected.Timeout, options.Timeout);
    }

    [Fact]
    public async Task Health_check_is_healthy_on_200_unhealthy_on_500_and_on_timeout()
    {
        using var healthy = WireMockServer.Start();
        healthy.Given(Request.Create().WithPath("/health").UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithBody("OK"));
        using var failing = WireMockServer.Start();
        failing.Given(Request.Create().WithPath("/health").UsingGet()).RespondWith(Response.Create().WithStatusCode(500));
        using var slow = WireMockServer.Start();
        slow.Given(Request.Create().WithPath("/health").UsingGet()).RespondWith(Response.Create().WithStatusCode(200).WithDelay(TimeSpan.FromSeconds(3)));
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddMlflowClient("ok", o => o.TrackingUri = healthy.Url);
        services.AddMlflowClient("bad", o => o.TrackingUri = failing.Url);
        services.AddMlflowClient("slow", o => o.TrackingUri = slow.Url);
        services.AddHealthChecks()
            .AddMlflowHealthCheck("ok")
            .AddMlflowHealthCheck("bad")
            .AddMlflowHealthCheck("slow", timeout: TimeSpan.FromMilliseconds(200));
        await using var provider = services.BuildServiceProvider();

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(Ct);

        Assert.Equal(HealthStatus.Healthy, report.Entries["mlflow-ok"].Status);
        Assert.Equal(HealthStatus.Unhealthy, report.Entries["mlflow-bad"].Status);
        Assert.Contains("HTTP 500", report.Entries["mlflow-bad"].Description, StringComparison.Ordinal);
        Assert.Single(failing.LogEntries); // no retries for the probe
        Assert.Equal(HealthStatus.Unhealthy, report.Entries["mlflow-slow"].Status);
        Assert.Contains("did not answer within 0.2 s", report.Entries["mlflow-slow"].Description, StringComparison.Ordinal);
        Assert.Equal("/health", healthy.LogEntries.Single().RequestMessage.Path);
    }

    [Fact]
    public async Task Health_check_reports_an_unreachable_server()
    {
        var services = new ServiceCollection();
        services.AddMlflowClient(o => { o.TrackingUri = "http://127.0.0.1:1"; o.MaxRetries = 0; });
        services.AddHealthChecks().AddMlflowHealthCheck(failureStatus: HealthStatus.Degraded);
        await using var provider = services.BuildServiceProvider();

        var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(Ct);

        Assert.Equal(HealthStatus.Degraded, report.Entries["mlflow"].Status);
    }

    [Fact]
    public async Task Shutdown_flushes_active_runs_of_every_created_client()
    {
        var flushed = new List<string>();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddMlflowClient("a", o => o.TrackingUri = "http://a:5000");
        builder.Services.AddMlflowClient("b", o => o.TrackingUri = "http://b:5000");
        builder.Services.AddSingleton(new MlflowClientActivator((http, options) => new RecordingClient(http, options, flushed, wait: false)));
        using var host = builder.Build();
        await host.StartAsync(Ct);
        var factory = host.Services.GetRequiredService<IMlflowClientFactory>();
        _ = factory.GetClient("a");
        _ = factory.GetClient("b");

        await host.StopAsync(Ct);

        Assert.Equal(["http://a:5000", "http://b:5000"], flushed.Order());
    }

    [Fact]
    public async Task Shutdown_flush_stops_waiting_at_the_host_shutdown_timeout()
    {
        var flushed = new List<string>();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMilliseconds(200));
        builder.Services.AddMlflowClient(o => o.TrackingUri = "http://a:5000");
        builder.Services.AddSingleton(new MlflowClientActivator((http, options) => new RecordingClient(http, options, flushed, wait: true)));
        using var host = builder.Build();
        await host.StartAsync(Ct);
        var client = (RecordingClient)host.Services.GetRequiredService<MlflowClient>();

        // The flush never ends by itself: StopAsync can only return because the host's shutdown timeout cancelled it.
        await host.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(1), Ct); // a hang guard only

        Assert.Equal(["http://a:5000"], flushed);
        Assert.True(client.FlushCancelled, "The flush was not cancelled by the shutdown timeout.");
    }

    private sealed class RecordingHandler(List<string?> seen) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            seen.Add(request.Headers.Authorization?.ToString());
            return base.SendAsync(request, cancellationToken);
        }
    }

    private sealed class RecordingClient(HttpClient http, MlflowClientOptions options, List<string> flushed, bool wait) : MlflowClient(http, options)
    {
        public bool FlushCancelled { get; private set; }

        public override async Task FlushActiveRunsAsync(CancellationToken cancellationToken = default)
        {
            lock (flushed)
            {
                flushed.Add(TrackingUri);
            }

            if (wait)
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    FlushCancelled = true;
                    throw;
                }
            }
        }
    }
}
