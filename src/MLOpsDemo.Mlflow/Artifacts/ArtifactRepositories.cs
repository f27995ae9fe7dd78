using System.Text.RegularExpressions;

namespace MLOpsDemo.Mlflow.Artifacts;

/// <summary>Chooses the repository for an artifact URI (CLIENT-CONVENTIONS.md §9).</summary>
internal static partial class ArtifactRepositories
{
    private const string ProxyMarker = "/mlflow-artifacts/artifacts";

    public static IArtifactRepository Open(ArtifactsClient owner, string artifactUri)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(artifactUri);
        RejectDotSegments(artifactUri);
        var match = SchemeRegex().Match(artifactUri);
        if (!match.Success || match.Groups[1].Length == 1)
        {
            // No scheme, or a Windows drive letter: a local path (relative ones resolve against the current directory).
            return new LocalArtifactRepository(artifactUri);
        }

        var scheme = match.Groups[1].Value.ToLowerInvariant();
        return scheme switch
        {
            "file" => new LocalArtifactRepository(FileUriToPath(artifactUri)),
            "mlflow-artifacts" => OpenProxied(owner, artifactUri),
            "http" or "https" => OpenHttp(owner, artifactUri),
            "runs" or "models" => throw new NotSupportedException(
                $"'{Redact(artifactUri)}' is a logical URI; resolve it first (for runs:/ use the run-id overloads such as DownloadAsync(runId, path, destinationDirectory), for models:/ use Models.DownloadModelAsync)."),
            _ => throw new NotSupportedException(
                $"The artifact URI '{Redact(artifactUri)}' uses the '{scheme}:' scheme, which this client does not access directly. It reads and writes artifacts only through the MLflow tracking server's artifact proxy (mlflow-artifacts:/…) and in local directories (file://…). Start the tracking server with --serve-artifacts (the default since MLflow 2.0) and --artifacts-destination {scheme}://…, so that new experiments and runs get mlflow-artifacts:/ URIs and the server moves the bytes."),
        };
    }

    private static HttpArtifactRepository OpenProxied(ArtifactsClient owner, string artifactUri)
    {
        var (http, trackingBase) = RequireTrackingServer(owner, artifactUri);
        var rest = artifactUri["mlflow-artifacts:".Length..];
        string path;
        if (rest.StartsWith("//", StringComparison.Ordinal))
        {
            var end = rest.IndexOf('/', 2);
            var authority = end < 0 ? rest[2..] : rest[2..end];
            path = end < 0 ? "" : rest[end..];
            if (authority.Length > 0)
            {
                var candidate = new Uri($"{trackingBase.Scheme}://{authority}/");
                RequireSameServer(candidate, trackingBase, artifactUri);
            }
        }
        else
        {
            path = rest;
        }

        var apiBase = trackingBase.AbsoluteUri + "api/2.0/mlflow-artifacts/";
        return new HttpArtifactRepository(owner, http, apiBase, RootFromEscapedPath(path, artifactUri));
    }

    private static HttpArtifactRepository OpenHttp(ArtifactsClient owner, string artifactUri)
    {
        var (http, trackingBase) = RequireTrackingServer(owner, artifactUri);
        var uri = new Uri(artifactUri);
        RequireSameServer(uri, trackingBase, artifactUri);
        var rawPath = uri.AbsolutePath;
        var index = rawPath.IndexOf(ProxyMarker, StringComparison.Ordinal);
        if (index < 0 || (rawPath.Length > index + ProxyMarker.Length && rawPath[index + ProxyMarker.Length] != '/'))
        {
            throw new NotSupportedException(
                $"The artifact URI '{Redact(artifactUri)}' is an http(s) URL but not one of the tracking server's artifact proxy (…/api/2.0/mlflow-artifacts/artifacts/…). Use the run's mlflow-artifacts:/ URI, or start the server with --serve-artifacts.");
        }

        var apiBase = $"{uri.Scheme}://{uri.Authority}{rawPath[..index]}/mlflow-artifacts/";
        return new HttpArtifactRepository(owner, http, apiBase, RootFromEscapedPath(rawPath[(index + ProxyMarker.Length)..], artifactUri));
    }

    private static (HttpClient Http, Uri TrackingBase) RequireTrackingServer(ArtifactsClient owner, string artifactUri)
    {
        if (owner.Client.HttpClient is not { } http || owner.Client.TrackingBaseUri is not { } trackingBase)
        {
            // A store limitation (a local store has no artifact proxy): 501, as the rule in MlflowException says.
            throw MlflowException.NotImplemented(
                $"The artifact URI '{Redact(artifactUri)}' is served by an MLflow tracking server's artifact proxy, but this client's tracking URI ('{owner.Client.TrackingUri}') is a local store. Create the client with the server's http(s):// tracking URI.");
        }

        return (http, trackingBase);
    }

    /// <summary>
    /// Credentials of this client go to the tracking server only: an artifact URL on another scheme, host or port is
    /// refused rather than sent with (or silently without) them.
    /// </summary>
    private static void RequireSameServer(Uri candidate, Uri trackingBase, string artifactUri)
    {
        if (!string.Equals(candidate.Scheme, trackingBase.Scheme, StringComparison.OrdinalIgnoreCase)
            || !string.Equals(candidate.IdnHost, trackingBase.IdnHost, StringComparison.OrdinalIgnoreCase)
            || candidate.Port != trackingBase.Port)
        {
            throw new NotSupportedException(
                $"The artifact URI '{Redact(artifactUri)}' points at {candidate.Scheme}://{candidate.Authority}, not at this client's tracking server {trackingBase.Scheme}://{trackingBase.Authority}. This client sends its credentials only to its tracking server, so it refuses other hosts; use a client whose tracking URI is that server.");
        }
    }

    /// <summary>Turns an escaped URI path into the validated, unescaped artifact root ("a/b", no leading or trailing '/').</summary>
    private static string RootFromEscapedPath(string escapedPath, string artifactUri)
    {
        var cut = escapedPath.IndexOfAny(['?', '#']);
        if (cut >= 0)
        {
            escapedPath = escapedPath[..cut];
        }

        var segments = escapedPath.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        var root = string.Join('/', segments);
        if (root.Length > 0 && ArtifactPaths.FindProblem(root) is { } problem)
        {
            throw new ArgumentException($"The artifact URI '{Redact(artifactUri)}' is not allowed: {problem}.", nameof(artifactUri));
        }

        return root;
    }

    /// <summary><see cref="Uri"/> would collapse "a/../b" silently; refuse it before anything parses the URI.</summary>
    private static void RejectDotSegments(string artifactUri)
    {
        var end = artifactUri.IndexOfAny(['?', '#']);
        var path = end < 0 ? artifactUri : artifactUri[..end];
        foreach (var segment in path.Split('/', '\\'))
        {
            if (segment is ".." || segment.Equals("%2e%2e", StringComparison.OrdinalIgnoreCase) || segment.Equals(".%2e", StringComparison.OrdinalIgnoreCase) || segment.Equals("%2e.", StringComparison.OrdinalIgnoreCase))
            {
                throw new ArgumentException($"The artifact URI '{Redact(artifactUri)}' contains a '..' segment; artifact URIs must not climb out of their root.", nameof(artifactUri));
            }
        }
    }

    private static string FileUriToPath(string artifactUri)
    {
        if (!Uri.TryCreate(artifactUri, UriKind.Absolute, out var uri) || !uri.IsFile)
        {
            throw new ArgumentException($"The artifact URI '{Redact(artifactUri)}' is not a valid file:// URI; use file:///absolute/path.", nameof(artifactUri));
        }

        return uri.LocalPath;
    }

    /// <summary>Drops user info, query and fragment (they may hold secrets).</summary>
    internal static string Redact(string uri)
    {
        var result = uri;
        var cut = result.IndexOfAny(['?', '#']);
        if (cut >= 0)
        {
            result = result[..cut];
        }

        var schemeEnd = result.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd >= 0)
        {
            var authorityStart = schemeEnd + 3;
            var authorityEnd = result.IndexOf('/', authorityStart);
            var authority = authorityEnd < 0 ? result[authorityStart..] : result[authorityStart..authorityEnd];
            var at = authority.LastIndexOf('@');
            if (at >= 0)
            {
                result = result[..authorityStart] + "***@" + result[(authorityStart + at + 1)..];
            }
        }

        return result;
    }

    [GeneratedRegex("^([A-Za-z][A-Za-z0-9+.-]*):")]
    private static partial Regex SchemeRegex();
}
