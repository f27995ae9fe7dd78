using System.Globalization;

namespace MLOpsDemo.Mlflow.Registry;

/// <summary>A parsed <c>models:/</c> or <c>runs:/</c> URI (MODELS.md §8).</summary>
internal sealed record ModelUri(ModelUriKind Kind, string? Name, string? Version, string? Alias, string? Stage, string? ModelId, string? RunId, string? SubPath)
{
    public static ModelUri Parse(string uri, string paramName)
    {
        if (string.IsNullOrWhiteSpace(uri))
        {
            throw new ArgumentException("The model URI must not be empty; use models:/<name>/<version>, models:/<name>@<alias>, models:/<name>/<stage>, models:/<model_id> or runs:/<run_id>/<path>.", paramName);
        }

        if (uri.StartsWith("runs:/", StringComparison.Ordinal))
        {
            var rest = uri["runs:/".Length..].TrimStart('/');
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            var runId = slash < 0 ? rest : rest[..slash];
            var path = slash < 0 ? null : rest[(slash + 1)..].Trim('/');
            Internal.MlflowValidation.ValidateRunId(runId, paramName);
            CheckPath(path, uri, paramName);
            return new ModelUri(ModelUriKind.Run, null, null, null, null, null, runId, string.IsNullOrEmpty(path) ? null : path);
        }

        if (!uri.StartsWith("models:/", StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{uri}' is not a model URI: it must start with models:/ or runs:/.", paramName);
        }

        var body = uri["models:/".Length..];
        if (body.StartsWith('/'))
        {
            throw new ArgumentException($"'{uri}' is not a model URI: the models:/ scheme takes no host (use models:/<name>/<version>).", paramName);
        }

        var segments = body.Split('/');
        var first = segments[0];
        if (first.Length == 0)
        {
            throw new ArgumentException($"'{uri}' names no model.", paramName);
        }

        var at = first.LastIndexOf('@');
        if (at >= 0)
        {
            var name = first[..at];
            var alias = first[(at + 1)..];
            if (name.Length == 0 || alias.Length == 0)
            {
                throw new ArgumentException($"'{uri}' is not a valid alias URI; use models:/<name>@<alias>.", paramName);
            }

            return new ModelUri(ModelUriKind.Alias, name, null, alias, null, null, null, JoinRest(segments, 1, uri, paramName));
        }

        if (segments.Length == 1 || (segments.Length == 2 && segments[1].Length == 0))
        {
            return new ModelUri(ModelUriKind.LoggedModel, null, null, null, null, first, null, null);
        }

        var second = segments[1];
        var sub = JoinRest(segments, 2, uri, paramName);
        if (second.Length > 0 && second.All(char.IsAsciiDigit))
        {
            return new ModelUri(ModelUriKind.Version, first, long.Parse(second, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture), null, null, null, null, sub);
        }

        if (string.Equals(second, "latest", StringComparison.OrdinalIgnoreCase))
        {
            return new ModelUri(ModelUriKind.Latest, first, null, null, null, null, null, sub);
        }

        if (!RegistryValidation.TryCanonicalStage(second, out var stage))
        {
            throw new ArgumentException($"'{uri}': '{second}' is neither a version number, 'latest', nor a stage (None, Staging, Production, Archived).", paramName);
        }

        return new ModelUri(ModelUriKind.Stage, first, null, null, stage, null, null, sub);
    }

    private static string? JoinRest(string[] segments, int from, string uri, string paramName)
    {
        if (segments.Length <= from)
        {
            return null;
        }

        var path = string.Join('/', segments[from..]).Trim('/');
        CheckPath(path, uri, paramName);
        return path.Length == 0 ? null : path;
    }

    private static void CheckPath(string? path, string uri, string paramName)
    {
        if (path is not null && path.Split('/').Any(s => s == ".."))
        {
            throw new ArgumentException($"'{uri}' contains a '..' segment; give a path inside the model.", paramName);
        }
    }

    public static string Append(string artifactUri, string? subPath) =>
        string.IsNullOrEmpty(subPath) ? artifactUri : artifactUri.TrimEnd('/') + "/" + subPath;
}
