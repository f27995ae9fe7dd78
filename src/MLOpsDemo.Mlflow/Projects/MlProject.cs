namespace MLOpsDemo.Mlflow.Projects;

/// <summary>
/// An MLflow project: the folder it lives in and what its <c>MLproject</c> file declares (name, entry points,
/// environment). Obtain one with <see cref="ProjectsClient.LoadAsync"/>. A folder without an <c>MLproject</c> file is a
/// project too: it has no name and no declared entry points, and <c>.py</c>/<c>.sh</c>/<c>.R</c> files can be run directly.
/// </summary>
public sealed record MlProject
{
    /// <summary>The absolute path of the project folder (the command's working directory).</summary>
    public required string Directory { get; init; }

    /// <summary>The <c>name</c> of the MLproject file, or <see langword="null"/>.</summary>
    public string? Name { get; init; }

    /// <summary>The path of the MLproject file, or <see langword="null"/> when the folder has none.</summary>
    public string? ProjectFile { get; init; }

    /// <summary>The declared entry points by name, in file order.</summary>
    public IReadOnlyDictionary<string, ProjectEntryPoint> EntryPoints { get; init; } = new Dictionary<string, ProjectEntryPoint>();

    /// <summary>The environment the project asks for (decided as MLflow does; see <see cref="ProjectEnvironment"/>).</summary>
    public ProjectEnvironment Environment { get; init; } = new() { Type = ProjectEnvironmentType.Python };

    /// <summary>
    /// Where the project came from: the <c>mlflow.source.*</c> tags and, for git URIs, the temporary clone.
    /// </summary>
    public ProjectSource Source { get; init; } = new();

    /// <summary>
    /// Returns the entry point <paramref name="name"/>: a declared one, or a script run directly when the name ends in
    /// <c>.py</c> (<c>python file</c>), <c>.sh</c> (<c>$SHELL file</c>, default <c>bash</c>) or <c>.R</c>.
    /// </summary>
    /// <param name="name">The entry-point name, e.g. <c>main</c> or <c>train.py</c>.</param>
    /// <returns>The entry point.</returns>
    /// <exception cref="ArgumentException">No such entry point and the name is not a runnable script.</exception>
    public ProjectEntryPoint GetEntryPoint(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return EntryPoints.TryGetValue(name, out var entryPoint) ? entryPoint : ProjectCommand.ScriptEntryPoint(this, name);
    }

    /// <summary>
    /// Renders the command of an entry point exactly as <c>mlflow run</c> does: declared parameters (given value or
    /// default) shell-quoted into the <c>{placeholders}</c>, <c>path</c> parameters made absolute (relative to the
    /// current directory), undeclared parameters appended as <c>--key value</c>. Nothing is run.
    /// </summary>
    /// <param name="entryPoint">The entry-point name (default <c>main</c>).</param>
    /// <param name="parameters">The parameter values, in the order extra parameters should be appended.</param>
    /// <returns>The command line.</returns>
    /// <exception cref="ArgumentException">A required parameter is missing, a number does not parse, a path does not
    /// exist, a <c>uri</c> has no scheme or the command uses an undeclared placeholder.</exception>
    public string RenderCommand(string entryPoint = "main", IReadOnlyDictionary<string, string>? parameters = null) =>
        ProjectCommand.Render(GetEntryPoint(entryPoint), parameters ?? new Dictionary<string, string>(), System.Environment.CurrentDirectory, OperatingSystem.IsWindows()).Command;
}

/// <summary>An entry point of an MLproject file.</summary>
public sealed record ProjectEntryPoint
{
    /// <summary>The entry-point name.</summary>
    public required string Name { get; init; }

    /// <summary>The declared parameters, in file order.</summary>
    public IReadOnlyList<ProjectParameter> Parameters { get; init; } = [];

    /// <summary>The command template with <c>{name}</c> placeholders (<c>{{</c> and <c>}}</c> are literal braces), or <see langword="null"/> when the file has none.</summary>
    public string? Command { get; init; }

    /// <summary>Whether this is a script run directly (<c>train.py</c>) rather than a declared entry point.</summary>
    public bool IsScript { get; init; }
}

/// <summary>A declared parameter of an entry point.</summary>
public sealed record ProjectParameter
{
    /// <summary>The parameter name.</summary>
    public required string Name { get; init; }

    /// <summary>
    /// The type: <c>string</c> (default), <c>float</c>, <c>int</c>, <c>path</c>, <c>uri</c> or any other word (advisory).
    /// This client checks that <c>float</c> and <c>int</c> values parse; MLflow does not convert them.
    /// </summary>
    public string Type { get; init; } = "string";

    /// <summary>
    /// The default as MLflow renders it (YAML 1.1 typing then Python <c>str()</c>: <c>0.10</c> → <c>0.1</c>,
    /// <c>true</c> → <c>True</c>, <c>010</c> → <c>8</c>, <c>1e-3</c> stays <c>1e-3</c>), or <see langword="null"/>
    /// when the parameter is required.
    /// </summary>
    public string? Default { get; init; }

    /// <summary>Whether a value must be given (no default, or a YAML null default).</summary>
    public bool IsRequired => Default is null;
}

/// <summary>The kinds of project environment.</summary>
public enum ProjectEnvironmentType
{
    /// <summary><c>python_env</c> (a python_env.yaml file, or none at all).</summary>
    Python,

    /// <summary><c>conda_env</c> (a conda YAML file).</summary>
    Conda,

    /// <summary><c>docker_env</c> (a Docker image).</summary>
    Docker,
}

/// <summary>
/// The environment of a project, picked in MLflow's order: <c>docker_env</c>, <c>python_env</c>, <c>conda_env</c>,
/// then a <c>python_env.yaml</c> or <c>conda.yaml</c> file in the folder, else Python without a file.
/// </summary>
public sealed record ProjectEnvironment
{
    /// <summary>The environment type.</summary>
    public required ProjectEnvironmentType Type { get; init; }

    /// <summary>The absolute path of the python_env or conda file, or <see langword="null"/>.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>The Docker image (<c>docker_env.image</c>), or <see langword="null"/>.</summary>
    public string? DockerImage { get; init; }

    /// <summary>Volumes (<c>host:container</c>) of <c>docker_env.volumes</c>.</summary>
    public IReadOnlyList<string> DockerVolumes { get; init; } = [];

    /// <summary>
    /// <c>docker_env.environment</c>: a pair with a <see langword="null"/> value copies the variable from this process
    /// (it must be set); otherwise the value is used.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string?>> DockerEnvironment { get; init; } = [];
}

/// <summary>Where a project came from, as recorded in the <c>mlflow.source.*</c> tags.</summary>
public sealed record ProjectSource
{
    /// <summary>The URI the project was loaded from, as given.</summary>
    public string Uri { get; init; } = "";

    /// <summary>The value of <c>mlflow.source.name</c>.</summary>
    public string SourceName { get; init; } = "";

    /// <summary>The HEAD commit of the project's git repository (<c>mlflow.source.git.commit</c>), or <see langword="null"/>.</summary>
    public string? GitCommit { get; init; }

    /// <summary>The URL of the repository's first remote (<c>mlflow.source.git.repoURL</c>), or <see langword="null"/>.</summary>
    public string? GitRepoUrl { get; init; }

    /// <summary>The requested version when it is a branch (<c>mlflow.source.git.branch</c>), or <see langword="null"/>.</summary>
    public string? GitBranch { get; init; }

    /// <summary>
    /// The temporary folder a git URI was cloned into, or <see langword="null"/> for local projects. Runs started from a
    /// URI delete it when they end; after <see cref="ProjectsClient.LoadAsync"/> the caller may delete it.
    /// </summary>
    public string? TemporaryDirectory { get; init; }
}
