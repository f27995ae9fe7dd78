using k8s;
using k8s.Exceptions;
using Microsoft.Extensions.Logging.Abstractions;
using MLOpsDemo.Mlflow.Projects;

namespace MLOpsDemo.Mlflow.Kubernetes;

/// <summary>
/// MLflow's Projects <c>kubernetes</c> backend (<c>mlflow run --backend kubernetes --backend-config kubernetes_config.json</c>):
/// the entry point runs as a Kubernetes Job rendered from your job template, in a run tracked like a local one.
/// Pass it as <see cref="ProjectRunOptions.Backend"/>.
/// </summary>
/// <example>
/// <code>
/// var backend = new KubernetesProjectBackend(KubernetesBackendConfig.Load("kubernetes_config.json"));
/// var result = await client.Projects.RunAsync("samples/Projects", new ProjectRunOptions { Backend = backend });
/// </code>
/// </example>
public sealed class KubernetesProjectBackend : ProjectBackend
{
    private readonly Lazy<KubernetesClientConfiguration> _clientConfiguration;
    private readonly int? _maxWatchFailures;
    private readonly TimeSpan? _watchRetryDelay;

    /// <summary>Creates the backend.</summary>
    /// <param name="config">The backend config (MLflow's <c>kubernetes_config.json</c>).</param>
    public KubernetesProjectBackend(KubernetesBackendConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        _clientConfiguration = new(LoadClientConfiguration, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The backend config.</summary>
    public KubernetesBackendConfig Config { get; }

    /// <summary>
    /// The cluster connection; <see langword="null"/> (default) finds it as MLflow and <c>kubectl</c> do: the kubeconfig
    /// from <c>KUBECONFIG</c> or <c>~/.kube/config</c> with <see cref="KubernetesBackendConfig.KubeContext"/> (or its
    /// current context), else the in-cluster service account.
    /// </summary>
    public KubernetesClientConfiguration? ClientConfiguration { get; init; }

    /// <summary>The clock for the job name, the pending timeout and the watch pacing. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>How long one watch of the Job lasts before its pods are checked again (MLflow polls every 5 s). Default 5 s.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How many watch failures in a row (connection dropped, HTTP 5xx/429, stream cut mid-event, 410 Gone) are tolerated:
    /// after each one the Job is re-listed and watched again after a backoff; reaching this number deletes the Job and ends
    /// the run FAILED with the last error. A non-transient refusal (401, 403, 404…) ends it at once. At least 1.
    /// </summary>
    /// <value>
    /// Precedence: a value set here (init) wins; otherwise <see cref="KubernetesBackendConfig.MaxWatchFailures"/>
    /// (<c>max-watch-failures</c> in <c>kubernetes_config.json</c>, which is how the <c>dotnet mlflow</c> CLI sets it);
    /// otherwise 5.
    /// </value>
    public int MaxWatchFailures
    {
        get => _maxWatchFailures ?? Config.MaxWatchFailures;
        init => _maxWatchFailures = value;
    }

    /// <summary>The wait before re-watching after the first failure, doubled after each further one (at most 30 s).</summary>
    /// <value>
    /// Precedence: a value set here (init) wins; otherwise <see cref="KubernetesBackendConfig.WatchRetryDelay"/>
    /// (<c>watch-retry-delay-seconds</c> in <c>kubernetes_config.json</c>, which is how the <c>dotnet mlflow</c> CLI
    /// sets it); otherwise 1 s.
    /// </value>
    public TimeSpan WatchRetryDelay
    {
        get => _watchRetryDelay ?? Config.WatchRetryDelay;
        init => _watchRetryDelay = value;
    }

    /// <summary>The docker executable used to build and push the project image. Default <c>docker</c>.</summary>
    public string DockerExecutable { get; init; } = "docker";

    /// <inheritdoc/>
    public override string Name => "kubernetes";

    /// <summary>
    /// Checks, before any run exists: the project has a name and a <c>docker_env</c> (unless a prebuilt
    /// <see cref="KubernetesBackendConfig.Image"/> is given), the template is a Job with a namespace, the cluster
    /// configuration loads, and a Docker engine answers when an image must be built.
    /// </summary>
    /// <param name="project">The project.</param>
    /// <param name="options">The run options.</param>
    /// <param name="cancellationToken">Cancels the checks.</param>
    /// <returns>A task that completes when the project can run.</returns>
    public override async Task ValidateAsync(MlProject project, ProjectRunOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(project);
        Config.Validate(project);
        if (PollInterval < TimeSpan.Zero)
        {
            throw new ArgumentException("KubernetesProjectBackend.PollInterval must not be negative.", nameof(options));
        }

        // The values in effect are checked, named after where they came from (an explicit value here wins over the config's).
        if (MaxWatchFailures < 1)
        {
            throw new ArgumentException(
                _maxWatchFailures is null
                    ? $"KubernetesBackendConfig.MaxWatchFailures ('max-watch-failures') is {MaxWatchFailures}; use 1 (give up at the first watch failure) or more (default 5)."
                    : $"KubernetesProjectBackend.MaxWatchFailures is {MaxWatchFailures}; use 1 (give up at the first watch failure) or more.",
                nameof(options));
        }

        if (_watchRetryDelay is null && (WatchRetryDelay < TimeSpan.Zero || WatchRetryDelay > TimeSpan.FromSeconds(KubernetesBackendConfig.MaxWatchRetryDelaySeconds)))
        {
            throw new ArgumentException($"KubernetesBackendConfig.WatchRetryDelay ('watch-retry-delay-seconds') is {WatchRetryDelay}; use TimeSpan.Zero (retry at once) up to one hour (default 1 s, doubled on each failure up to 30 s).", nameof(options));
        }

        if (WatchRetryDelay < TimeSpan.Zero)
        {
            throw new ArgumentException($"KubernetesProjectBackend.WatchRetryDelay is {WatchRetryDelay}; use TimeSpan.Zero (retry at once) or a positive delay (default 1 s, doubled on each failure up to 30 s).", nameof(options));
        }

        _ = await KubernetesJobRenderer.LoadTemplateAsync(Config.JobTemplatePath, cancellationToken).ConfigureAwait(false);
        _ = GetClientConfiguration();
        if (Config.Image is null && Config.BuildImage)
        {
            await new DockerImageBuilder(DockerExecutable).CheckEngineAsync(project.Environment.DockerImage!, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sets <c>mlflow.project.env</c> = <c>docker</c>, builds and pushes the image (or takes the prebuilt one) and records
    /// <c>mlflow.docker.image.uri</c>/<c>.id</c>, renders the Job, creates it, and records
    /// <c>mlflow.kubernetes.job.name</c> and <c>mlflow.kubernetes.job.namespace</c>.
    /// </summary>
    /// <param name="launch">The run and the command.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The Job, watched until it ends.</returns>
    public override async Task<ProjectExecution> StartAsync(ProjectLaunch launch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var project = launch.Project;
        var logger = launch.Logger ?? NullLogger.Instance;
        await launch.SetTagAsync("mlflow.project.env", "docker", cancellationToken).ConfigureAwait(false);

        var docker = new DockerImageBuilder(DockerExecutable);
        ProjectImage image;
        if (Config.Image is { } prebuilt)
        {
            image = new ProjectImage(prebuilt, prebuilt, DigestOf(prebuilt));
        }
        else if (Config.BuildImage)
        {
            KubernetesLog.Building(logger, Config.RepositoryUri!);
            image = await docker.BuildAndPushAsync(project, Config.RepositoryUri!, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var baseImage = project.Environment.DockerImage!;
            var digest = DigestOf(baseImage) ?? await docker.DigestAsync(baseImage, cancellationToken).ConfigureAwait(false);
            image = new ProjectImage(digest is null || baseImage.Contains('@', StringComparison.Ordinal) ? baseImage : baseImage + "@" + digest, baseImage, digest);
        }

        await launch.SetTagAsync("mlflow.docker.image.uri", image.Uri, cancellationToken).ConfigureAwait(false);
        if (image.Digest is not null)
        {
            await launch.SetTagAsync("mlflow.docker.image.id", image.Digest, cancellationToken).ConfigureAwait(false);
        }

        var template = await KubernetesJobRenderer.LoadTemplateAsync(Config.JobTemplatePath, cancellationToken).ConfigureAwait(false);
        var environment = new Dictionary<string, string>(launch.RunEnvironment, StringComparer.Ordinal);
        if ((Config.TrackingUri ?? NonEmpty(Environment.GetEnvironmentVariable("KUBE_MLFLOW_TRACKING_URI"))) is { } trackingUri)
        {
            environment["MLFLOW_TRACKING_URI"] = trackingUri;
        }

        var job = KubernetesJobRenderer.Render(template, project.Name!, image.Reference, KubernetesJobRenderer.RunCommand(launch.Command), environment, TimeProvider.GetLocalNow());
        var jobName = job.Metadata.Name;
        var jobNamespace = job.Metadata.NamespaceProperty;
        KubernetesLog.Creating(logger, jobNamespace, jobName, image.Reference);
        var client = new k8s.Kubernetes(GetClientConfiguration());
        try
        {
            await client.BatchV1.CreateNamespacedJobAsync(job, jobNamespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            await launch.SetTagAsync("mlflow.kubernetes.job.name", jobName, cancellationToken).ConfigureAwait(false);
            await launch.SetTagAsync("mlflow.kubernetes.job.namespace", jobNamespace, cancellationToken).ConfigureAwait(false);
        }
        catch (k8s.Autorest.HttpOperationException ex)
        {
            client.Dispose();
            throw new MlflowProjectException($"Kubernetes refused to create Job {jobNamespace}/{jobName}: {(int)ex.Response.StatusCode} {FirstLine(ex.Response.Content)}", ex);
        }
        catch
        {
            client.Dispose();
            throw;
        }

        return new KubernetesJobExecution(client, launch, jobName, jobNamespace, project.Name!, TimeProvider, PollInterval, Config.PendingTimeout, MaxWatchFailures, WatchRetryDelay, MaxWatchFailuresSource);

        static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
        static string? DigestOf(string reference) => reference.IndexOf('@', StringComparison.Ordinal) is var at and >= 0 ? reference[(at + 1)..] : null;
        static string FirstLine(string? text) => (text ?? "").Trim().Split('\n')[0];
    }

    /// <summary>Where <see cref="MaxWatchFailures"/> came from, as the run's failure reason names it.</summary>
    private string MaxWatchFailuresSource => _maxWatchFailures is null
        ? $"'max-watch-failures' in the backend config = {MaxWatchFailures}"
        : $"KubernetesProjectBackend.MaxWatchFailures = {MaxWatchFailures}";

    private KubernetesClientConfiguration GetClientConfiguration() => ClientConfiguration ?? _clientConfiguration.Value;

    /// <summary>MLflow's <c>_load_kube_context</c>: the kubeconfig (with the context), else the in-cluster config.</summary>
    private KubernetesClientConfiguration LoadClientConfiguration()
    {
        try
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(currentContext: Config.KubeContext);
        }
        catch (Exception ex) when (ex is KubeConfigException or IOException or ArgumentException or UnauthorizedAccessException)
        {
            if (!KubernetesClientConfiguration.IsInCluster())
            {
                var where = Environment.GetEnvironmentVariable("KUBECONFIG") is { Length: > 0 } env ? $"KUBECONFIG={env}" : KubernetesClientConfiguration.KubeConfigDefaultLocation;
                throw new MlflowProjectException(
                    $"No usable Kubernetes configuration: the kubeconfig ({where}{(Config.KubeContext is null ? "" : ", context '" + Config.KubeContext + "'")}) could not be loaded ({ex.Message}) and this process is not running in a cluster. Point KUBECONFIG at a kubeconfig or fix 'kube-context'. No run was created.",
                    ex);
            }

            KubernetesLog.InCluster(NullLogger.Instance, ex.Message);
            return KubernetesClientConfiguration.InClusterConfig();
        }
    }
}
