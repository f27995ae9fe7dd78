using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using MLOpsDemo.Mlflow.Projects;

namespace MLOpsDemo.Mlflow.Kubernetes;

/// <summary>
/// MLflow's <c>_get_kubernetes_job_definition</c> and <c>_get_run_command</c> (mlflow/projects/kubernetes.py): the Job
/// from the user's template with the name, image, command and run environment filled in.
/// </summary>
internal static partial class KubernetesJobRenderer
{
    /// <summary>Loads and checks a Job template (YAML, as <c>kubectl</c> reads it).</summary>
    public static async Task<V1Job> LoadTemplateAsync(string path, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new MlflowProjectException($"Could not read the Kubernetes job template '{path}': {ex.Message}", ex);
        }

        V1Job job;
        try
        {
            job = KubernetesYaml.Deserialize<V1Job>(text);
        }
#pragma warning disable CA1031 // Any YAML or model error is reported the same way.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            throw new MlflowProjectException($"The Kubernetes job template '{path}' is not a valid Job manifest: {ex.Message}", ex);
        }

        if (job is null || !string.Equals(job.Kind, "Job", StringComparison.Ordinal))
        {
            throw new MlflowProjectException($"The Kubernetes job template '{path}' must be a manifest with 'kind: Job' (apiVersion batch/v1); it has kind '{job?.Kind}'.");
        }

        if (string.IsNullOrEmpty(job.Metadata?.NamespaceProperty))
        {
            throw new MlflowProjectException($"The Kubernetes job template '{path}' has no metadata.namespace. Set the namespace the Job is created in (e.g. 'namespace: mlflow').");
        }

        if (job.Spec?.Template?.Spec?.Containers is not { Count: > 0 })
        {
            throw new MlflowProjectException($"The Kubernetes job template '{path}' has no spec.template.spec.containers. Its first container runs the project.");
        }

        return job;
    }

    /// <summary>
    /// Fills in the template as MLflow does: <c>metadata.name</c> = <c>&lt;project&gt;-&lt;%Y-%m-%d-%H-%M-%S-%f&gt;</c>;
    /// container 0 gets <c>name</c> = project, <c>image</c>, <c>command</c>; the run environment is appended to
    /// container 0's <c>env</c> (MLflow) and, beyond MLflow, to every other container's, so that sidecars can log too.
    /// </summary>
    public static V1Job Render(V1Job template, string projectName, string image, IList<string> command, IReadOnlyDictionary<string, string> environment, DateTimeOffset localNow)
    {
        // Work on a copy: the template may be rendered again.
        var job = KubernetesJson.Deserialize<V1Job>(KubernetesJson.Serialize(template));
        job.Metadata.Name = JobName(projectName, localNow);
        var containers = job.Spec.Template.Spec.Containers;
        var main = containers[0];
        main.Name = projectName;
        main.Image = image;
        main.Command = command;
        foreach (var container in containers)
        {
            container.Env ??= [];
            foreach (var (name, value) in environment)
            {
                container.Env.Add(new V1EnvVar { Name = name, Value = value });
            }
        }

        return job;
    }

    /// <summary>MLflow's job name: <c>f"{project_name}-{datetime.now().strftime('%Y-%m-%d-%H-%M-%S-%f')}"</c>.</summary>
    public static string JobName(string projectName, DateTimeOffset localNow) =>
        projectName + "-" + localNow.ToString("yyyy-MM-dd-HH-mm-ss-ffffff", CultureInfo.InvariantCulture);

    /// <summary>
    /// MLflow's <c>_get_run_command</c>: the command line split with <c>shlex.split</c>, then each word quoted again
    /// with <c>shlex.quote</c>. So a parameter <c>'a b'</c> reaches the container as the single argument <c>'a b'</c>,
    /// quotes included, exactly as with MLflow (the command runs without a shell).
    /// </summary>
    public static List<string> RunCommand(string command) => [.. ShellSplit(command).Select(ShellQuote)];

    /// <summary>Python's <c>shlex.quote</c>.</summary>
    public static string ShellQuote(string value) =>
        value.Length == 0 ? "''"
        : UnsafeCharacter().IsMatch(value) ? "'" + value.Replace("'", "'\"'\"'", StringComparison.Ordinal) + "'"
        : value;

    /// <summary>Python's <c>shlex.split</c> (POSIX mode, comments off).</summary>
    public static List<string> ShellSplit(string command)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < command.Length; i++)
        {
            var c = command[i];
            if (c == '\'')
            {
                inWord = true;
                var end = command.IndexOf('\'', i + 1);
                if (end < 0)
                {
                    throw new ArgumentException($"The command has an unclosed single quote: {command}");
                }

                word.Append(command, i + 1, end - i - 1);
                i = end;
            }
            else if (c == '"')
            {
                inWord = true;
                i++;
                for (; i < command.Length && command[i] != '"'; i++)
                {
                    if (command[i] == '\\' && i + 1 < command.Length && command[i + 1] is '\\' or '"' or '$' or '`' or '\n')
                    {
                        i++;
                    }

                    word.Append(command[i]);
                }

                if (i >= command.Length)
                {
                    throw new ArgumentException($"The command has an unclosed double quote: {command}");
                }
            }
            else if (c == '\\')
            {
                inWord = true;
                if (i + 1 >= command.Length)
                {
                    throw new ArgumentException($"The command ends with an escape character: {command}");
                }

                word.Append(command[++i]);
            }
            else if (c is ' ' or '\t' or '\n' or '\r')
            {
                if (inWord)
                {
                    words.Add(word.ToString());
                    word.Clear();
                    inWord = false;
                }
            }
            else
            {
                inWord = true;
                word.Append(c);
            }
        }

        if (inWord)
        {
            words.Add(word.ToString());
        }

        return words;
    }

    // shlex compiles [^\w@%+=:,./-] with re.ASCII.
    [GeneratedRegex("[^A-Za-z0-9_@%+=:,./-]", RegexOptions.CultureInvariant)]
    private static partial Regex UnsafeCharacter();
}
