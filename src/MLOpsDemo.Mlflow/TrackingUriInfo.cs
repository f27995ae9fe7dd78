using System.Diagnostics.CodeAnalysis;

namespace MLOpsDemo.Mlflow;

/// <summary>The kinds of tracking URI this library understands.</summary>
internal enum TrackingUriKind
{
    /// <summary><c>http://</c> or <c>https://</c>: an MLflow server over REST.</summary>
    Http,

    /// <summary><c>sqlite:///relative.db</c> or <c>sqlite:////absolute.db</c>: a local MLflow database.</summary>
    Sqlite,

    /// <summary>Any other scheme (databricks, azureml, arn:, file:…): served by an optional package or refused with a clear message.</summary>
    Other,
}

/// <summary>Parses and redacts tracking URIs.</summary>
internal static class TrackingUriInfo
{
    /// <summary>The URI MLflow 3 uses when nothing is configured.</summary>
    public const string DefaultLocal = "sqlite:///mlflow.db";

    public static bool TryParse(string uri, out TrackingUriKind kind, [NotNullWhen(false)] out string? error)
    {
        error = null;
        kind = TrackingUriKind.Other;
        if (uri.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || uri.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || string.IsNullOrEmpty(parsed.Host))
            {
                error = $"'{Redact(uri)}' is not a valid http(s) URI. Use a form such as http://localhost:5000.";
                return false;
            }

            kind = TrackingUriKind.Http;
            return true;
        }

        if (uri.StartsWith("sqlite://", StringComparison.OrdinalIgnoreCase))
        {
            if (!uri.StartsWith("sqlite:///", StringComparison.OrdinalIgnoreCase) || uri.Length <= "sqlite:///".Length)
            {
                error = $"'{uri}' is not a valid SQLite URI. Use sqlite:///relative/path.db or sqlite:////absolute/path.db.";
                return false;
            }

            kind = TrackingUriKind.Sqlite;
            return true;
        }

        return true;
    }

    /// <summary>Returns the URI with any user information replaced by <c>***</c>.</summary>
    public static string Redact(string? uri)
    {
        if (string.IsNullOrEmpty(uri))
        {
            return "(default)";
        }

        var schemeEnd = uri.IndexOf("://", StringComparison.Ordinal);
        var at = uri.IndexOf('@', StringComparison.Ordinal);
        if (schemeEnd < 0 || at < 0)
        {
            return uri;
        }

        var slash = uri.IndexOf('/', schemeEnd + 3);
        if (slash >= 0 && at > slash)
        {
            return uri;
        }

        return string.Concat(uri.AsSpan(0, schemeEnd + 3), "***", uri.AsSpan(at));
    }
}
