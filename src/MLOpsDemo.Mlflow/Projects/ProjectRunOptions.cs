using Microsoft.Extensions.Logging;

namespace MLOpsDemo.Mlflow.Projects;

/// <summary>How <see cref="ProjectsClient.RunAsync"/> and <see cref="ProjectsClient.SubmitAsync"/> run a project (the options of <c>mlflow run</c>).</summary>
public sealed record ProjectRunOptions
{
    /// <summary>The entry point (<c>-e</c>): a declared name or a script such as <c>train.py</c>. Default <c>main</c>.</summary>
    public string EntryPoint { get; init; } = "main";

    /// <summary>The git version (<c>-v</c>): a branch, tag or commit, or <see langword="null"/> for the default branch.</summary>
    public string? Version { get; init; }

    /// <summary>
    /// Parameter values (<c>-P name=value</c>). Undeclared ones are appended to the command as <c>--name value</c> in
    /// this dictionary's enumeration order (insertion order for <see cref="Dictionary{TKey, TValue}"/>).
    /// </summary>
    public IReadOnlyDictionary<string, string>? Parameters { get; init; }

    /// <summary>The experiment id. Give this or <see cref="ExperimentName"/>, not both; with neither, <c>MLFLOW_EXPERIMENT_ID</c>, <c>MLFLOW_EXPERIMENT_NAME</c>, else <c>0</c>.</summary>
    public string? ExperimentId { get; init; }

    /// <summary>The experiment name; created when it does not exist.</summary>
    public string? ExperimentName { get; init; }

    /// <summary>An existing run to use instead of creating one (no tags or params are logged into it, as <c>mlflow run --run-id</c>).</summary>
    public string? RunId { get; init; }

    /// <summary>The run name (<c>mlflow.runName</c>); <see langword="null"/> lets the store generate one.</summary>
    public string? RunName { get; init; }

    /// <summary>
    /// Where the command runs (<c>--backend</c>/<c>--backend-config</c>): <see langword="null"/> (default) runs it as a
    /// local process (<c>local</c>); a <see cref="ProjectBackend"/> such as MLOpsDemo.Mlflow.Kubernetes'
    /// <c>KubernetesProjectBackend</c> runs it elsewhere, tracked the same way.
    /// </summary>
    public ProjectBackend? Backend { get; init; }

    /// <summary>Docker arguments (<c>-A name=value</c>) for <c>docker_env</c> projects; a <see langword="null"/> value is a flag (<c>-A t</c> → <c>-t</c>).</summary>
    public IReadOnlyDictionary<string, string?>? DockerArgs { get; init; }

    /// <summary>
    /// Whether a project that asks for a <c>python_env</c> or <c>conda_env</c> environment fails before anything runs.
    /// Default <see langword="false"/>: it runs in the current environment (env manager <c>local</c>) and a warning is logged.
    /// </summary>
    public bool FailOnUnsupportedEnvironment { get; init; }

    /// <summary>Extra environment variables for the command (the <c>MLFLOW_*</c> run variables always win).</summary>
    public IReadOnlyDictionary<string, string>? EnvironmentVariables { get; init; }

    /// <summary>Whether the command's stdout and stderr are copied to this process's console. Default <see langword="true"/>.</summary>
    public bool WriteOutputToConsole { get; init; } = true;

    /// <summary>Receives each output line of the command (called on a background thread, one line at a time).</summary>
    public Action<ProjectOutputLine>? OutputReceived { get; init; }

    /// <summary>Receives progress messages, warnings and the command's output lines (stdout as Information, stderr as Warning).</summary>
    public ILogger? Logger { get; init; }

    /// <summary>
    /// Parses <c>-P</c> style <c>name=value</c> items (split at the first <c>=</c>) into <see cref="Parameters"/>.
    /// </summary>
    /// <param name="items">Items such as <c>alpha=0.5</c>.</param>
    /// <returns>The parameters, in the given order.</returns>
    /// <exception cref="ArgumentException">An item has no <c>=</c> or a name is repeated.</exception>
    public static IReadOnlyDictionary<string, string> ParseParameters(IEnumerable<string> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            var eq = item?.IndexOf('=', StringComparison.Ordinal) ?? -1;
            if (item is null || eq <= 0)
            {
                throw new ArgumentException($"Invalid parameter '{item}': use name=value, e.g. -P alpha=0.5.", nameof(items));
            }

            if (!result.TryAdd(item[..eq], item[(eq + 1)..]))
            {
                throw new ArgumentException($"Repeated parameter: '{item[..eq]}'. Give each -P name once.", nameof(items));
            }
        }

        return result;
    }
}

/// <summary>One line written by a project's command.</summary>
/// <param name="Text">The line, without its line break.</param>
/// <param name="IsError">Whether it came from stderr.</param>
public sealed record ProjectOutputLine(string Text, bool IsError);

/// <summary>The outcome of a project run.</summary>
public sealed record ProjectRunResult
{
    /// <summary>The run id.</summary>
    public required string RunId { get; init; }

    /// <summary>The experiment id.</summary>
    public required string ExperimentId { get; init; }

    /// <summary><see cref="RunStatus.Finished"/> (exit code 0, Job complete), <see cref="RunStatus.Failed"/> or <see cref="RunStatus.Killed"/> (cancelled).</summary>
    public required RunStatus Status { get; init; }

    /// <summary>The command's exit code, or <see langword="null"/> when it was killed or the backend does not know it.</summary>
    public int? ExitCode { get; init; }

    /// <summary>
    /// Why the command failed when the backend knows more than an exit code (e.g. a Kubernetes pod stuck in
    /// <c>ImagePullBackOff</c> or unschedulable), else <see langword="null"/>.
    /// </summary>
    public string? FailureReason { get; init; }

    /// <summary>The command line that was run.</summary>
    public required string Command { get; init; }

    /// <summary>Whether the run finished successfully.</summary>
    public bool Succeeded => Status == RunStatus.Finished;
}
