using System.ComponentModel;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MLOpsDemo.Mlflow.Projects;

/// <summary>
/// MLflow Projects: load an MLproject from a folder or a git URI and run an entry point as a tracked run, with the
/// same tags, params, environment variables and status rules as <c>mlflow run</c> on the local backend. Obtain it
/// from <see cref="MlflowClient.Projects"/>.
/// </summary>
public class ProjectsClient
{
    private const string DockerTrackingDirectory = "/mlflow/tmp/mlruns";
    private const string DockerProjectDirectory = "/mlflow/projects/code";
    private readonly MlflowClient _client;

    internal ProjectsClient(MlflowClient client) => _client = client;

    /// <summary>Creates a client for mocking.</summary>
    protected ProjectsClient() => _client = null!;

    /// <summary>The git executable (tests substitute it).</summary>
    internal string GitExecutable { get; set; } = "git";

    /// <summary>The docker executable (tests substitute a fake one).</summary>
    internal string DockerExecutable { get; set; } = "docker";

    /// <summary>The user recorded in <c>mlflow.user</c>.</summary>
    internal string UserName { get; set; } = Environment.UserName;

    /// <summary>
    /// Loads a project: a local folder (<c>./proj</c>, <c>/abs/proj</c>, <c>file:///abs/proj</c>) or a git URI
    /// (<c>https://host/org/repo.git#sub/dir</c>, <c>file:///path/repo.git#sub</c>, <c>git@host:org/repo.git</c>),
    /// which is cloned with the <c>git</c> command line into a temporary folder (see <see cref="ProjectSource.TemporaryDirectory"/>).
    /// </summary>
    /// <param name="uri">The project URI; text after <c>#</c> is a subdirectory (it may not contain '.').</param>
    /// <param name="version">A git branch, tag or commit, or <see langword="null"/> for the default branch.</param>
    /// <param name="cancellationToken">Cancels the operation (and any git command).</param>
    /// <returns>The project.</returns>
    /// <exception cref="ArgumentException">The URI or version cannot be used.</exception>
    /// <exception cref="MlflowProjectException">The clone, checkout or MLproject file failed.</exception>
    public virtual Task<MlProject> LoadAsync(string uri, string? version = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uri);
        if (version is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(version);
        }

        return new ProjectFetcher(GitExecutable).FetchAsync(uri, version, cancellationToken);
    }

    /// <summary>
    /// Runs an entry point and waits for it (<c>mlflow run</c>). The run ends <see cref="RunStatus.Finished"/> when
    /// the command exits with 0 and <see cref="RunStatus.Failed"/> otherwise; a failed command does not throw, check
    /// <see cref="ProjectRunResult.Status"/>. Cancelling <paramref name="cancellationToken"/> kills the command's process
    /// tree, ends the run <see cref="RunStatus.Killed"/> and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <param name="uri">The project folder or git URI (see <see cref="LoadAsync"/>).</param>
    /// <param name="options">Entry point, parameters, experiment, output handling.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    /// <returns>The outcome.</returns>
    /// <exception cref="ArgumentException">A parameter is missing or invalid (nothing was run or recorded).</exception>
    /// <exception cref="MlflowProjectException">The project could not be fetched or its environment is unavailable (nothing was recorded).</exception>
    public virtual async Task<ProjectRunResult> RunAsync(string uri, ProjectRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        var submitted = await SubmitAsync(uri, options, cancellationToken).ConfigureAwait(false);
        try
        {
            return await submitted.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await submitted.CancelAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Starts an entry point and returns without waiting (<c>mlflow.projects.run(..., synchronous=False)</c>).
    /// Everything that can be checked beforehand (project, parameters, environment, experiment) is checked before the
    /// run is created.
    /// </summary>
    /// <param name="uri">The project folder or git URI (see <see cref="LoadAsync"/>).</param>
    /// <param name="options">Entry point, parameters, experiment, output handling.</param>
    /// <param name="cancellationToken">Cancels the preparation; once the command is started use <see cref="SubmittedRun.CancelAsync"/>.</param>
    /// <returns>The submitted run.</returns>
    /// <exception cref="ArgumentException">A parameter is missing or invalid (nothing was run or recorded).</exception>
    /// <exception cref="MlflowProjectException">The project could not be fetched or its environment is unavailable (nothing was recorded).</exception>
    public virtual async Task<SubmittedRun> SubmitAsync(string uri, ProjectRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(uri);
        options ??= new ProjectRunOptions();
        ValidateOptions(options);
        _client.ThrowIfDisposed();
        var logger = options.Logger ?? NullLogger.Instance;
        var project = await LoadAsync(uri, options.Version, cancellationToken).ConfigureAwait(false);
        var temporary = project.Source.TemporaryDirectory;
        if (temporary is not null)
        {
            var shownUri = TrackingUriInfo.Redact(uri);
            ProjectLog.Fetched(logger, shownUri, temporary);
        }

        try
        {
            return await StartAsync(project, options, logger, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            if (temporary is not null)
            {
                ProjectFetcher.DeleteDirectory(temporary);
            }

            throw;
        }
    }

    private async Task<SubmittedRun> StartAsync(MlProject project, ProjectRunOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        // A backend other than local runs the command on Linux (a pod), whatever this machine is.
        var windows = OperatingSystem.IsWindows() && options.Backend is null;
        var entryPoint = project.GetEntryPoint(options.EntryPoint);
        var rendered = ProjectCommand.Render(entryPoint, options.Parameters ?? new Dictionary<string, string>(), Environment.CurrentDirectory, windows);
        _ = RunsClient.PrepareParams(rendered.LoggedParameters, nameof(options), _client.Options.TruncateLongValues);

        var backend = options.Backend;
        if (backend is not null)
        {
            // The backend checks the project and its own settings before any run exists.
            await backend.ValidateAsync(project, options, cancellationToken).ConfigureAwait(false);
            var remoteRun = await CreateRunAsync(project, options, rendered, cancellationToken).ConfigureAwait(false);
            return await StartOnBackendAsync(backend, project, options, rendered.Command, remoteRun, logger, cancellationToken).ConfigureAwait(false);
        }

        // Environment checks, before any run exists.
        string? imageId = null;
        var environment = project.Environment;
        if (environment.Type == ProjectEnvironmentType.Docker)
        {
            imageId = await PrepareDockerAsync(environment, cancellationToken).ConfigureAwait(false);
        }
        else if (environment.ConfigFile is not null)
        {
            var kind = environment.Type == ProjectEnvironmentType.Conda ? "conda_env" : "python_env";
            if (options.FailOnUnsupportedEnvironment)
            {
                throw new MlflowProjectException(
                    $"Project '{project.Name ?? project.Directory}' asks for a {kind} environment ({environment.ConfigFile}), which this client cannot create (only the local environment and docker_env are supported). Run it with the Python 'mlflow run', or leave FailOnUnsupportedEnvironment off to run it in the current environment.");
            }

            ProjectLog.UnsupportedEnvironment(logger, project.Name ?? project.Directory, kind, environment.ConfigFile);
        }

        var run = await CreateRunAsync(project, options, rendered, cancellationToken).ConfigureAwait(false);
        var runId = run.Info.RunId;
        var command = rendered.Command;
        var childEnvironment = BuildChildEnvironment(options, runId, run.Info.ExperimentId, ChildTrackingUri());
        if (environment.Type == ProjectEnvironmentType.Docker)
        {
            await _client.Runs.SetTagAsync(runId, "mlflow.project.env", "docker", cancellationToken).ConfigureAwait(false);
            await _client.Runs.SetTagAsync(runId, "mlflow.docker.image.uri", environment.DockerImage!, cancellationToken).ConfigureAwait(false);
            if (imageId is not null)
            {
                await _client.Runs.SetTagAsync(runId, "mlflow.docker.image.id", imageId, cancellationToken).ConfigureAwait(false);
            }

            command = BuildDockerCommand(project, options, run.Info, childEnvironment) + " " + command;
        }

        ProjectLog.Running(logger, command, runId);
        var process = StartProcess(command, project.Directory, childEnvironment, windows);
        var execution = new ProcessExecution(process, new ProjectOutput(options, logger));
        var submitted = new SubmittedRun(execution, runId, run.Info.ExperimentId, command, _client.Runs, logger, project.Source.TemporaryDirectory);
        try
        {
            await _client.Runs.SetTagAsync(runId, "mlflow.project.backend", "local", cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            submitted.MarkSubmitted();
            await submitted.CancelAsync(CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        submitted.MarkSubmitted();

        return submitted;
    }

    /// <summary>The run: the given <see cref="ProjectRunOptions.RunId"/>, or a new one with the project tags and params.</summary>
    private async Task<Run> CreateRunAsync(MlProject project, ProjectRunOptions options, RenderedCommand rendered, CancellationToken cancellationToken)
    {
        if (options.RunId is not null)
        {
            return await _client.Runs.GetAsync(options.RunId, cancellationToken).ConfigureAwait(false);
        }

        var experimentId = await ResolveExperimentAsync(options, cancellationToken).ConfigureAwait(false);
        var run = await _client.Runs.CreateAsync(experimentId, new CreateRunOptions { RunName = options.RunName, Tags = BuildTags(project, options.EntryPoint) }, cancellationToken).ConfigureAwait(false);
        if (rendered.LoggedParameters.Count > 0)
        {
            await _client.Runs.LogBatchAsync(run.Info.RunId, parameters: rendered.LoggedParameters, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        return run;
    }

    /// <summary>
    /// A run on a <see cref="ProjectBackend"/>: <c>mlflow.project.backend</c> first (as MLflow does for its remote
    /// backends), then the backend starts the command. A failed start ends the run FAILED before the error surfaces.
    /// </summary>
    private async Task<SubmittedRun> StartOnBackendAsync(ProjectBackend backend, MlProject project, ProjectRunOptions options, string command, Run run, ILogger logger, CancellationToken cancellationToken)
    {
        var runId = run.Info.RunId;
        ProjectExecution execution;
        try
        {
            await _client.Runs.SetTagAsync(runId, "mlflow.project.backend", backend.Name, cancellationToken).ConfigureAwait(false);
            var launch = new ProjectLaunch(project, options.EntryPoint, command, run.Info, ChildTrackingUri(), options, logger, _client.Runs, new ProjectOutput(options, logger));
            ProjectLog.Running(logger, command, runId);
            execution = await backend.StartAsync(launch, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"The project backend '{backend.Name}' returned no execution from StartAsync.");
        }
        catch (Exception ex)
        {
            ProjectLog.StartFailed(logger, backend.Name, runId, ex.Message);
            await _client.Runs.SetTerminatedAsync(runId, RunStatus.Failed, cancellationToken: CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        var submitted = new SubmittedRun(execution, runId, run.Info.ExperimentId, command, _client.Runs, logger, project.Source.TemporaryDirectory);
        submitted.MarkSubmitted();
        return submitted;
    }

    private static void ValidateOptions(ProjectRunOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(options.EntryPoint, nameof(options));
        if (options.ExperimentId is not null && options.ExperimentName is not null)
        {
            throw new ArgumentException("Give ProjectRunOptions.ExperimentId or ExperimentName, not both.", nameof(options));
        }

        if (options.Version is { } version && string.IsNullOrWhiteSpace(version))
        {
            throw new ArgumentException("ProjectRunOptions.Version must not be blank; use null for the default branch.", nameof(options));
        }
    }

    private Dictionary<string, string> BuildTags(MlProject project, string entryPoint)
    {
        var source = project.Source;
        var tags = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["mlflow.user"] = UserName,
            ["mlflow.source.name"] = source.SourceName,
            ["mlflow.source.type"] = "PROJECT",
            ["mlflow.project.entryPoint"] = entryPoint,
        };
        if (source.GitCommit is not null)
        {
            tags["mlflow.source.git.commit"] = source.GitCommit;
        }

        if (source.GitRepoUrl is not null)
        {
            tags["mlflow.source.git.repoURL"] = source.GitRepoUrl;
            tags["mlflow.gitRepoURL"] = source.GitRepoUrl;
        }

        if (source.GitBranch is not null)
        {
            tags["mlflow.source.git.branch"] = source.GitBranch;
            tags["mlflow.gitBranchName"] = source.GitBranch;
        }

        return tags;
    }

    private async Task<string> ResolveExperimentAsync(ProjectRunOptions options, CancellationToken cancellationToken)
    {
        var id = options.ExperimentId;
        var name = options.ExperimentName;
        if (id is null && name is null)
        {
            id = NonEmpty(Environment.GetEnvironmentVariable("MLFLOW_EXPERIMENT_ID"));
            name = id is null ? NonEmpty(Environment.GetEnvironmentVariable("MLFLOW_EXPERIMENT_NAME")) : null;
        }

        if (id is not null)
        {
            return id;
        }

        return name is null ? "0" : (await _client.Experiments.GetOrCreateAsync(name, cancellationToken).ConfigureAwait(false)).ExperimentId;

        static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    /// <summary>The tracking URI handed to the child: absolute for local databases, since the child runs elsewhere.</summary>
    internal string ChildTrackingUri()
    {
        var uri = _client.Options.TrackingUri ?? TrackingUriInfo.DefaultLocal;
        if (!uri.StartsWith("sqlite:///", StringComparison.OrdinalIgnoreCase))
        {
            return uri;
        }

        var path = uri["sqlite:///".Length..];
        var query = path.IndexOf('?', StringComparison.Ordinal);
        var suffix = query >= 0 ? path[query..] : "";
        path = query >= 0 ? path[..query] : path;
        return path.Length == 0 || path == ":memory:" ? uri : "sqlite:///" + Path.GetFullPath(path) + suffix;
    }

    private Dictionary<string, string?> BuildChildEnvironment(ProjectRunOptions options, string runId, string experimentId, string trackingUri)
    {
        var env = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (options.EnvironmentVariables is not null)
        {
            foreach (var (key, value) in options.EnvironmentVariables)
            {
                env[key] = value;
            }
        }

        var o = _client.Options;
        if (o.Credential is null)
        {
            if (o.Username is not null && o.Password is not null)
            {
                env["MLFLOW_TRACKING_USERNAME"] = o.Username;
                env["MLFLOW_TRACKING_PASSWORD"] = o.Password;
            }

            if (o.Token is not null)
            {
                env["MLFLOW_TRACKING_TOKEN"] = o.Token;
            }
        }

        if (o.InsecureTls)
        {
            env["MLFLOW_TRACKING_INSECURE_TLS"] = "true";
        }

        if (o.Workspace is not null)
        {
            env["MLFLOW_WORKSPACE"] = o.Workspace;
        }

        env["MLFLOW_RUN_ID"] = runId;
        env["MLFLOW_TRACKING_URI"] = trackingUri;
        env["MLFLOW_EXPERIMENT_ID"] = experimentId;
        return env;
    }

    private static Process StartProcess(string command, string workingDirectory, Dictionary<string, string?> environment, bool windows)
    {
        var startInfo = new ProcessStartInfo
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        if (windows)
        {
            startInfo.FileName = "cmd.exe";
            startInfo.Arguments = "/c " + command;
        }
        else
        {
            startInfo.FileName = File.Exists("/bin/bash") ? "/bin/bash" : "bash";
            startInfo.ArgumentList.Add("-c");
            startInfo.ArgumentList.Add(command);
        }

        foreach (var (key, value) in environment)
        {
            startInfo.Environment[key] = value;
        }

        var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
            return process;
        }
        catch (Win32Exception ex)
        {
            process.Dispose();
            throw new MlflowProjectException($"Could not start the shell '{startInfo.FileName}' for the project command: {ex.Message}", ex);
        }
    }

    /// <summary>Checks the Docker engine and the docker_env settings; returns the image id when it can be read.</summary>
    private async Task<string?> PrepareDockerAsync(ProjectEnvironment environment, CancellationToken cancellationToken)
    {
        foreach (var (name, value) in environment.DockerEnvironment)
        {
            if (value is null && Environment.GetEnvironmentVariable(name) is null)
            {
                throw new MlflowProjectException($"docker_env.environment copies '{name}' from this process's environment, but it is not set. Set it, or give a value with [\"{name}\", \"value\"].");
            }
        }

        CommandResult info;
        try
        {
            info = await CommandLine.RunAsync(DockerExecutable, ["info", "--format", "{{.ServerVersion}}"], null, TimeSpan.FromSeconds(15), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is MlflowProjectException or TimeoutException)
        {
            throw new MlflowProjectException($"This project uses docker_env (image '{environment.DockerImage}'), but no Docker engine is available: {ex.Message} Install and start Docker, then try again. No run was created.", ex);
        }

        if (!info.Succeeded)
        {
            throw new MlflowProjectException($"This project uses docker_env (image '{environment.DockerImage}'), but no Docker engine is available ('docker info' failed: {FirstLine(info.StandardError)}). Start Docker, then try again. No run was created.");
        }

        var image = environment.DockerImage!;
        var inspect = await CommandLine.RunAsync(DockerExecutable, ["image", "inspect", "--format", "{{.Id}}", image], null, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        if (!inspect.Succeeded)
        {
            var pull = await CommandLine.RunAsync(DockerExecutable, ["pull", image], null, TimeSpan.FromMinutes(30), cancellationToken).ConfigureAwait(false);
            if (!pull.Succeeded)
            {
                throw new MlflowProjectException($"Could not pull the docker_env image '{image}': {FirstLine(pull.StandardError)} No run was created.");
            }

            inspect = await CommandLine.RunAsync(DockerExecutable, ["image", "inspect", "--format", "{{.Id}}", image], null, TimeSpan.FromSeconds(30), cancellationToken).ConfigureAwait(false);
        }

        return inspect.Succeeded && inspect.StandardOutput.Trim() is { Length: > 0 } id ? id : null;

        static string FirstLine(string text) => text.Trim().Split('\n')[0];
    }

    /// <summary>
    /// <c>docker run --rm [args] [tracking mount] [artifact mount] -v project -w dir [-v volumes] -e … image</c>, as MLflow
    /// builds it, with the project folder mounted as the working directory. Secrets are passed by name (<c>-e NAME</c>)
    /// so that they never appear in the command line.
    /// </summary>
    private string BuildDockerCommand(MlProject project, ProjectRunOptions options, RunInfo run, Dictionary<string, string?> childEnvironment)
    {
        static string Q(string value) => OperatingSystem.IsWindows() ? PythonText.WindowsQuote(value) : PythonText.ShellQuote(value);
        var parts = new List<string> { Q(DockerExecutable), "run", "--rm" };
        if (options.DockerArgs is not null)
        {
            foreach (var (name, value) in options.DockerArgs)
            {
                parts.Add((name.Length == 1 ? "-" : "--") + name);
                if (value is not null)
                {
                    parts.Add(Q(value));
                }
            }
        }

        var trackingUri = childEnvironment["MLFLOW_TRACKING_URI"]!;
        if (trackingUri.StartsWith("sqlite:///", StringComparison.OrdinalIgnoreCase))
        {
            parts.AddRange(["-v", Q(trackingUri["sqlite:///".Length..] + ":" + DockerTrackingDirectory)]);
            childEnvironment["MLFLOW_TRACKING_URI"] = "sqlite:///" + DockerTrackingDirectory;
        }

        if (run.ArtifactUri is { } artifactUri && LocalPath(artifactUri) is { } artifactPath)
        {
            parts.AddRange(["-v", Q(artifactPath + ":" + artifactPath)]);
        }

        parts.AddRange(["-v", Q(project.Directory + ":" + DockerProjectDirectory), "-w", DockerProjectDirectory]);
        foreach (var volume in project.Environment.DockerVolumes)
        {
            parts.AddRange(["-v", Q(volume)]);
        }

        foreach (var key in new[] { "MLFLOW_RUN_ID", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID" })
        {
            var value = childEnvironment[key]!;
            parts.AddRange(["-e", TrackingUriInfo.Redact(value) == value ? Q(key + "=" + value) : key]);
        }

        foreach (var key in childEnvironment.Keys.Where(k => k.StartsWith("MLFLOW_TRACKING_", StringComparison.Ordinal) && k != "MLFLOW_TRACKING_URI" || k == "MLFLOW_WORKSPACE").Order(StringComparer.Ordinal))
        {
            parts.AddRange(["-e", key]);
        }

        foreach (var (name, value) in project.Environment.DockerEnvironment)
        {
            parts.AddRange(["-e", value is null ? name : Q(name + "=" + value)]);
        }

        parts.Add(Q(project.Environment.DockerImage!));
        return string.Join(' ', parts);

        static string? LocalPath(string uri) =>
            uri.StartsWith("file://", StringComparison.OrdinalIgnoreCase) && Uri.TryCreate(uri, UriKind.Absolute, out var parsed) ? parsed.LocalPath
            : Path.IsPathRooted(uri) ? uri
            : null;
    }
}
