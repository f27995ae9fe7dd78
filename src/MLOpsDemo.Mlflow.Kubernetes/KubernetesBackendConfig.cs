using System.Text.Json;
using MLOpsDemo.Mlflow.Projects;

namespace MLOpsDemo.Mlflow.Kubernetes;

/// <summary>
/// The settings of the Kubernetes backend: MLflow's <c>kubernetes_config.json</c> (<c>kube-context</c>,
/// <c>repository-uri</c>, <c>kube-job-template-path</c>) plus this library's additions (<c>image</c>,
/// <c>build-image</c>, <c>tracking-uri</c>, <c>pending-timeout-seconds</c>, <c>max-watch-failures</c>,
/// <c>watch-retry-delay-seconds</c>). Read the JSON file with <see cref="Load"/> or build it in code.
/// </summary>
/// <example>
/// <code language="json">
/// { "kube-context": "docker-desktop", "repository-uri": "registry.example.com/dotnet-train", "kube-job-template-path": "kubernetes_job_template.yaml" }
/// </code>
/// </example>
public sealed record KubernetesBackendConfig
{
    /// <summary>
    /// <c>kube-job-template-path</c> (required): the YAML Job manifest the Job is rendered from. Its
    /// <c>metadata.namespace</c> is the Job's namespace (required); its first container runs the project.
    /// </summary>
    public required string JobTemplatePath { get; init; }

    /// <summary>
    /// <c>repository-uri</c>: the image repository the project image is tagged with (<c>&lt;repository-uri&gt;:&lt;git sha7&gt;</c>)
    /// and pushed to. Required unless <see cref="Image"/> is given.
    /// </summary>
    public string? RepositoryUri { get; init; }

    /// <summary>
    /// <c>kube-context</c>: the kubeconfig context; <see langword="null"/> uses the current context of the kubeconfig
    /// found as <c>kubectl</c> finds it (<c>KUBECONFIG</c>, else <c>~/.kube/config</c>), else the in-cluster configuration.
    /// </summary>
    public string? KubeContext { get; init; }

    /// <summary>
    /// <c>image</c> (beyond MLflow): a prebuilt image that already contains the project, used as-is (no build, no
    /// push). The project then needs no <c>docker_env</c>. This is how most clusters run.
    /// </summary>
    public string? Image { get; init; }

    /// <summary>
    /// <c>build-image</c> (MLflow's <c>--build-image</c>): when <see langword="true"/> (default) an image
    /// <c>FROM docker_env.image</c> with the project copied to <c>/mlflow/projects/code</c> is built, tagged
    /// <c>&lt;repository-uri&gt;[:&lt;git sha7&gt;]</c> and pushed; when <see langword="false"/> the
    /// <c>docker_env.image</c> itself is used (it must already hold the project).
    /// </summary>
    public bool BuildImage { get; init; } = true;

    /// <summary>
    /// <c>tracking-uri</c> (beyond MLflow): the tracking URI as the pod reaches it (e.g.
    /// <c>http://mlflow.mlflow.svc:5000</c>). <see langword="null"/>: the environment variable
    /// <c>KUBE_MLFLOW_TRACKING_URI</c> if set (as in MLflow), else the client's tracking URI.
    /// </summary>
    public string? TrackingUri { get; init; }

    /// <summary>
    /// How long a pod may stay unschedulable or unable to pull its image (<c>ErrImagePull</c>,
    /// <c>ImagePullBackOff</c>) before the run fails with the pod's reason and the Job is deleted. Default 5 minutes.
    /// Errors that cannot heal (<c>InvalidImageName</c>, <c>CreateContainerConfigError</c>, …) fail at once.
    /// </summary>
    public TimeSpan PendingTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// <c>max-watch-failures</c> (beyond MLflow; a whole number, 1 or more): how many watch failures of the Job in a row
    /// are tolerated before the Job is deleted and the run ends FAILED (1: give up at the first failure). Default 5.
    /// <see cref="KubernetesProjectBackend.MaxWatchFailures"/>, when set explicitly, takes precedence over this value.
    /// </summary>
    public int MaxWatchFailures { get; init; } = DefaultMaxWatchFailures;

    /// <summary>
    /// <c>watch-retry-delay-seconds</c> (beyond MLflow; seconds, 0 to 3600, fractions allowed): the wait before
    /// re-watching the Job after the first watch failure, doubled after each further one (at most 30 s, or this delay if
    /// longer). Default 1 s. <see cref="KubernetesProjectBackend.WatchRetryDelay"/>, when set explicitly, takes
    /// precedence over this value.
    /// </summary>
    public TimeSpan WatchRetryDelay { get; init; } = DefaultWatchRetryDelay;

    /// <summary>The default of <see cref="MaxWatchFailures"/>.</summary>
    internal const int DefaultMaxWatchFailures = 5;

    /// <summary>The default of <see cref="WatchRetryDelay"/>.</summary>
    internal static readonly TimeSpan DefaultWatchRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>The largest <c>watch-retry-delay-seconds</c> accepted (one hour).</summary>
    internal const double MaxWatchRetryDelaySeconds = 3600;

    /// <summary>
    /// Reads the backend config as <c>mlflow run --backend-config</c> does: a path to a <c>.json</c> file, or an inline
    /// JSON object. A relative <c>kube-job-template-path</c> is looked up in the current directory (as MLflow does),
    /// then next to the JSON file.
    /// </summary>
    /// <param name="pathOrJson">A JSON file path, or JSON text starting with <c>{</c>.</param>
    /// <returns>The config.</returns>
    /// <exception cref="ArgumentException">The JSON is malformed or a key is missing or has the wrong type.</exception>
    /// <exception cref="FileNotFoundException">The JSON file does not exist.</exception>
    public static KubernetesBackendConfig Load(string pathOrJson)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pathOrJson);
        var text = pathOrJson.TrimStart();
        string? directory = null;
        if (!text.StartsWith('{') && !text.StartsWith('['))
        {
            var full = Path.GetFullPath(pathOrJson);
            if (!File.Exists(full))
            {
                throw new FileNotFoundException($"The Kubernetes backend config file '{full}' does not exist. Give a kubernetes_config.json path or inline JSON.", full);
            }

            directory = Path.GetDirectoryName(full);
            text = File.ReadAllText(full);
        }

        return Parse(text, directory);
    }

    private static KubernetesBackendConfig Parse(string json, string? directory)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"The Kubernetes backend config is not valid JSON: {ex.Message}", nameof(json), ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException("The Kubernetes backend config must be a JSON object such as {\"kube-job-template-path\": \"job.yaml\", \"repository-uri\": \"registry/name\"}.", nameof(json));
            }

            var template = String(root, "kube-job-template-path")
                ?? throw new ArgumentException("'kube-job-template-path' attribute must be specified in backend_config (the YAML Job template).", nameof(json));
            if (!Path.IsPathRooted(template) && !File.Exists(template) && directory is not null && File.Exists(Path.Combine(directory, template)))
            {
                template = Path.Combine(directory, template);
            }

            var buildImage = true;
            if (root.TryGetProperty("build-image", out var build))
            {
                buildImage = build.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    _ => throw new ArgumentException("'build-image' in the Kubernetes backend config must be true or false.", nameof(json)),
                };
            }

            var pending = Seconds(root, "pending-timeout-seconds", 1e9, "a number of seconds from 0 to 1000000000 (default 300)") ?? TimeSpan.FromMinutes(5);
            var retryDelay = Seconds(root, "watch-retry-delay-seconds", MaxWatchRetryDelaySeconds, "a number of seconds from 0 (retry at once) to 3600 (default 1, doubled after each further failure up to 30)") ?? DefaultWatchRetryDelay;
            var maxFailures = DefaultMaxWatchFailures;
            if (root.TryGetProperty("max-watch-failures", out var failures))
            {
                maxFailures = failures.ValueKind == JsonValueKind.Number && failures.TryGetInt32(out var count) && count >= 1
                    ? count
                    : throw Invalid("max-watch-failures", failures, "a whole number, 1 (give up at the first watch failure) or more (default 5)");
            }

            return new KubernetesBackendConfig
            {
                JobTemplatePath = template,
                RepositoryUri = String(root, "repository-uri"),
                KubeContext = String(root, "kube-context"),
                Image = String(root, "image"),
                BuildImage = buildImage,
                TrackingUri = String(root, "tracking-uri"),
                PendingTimeout = pending,
                MaxWatchFailures = maxFailures,
                WatchRetryDelay = retryDelay,
            };
        }

        static TimeSpan? Seconds(JsonElement root, string name, double max, string use) =>
            !root.TryGetProperty(name, out var value) ? null
            : value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var seconds) && seconds >= 0 && seconds <= max ? TimeSpan.FromSeconds(seconds)
            : throw Invalid(name, value, use);

        static ArgumentException Invalid(string name, JsonElement value, string use) =>
            new($"'{name}' in the Kubernetes backend config is {Shown(value)}; use {use}.", nameof(json));

        static string Shown(JsonElement value)
        {
            var raw = value.GetRawText();
            raw = raw.Length > 40 ? raw[..40] + "…" : raw;
            return value.ValueKind switch
            {
                JsonValueKind.Number => raw,
                JsonValueKind.String => raw + " (a string)",
                JsonValueKind.True or JsonValueKind.False => raw + " (a boolean)",
                JsonValueKind.Null => "null",
                JsonValueKind.Array => raw + " (an array)",
                _ => raw + " (an object)",
            };
        }

        static string? String(JsonElement root, string name) =>
            !root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
            : value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text
            : throw new ArgumentException($"'{name}' in the Kubernetes backend config must be a non-empty string.", nameof(json));
    }

    /// <summary>Checks the settings against a project; throws before anything is created.</summary>
    internal void Validate(MlProject project)
    {
        if (string.IsNullOrWhiteSpace(project.Name))
        {
            throw new MlflowProjectException($"The project in '{project.Directory}' has no 'name' in its MLproject file. The Kubernetes backend names the Job and its container after the project: add 'name: my-project'.");
        }

        if (Image is null)
        {
            if (project.Environment.Type != ProjectEnvironmentType.Docker)
            {
                throw new MlflowProjectException($"Project '{project.Name}' has no docker_env. The Kubernetes backend runs docker_env projects (add 'docker_env: {{image: ...}}' to the MLproject file), or give a prebuilt image that contains the project with \"image\" in the backend config.");
            }

            if (BuildImage && RepositoryUri is null)
            {
                throw new ArgumentException("Could not find 'repository-uri' in backend_config: give the image repository the project image is pushed to (e.g. \"registry.example.com/my-project\"), or a prebuilt \"image\".", nameof(project));
            }
        }

        if (!File.Exists(JobTemplatePath))
        {
            throw new ArgumentException($"Could not find 'kube-job-template-path': {JobTemplatePath} (looked for '{Path.GetFullPath(JobTemplatePath)}').", nameof(project));
        }

        if (PendingTimeout < TimeSpan.Zero)
        {
            throw new ArgumentException("KubernetesBackendConfig.PendingTimeout must not be negative.", nameof(project));
        }
    }
}
