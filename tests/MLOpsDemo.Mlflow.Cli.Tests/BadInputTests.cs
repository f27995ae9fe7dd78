namespace MLOpsDemo.Mlflow.Cli.Tests;

/// <summary>Usage errors (exit 2), missing things (exit 4) and an unreachable server (exit 3): code and message.</summary>
public class BadInputTests
{
    [Fact]
    public async Task Unknown_option_is_a_usage_error_naming_it()
    {
        using var target = CliTarget.Open("local");
        var result = (await target.RunAsync("runs", "list", "-x", "e", "--colour", "red")).Expect(2);
        Assert.Contains("--colour", result.Error, StringComparison.Ordinal);
        Assert.Contains("dotnet mlflow runs list --help", result.Error, StringComparison.Ordinal);
        Assert.Empty(result.Out);
    }

    [Fact]
    public async Task Unknown_command_missing_required_option_and_bad_output_format_are_usage_errors()
    {
        using var target = CliTarget.Open("local");
        Assert.Contains("lst", (await target.RunAsync("runs", "lst")).Expect(2).Error, StringComparison.Ordinal);
        Assert.Contains("--to-alias", (await target.RunAsync("models", "promote", "m", "--version", "1")).Expect(2).Error, StringComparison.Ordinal);
        Assert.Contains("yaml", (await target.RunAsync("experiments", "list", "--output", "yaml")).Expect(2).Error, StringComparison.Ordinal);
        Assert.Contains("not a number", (await target.RunAsync("runs", "log", "0123456789abcdef0123456789abcdef", "--metric", "acc=high")).Expect(2).Error, StringComparison.Ordinal);
        Assert.Contains("key=value", (await target.RunAsync("runs", "log", "0123456789abcdef0123456789abcdef", "--param", "novalue")).Expect(2).Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_filters_are_usage_errors_before_any_request()
    {
        // The tracking URI points at a closed port: a request would give exit 3, not 2.
        using var target = CliTarget.Open("local");
        target.WithVariable("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0");
        var list = (await target.RunRawAsync("--tracking-uri", "http://127.0.0.1:9", "runs", "list", "-x", "e", "--filter", "metrics.accuracy >> 0.9")).Expect(2);
        Assert.Contains("--filter", list.Error, StringComparison.Ordinal);
        Assert.Contains("metrics.accuracy >> 0.9", list.Error, StringComparison.Ordinal);

        var require = (await target.RunRawAsync("--tracking-uri", "http://127.0.0.1:9", "models", "promote", "m", "--version", "1", "--to-alias", "champion", "--require", "metrics.accuracy >= 'high'")).Expect(2);
        Assert.Contains("--require", require.Error, StringComparison.Ordinal);
        Assert.Contains("numeric", require.Error, StringComparison.Ordinal);

        var noMetric = (await target.RunRawAsync("--tracking-uri", "http://127.0.0.1:9", "models", "promote", "m", "--version", "1", "--to-alias", "champion", "--must-beat", "champion")).Expect(2);
        Assert.Contains("--metric", noMetric.Error, StringComparison.Ordinal);

        var both = (await target.RunRawAsync("--tracking-uri", "http://127.0.0.1:9", "models", "promote", "m", "--version", "1", "--from-alias", "a", "--to-alias", "champion")).Expect(2);
        Assert.Contains("exactly one of --version", both.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Projects_run_rejects_a_bad_backend_before_any_run()
    {
        using var target = CliTarget.Open("local");
        var project = Path.Combine(Path.GetTempPath(), "cli-backend-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(project);
        try
        {
            await File.WriteAllTextAsync(Path.Combine(project, "MLproject"), "name: p\nentry_points:\n  main:\n    command: \"echo hi\"\n", TestContext.Current.CancellationToken);
            var noConfig = (await target.RunAsync("projects", "run", project, "--backend", "kubernetes")).Expect(2);
            Assert.Contains("--backend-config", noConfig.Error, StringComparison.Ordinal);
            var unknown = (await target.RunAsync("projects", "run", project, "--backend", "databricks")).Expect(2);
            Assert.Contains("'databricks' is not supported", unknown.Error, StringComparison.Ordinal);
            var missingFile = (await target.RunAsync("projects", "run", project, "-b", "kubernetes", "-c", Path.Combine(project, "no-such-config.json"))).Expect(2);
            Assert.Contains("--backend-config", missingFile.Error, StringComparison.Ordinal);
            var runs = (await target.RunAsync("runs", "list", "-x", "Default", "--output", "json")).Expect(0);
            Assert.DoesNotContain("run_id", runs.Out, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(project, recursive: true);
        }
    }

    [Theory]
    [InlineData("\"max-watch-failures\": 0", "'max-watch-failures' in the Kubernetes backend config is 0; use a whole number, 1")]
    [InlineData("\"max-watch-failures\": \"3\"", "'max-watch-failures' in the Kubernetes backend config is \"3\" (a string); use a whole number, 1")]
    [InlineData("\"watch-retry-delay-seconds\": -1", "'watch-retry-delay-seconds' in the Kubernetes backend config is -1; use a number of seconds from 0")]
    public async Task Projects_run_rejects_bad_watch_retry_keys_in_the_backend_config_as_usage_errors(string key, string message)
    {
        // Refused while reading --backend-config: before the kubeconfig is loaded, any cluster request or any run.
        using var target = CliTarget.Open("local");
        var project = Path.Combine(target.Folder, "k8s-project");
        Directory.CreateDirectory(project);
        await File.WriteAllTextAsync(Path.Combine(project, "MLproject"), "name: p\nentry_points:\n  main:\n    command: \"echo hi\"\n", TestContext.Current.CancellationToken);
        var template = Path.Combine(project, "job.yaml").Replace("\\", "/", StringComparison.Ordinal);
        var config = $$"""{"kube-job-template-path": "{{template}}", "image": "registry.example.com/p:1", {{key}}}""";

        var result = (await target.RunAsync("projects", "run", project, "--backend", "kubernetes", "--backend-config", config)).Expect(2);

        Assert.Contains("--backend-config: " + message, result.Error, StringComparison.Ordinal);
        Assert.Empty(result.Out);
        var runs = (await target.RunAsync("runs", "list", "-x", "Default", "--output", "json")).Expect(0);
        Assert.DoesNotContain("run_id", runs.Out, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("local")]
    [InlineData("3")]
    [InlineData("2")]
    public async Task Missing_run_model_and_alias_exit_4(string store)
    {
        using var target = CliTarget.Open(store);
        var missingRun = (await target.RunAsync("runs", "show", "0123456789abcdef0123456789abcdef")).Expect(4);
        Assert.Contains("RESOURCE_DOES_NOT_EXIST", missingRun.Error, StringComparison.Ordinal);
        Assert.Contains("0123456789abcdef0123456789abcdef", missingRun.Error, StringComparison.Ordinal);

        var model = CliTarget.Unique("missing-model");
        Assert.Contains(model, (await target.RunAsync("models", "show", model)).Expect(4).Error, StringComparison.Ordinal);
        (await target.RunAsync("experiments", "delete", CliTarget.Unique("no-experiment"))).Expect(4);

        var experiment = await target.CreateExperimentAsync("missing");
        await target.CreateRegisteredRunAsync(experiment, model, "champion", "--metric", "accuracy=0.9");
        var missingAlias = (await target.RunAsync("models", "promote", model, "--from-alias", "challenger", "--to-alias", "champion")).Expect(4);
        Assert.Contains("no alias 'challenger'", missingAlias.Error, StringComparison.Ordinal);
        (await target.RunAsync("models", "download", $"models:/{model}@nope", Path.Combine(target.Folder, "x"))).Expect(4);
        (await target.RunAsync("report", $"models:/{model}@nope")).Expect(4);
        Assert.Equal("1", await target.AliasVersionAsync(model, "champion"));
    }

    [Fact]
    public async Task Unreachable_server_exits_3_and_never_echoes_credentials()
    {
        using var target = CliTarget.Open("local");
        target.WithVariable("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
            .WithVariable("MLFLOW_TRACKING_USERNAME", "ci-bot")
            .WithVariable("MLFLOW_TRACKING_PASSWORD", "s3cr3t-password");
        var result = (await target.RunRawAsync("--tracking-uri", "http://ci-bot:url-s3cr3t@127.0.0.1:9", "--verbose", "experiments", "list")).Expect(3);
        Assert.Contains("Cannot reach the MLflow server", result.Error, StringComparison.Ordinal);
        Assert.Contains("Tracking URI: http://***@127.0.0.1:9", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", result.Error + result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unsupported_tracking_uri_is_a_usage_error()
    {
        using var target = CliTarget.Open("local");
        var result = (await target.RunRawAsync("--tracking-uri", "ftp://example.com", "experiments", "list")).Expect(2);
        Assert.Contains("ftp://example.com", result.Error, StringComparison.Ordinal);
    }
}
