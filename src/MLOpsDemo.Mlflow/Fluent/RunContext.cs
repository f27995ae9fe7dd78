using System.Text.Json;

namespace MLOpsDemo.Mlflow.Fluent;

/// <summary>The tags MLflow's Python client puts on a run it creates (CLIENT-CONVENTIONS.md §6.2).</summary>
internal static class RunContext
{
    public const string UserTag = "mlflow.user";
    public const string SourceNameTag = "mlflow.source.name";
    public const string SourceTypeTag = "mlflow.source.type";
    public const string GitCommitTag = "mlflow.source.git.commit";
    public const string GitBranchTag = "mlflow.source.git.branch";
    public const string GitRepoUrlTag = "mlflow.source.git.repoURL";
    public const string RunNameTag = "mlflow.runName";
    public const string ParentRunIdTag = "mlflow.parentRunId";
    public const string NoteTag = "mlflow.note.content";

    /// <summary>The entry point as invoked: the program's path (the main assembly for <c>dotnet app.dll</c>), else its name.</summary>
    public static string DefaultSourceName()
    {
        var args = Environment.GetCommandLineArgs();
        if (args.Length > 0 && !string.IsNullOrEmpty(args[0]))
        {
            return args[0];
        }

        return System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name ?? "<unknown>";
    }

    /// <summary>The directory searched for a git work tree: the entry point's directory, else the application's.</summary>
    public static string DefaultSourceDirectory(string sourceName)
    {
        try
        {
            var full = Path.GetFullPath(sourceName);
            var dir = Path.GetDirectoryName(full);
            if (!string.IsNullOrEmpty(dir) && Directory.Exists(dir))
            {
                return dir;
            }
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or IOException or System.Security.SecurityException)
        {
        }

        return AppContext.BaseDirectory;
    }

    /// <summary>System tags: user, source name and type, git commit/branch/origin, then <c>MLFLOW_RUN_CONTEXT</c>.</summary>
    /// <param name="client">The client (its user name and source overrides).</param>
    /// <param name="environment">Reads environment variables.</param>
    /// <param name="includeGitBranchAndOrigin">
    /// Whether to add the git branch and origin URL, which this library puts on runs; a logged model gets only the
    /// commit, as Python's context providers give it.
    /// </param>
    /// <returns>The tags.</returns>
    public static Dictionary<string, string> SystemTags(MlflowClient client, Func<string, string?> environment, bool includeGitBranchAndOrigin = true)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [UserTag] = client.Options.Username is { Length: > 0 } user ? user : SafeUserName(),
        };

        var sourceName = client.SourceNameOverride ?? DefaultSourceName();
        tags[SourceNameTag] = sourceName;
        tags[SourceTypeTag] = "LOCAL";
        if (GitInfo.Find(client.SourceDirectoryOverride ?? DefaultSourceDirectory(sourceName)) is { } git)
        {
            if (git.Commit is not null)
            {
                tags[GitCommitTag] = git.Commit;
            }

            if (includeGitBranchAndOrigin && git.Branch is not null)
            {
                tags[GitBranchTag] = git.Branch;
            }

            if (includeGitBranchAndOrigin && git.RepoUrl is not null)
            {
                tags[GitRepoUrlTag] = git.RepoUrl;
            }
        }

        if (environment("MLFLOW_RUN_CONTEXT") is { Length: > 0 } json)
        {
            foreach (var pair in ParseRunContext(json))
            {
                tags[pair.Key] = pair.Value;
            }
        }

        return tags;
    }

    /// <summary>Reads <c>MLFLOW_RUN_CONTEXT</c>: a JSON object whose members become tags (non-string values as their JSON text).</summary>
    public static List<KeyValuePair<string, string>> ParseRunContext(string json)
    {
        var result = new List<KeyValuePair<string, string>>();
        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException($"Environment variable MLFLOW_RUN_CONTEXT must hold a JSON object of tags, such as {{\"team\": \"vision\"}}; it holds a JSON {document.RootElement.ValueKind}.");
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                var value = property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString()!,
                    JsonValueKind.Null => "None",
                    _ => property.Value.GetRawText(),
                };
                result.Add(new(property.Name, value));
            }
        }
        catch (JsonException ex)
        {
            throw new ArgumentException($"Environment variable MLFLOW_RUN_CONTEXT must hold a JSON object of tags, such as {{\"team\": \"vision\"}}: {ex.Message}", ex);
        }

        return result;
    }

    private static string SafeUserName()
    {
        try
        {
            return Environment.UserName is { Length: > 0 } name ? name : "unknown";
        }
        catch (Exception ex) when (ex is PlatformNotSupportedException or InvalidOperationException)
        {
            return "unknown";
        }
    }
}
