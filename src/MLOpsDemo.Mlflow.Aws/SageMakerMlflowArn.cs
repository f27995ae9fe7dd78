namespace MLOpsDemo.Mlflow.Aws;

/// <summary>The two kinds of SageMaker managed MLflow resources.</summary>
public enum SageMakerMlflowResourceKind
{
    /// <summary>A tracking server: <c>arn:aws:sagemaker:&lt;region&gt;:&lt;account&gt;:mlflow-tracking-server/&lt;name&gt;</c>.</summary>
    TrackingServer = 0,

    /// <summary>An MLflow app: <c>arn:aws:sagemaker:&lt;region&gt;:&lt;account&gt;:mlflow-app/&lt;id&gt;</c>.</summary>
    App = 1,
}

/// <summary>
/// A parsed SageMaker managed MLflow ARN and what follows from it: the https host, the routing header and the SigV4
/// service name (as the <c>sagemaker-mlflow</c> plugin 0.3.0 does).
/// </summary>
public sealed record SageMakerMlflowArn
{
    private SageMakerMlflowArn(string arn, string partition, string region, string accountId, SageMakerMlflowResourceKind kind, string resourceName)
    {
        Arn = arn;
        Partition = partition;
        Region = region;
        AccountId = accountId;
        Kind = kind;
        ResourceName = resourceName;
    }

    /// <summary>The ARN as given.</summary>
    public string Arn { get; }

    /// <summary>The partition: <c>aws</c>, <c>aws-us-gov</c> or <c>aws-cn</c>.</summary>
    public string Partition { get; }

    /// <summary>The region, for example <c>us-east-1</c>; also the SigV4 signing region.</summary>
    public string Region { get; }

    /// <summary>The 12-digit account id.</summary>
    public string AccountId { get; }

    /// <summary>Tracking server or app.</summary>
    public SageMakerMlflowResourceKind Kind { get; }

    /// <summary>The tracking server's name or the app's id.</summary>
    public string ResourceName { get; }

    /// <summary>The SigV4 service name: <c>sagemaker-mlflow</c> for a tracking server, <c>sagemaker</c> for an app.</summary>
    public string SigningService => Kind == SageMakerMlflowResourceKind.TrackingServer ? "sagemaker-mlflow" : "sagemaker";

    /// <summary>The routing header: <c>x-mlflow-sm-tracking-server-arn</c> (tracking server) or <c>x-sm-mlflow-app-arn</c> (app); its value is <see cref="Arn"/>.</summary>
    public string RoutingHeaderName => Kind == SageMakerMlflowResourceKind.TrackingServer ? "x-mlflow-sm-tracking-server-arn" : "x-sm-mlflow-app-arn";

    /// <summary>
    /// The https endpoint: <c>https://&lt;region&gt;.experiments.sagemaker.aws</c> for a tracking server,
    /// <c>https://mlflow.sagemaker.&lt;region&gt;.app.aws</c> for an app, or <paramref name="customEndpoint"/>
    /// (<c>SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT</c>) when given. The <c>aws-cn</c> partition has no published endpoint and
    /// needs <paramref name="customEndpoint"/>.
    /// </summary>
    /// <param name="customEndpoint">An https endpoint that replaces the published one.</param>
    /// <returns>The endpoint, without a trailing slash.</returns>
    /// <exception cref="ArgumentException">The custom endpoint is not an absolute https URI, or the partition needs one.</exception>
    public Uri GetEndpoint(string? customEndpoint = null)
    {
        if (!string.IsNullOrWhiteSpace(customEndpoint))
        {
            if (!Uri.TryCreate(customEndpoint.Trim(), UriKind.Absolute, out var custom) || (custom.Scheme != Uri.UriSchemeHttps && custom.Scheme != Uri.UriSchemeHttp))
            {
                throw new ArgumentException($"The SageMaker MLflow custom endpoint '{customEndpoint}' is not an absolute http(s) URI (SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT).", nameof(customEndpoint));
            }

            return custom;
        }

        if (Partition == "aws-cn")
        {
            throw new ArgumentException(
                $"SageMaker managed MLflow publishes no endpoint for the aws-cn partition (ARN region {Region}); set the endpoint explicitly (AwsMlflowOptions.CustomEndpoint or SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT).");
        }

        return Kind == SageMakerMlflowResourceKind.TrackingServer
            ? new Uri($"https://{Region}.experiments.sagemaker.aws")
            : new Uri($"https://mlflow.sagemaker.{Region}.app.aws");
    }

    /// <summary>Whether <paramref name="value"/> looks like a SageMaker ARN (starts with <c>arn:</c> and names the sagemaker service).</summary>
    /// <param name="value">A tracking URI.</param>
    /// <returns><see langword="true"/> for an ARN that should be parsed with <see cref="Parse"/>.</returns>
    public static bool IsSageMakerArn(string? value) =>
        value is not null && value.StartsWith("arn:", StringComparison.OrdinalIgnoreCase) && value.Contains(":sagemaker:", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses a SageMaker managed MLflow ARN.</summary>
    /// <param name="arn">For example <c>arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/team</c>.</param>
    /// <returns>The parsed ARN.</returns>
    /// <exception cref="ArgumentException">The ARN is malformed; the message says which part and shows the expected form.</exception>
    public static SageMakerMlflowArn Parse(string arn)
    {
        ArgumentNullException.ThrowIfNull(arn);
        return TryParse(arn, out var parsed, out var error) ? parsed : throw new ArgumentException(error, nameof(arn));
    }

    /// <summary>Parses a SageMaker managed MLflow ARN without throwing.</summary>
    /// <param name="arn">The ARN.</param>
    /// <param name="parsed">The parsed ARN, when valid.</param>
    /// <param name="error">Why the ARN is not valid, when it is not.</param>
    /// <returns>Whether the ARN is valid.</returns>
    public static bool TryParse(string? arn, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SageMakerMlflowArn? parsed, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        const string Expected = "arn:<partition>:sagemaker:<region>:<12-digit account>:mlflow-tracking-server/<name> or …:mlflow-app/<id>";
        parsed = null;
        var trimmed = arn?.Trim() ?? "";
        var parts = trimmed.Split(':', 6);
        if (parts.Length != 6 || parts[0] != "arn")
        {
            error = $"'{trimmed}' is not an ARN; expected {Expected}.";
            return false;
        }

        var (partition, service, region, account, resource) = (parts[1], parts[2], parts[3], parts[4], parts[5]);
        if (partition is not ("aws" or "aws-us-gov" or "aws-cn"))
        {
            error = $"ARN '{trimmed}' has partition '{partition}'; SageMaker managed MLflow runs in aws, aws-us-gov and aws-cn.";
            return false;
        }

        if (service != "sagemaker")
        {
            error = $"ARN '{trimmed}' names service '{service}', not sagemaker; expected {Expected}.";
            return false;
        }

        if (region.Length == 0 || !region.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
        {
            error = $"ARN '{trimmed}' has no valid region (for example us-east-1); expected {Expected}.";
            return false;
        }

        if (account.Length != 12 || !account.All(char.IsAsciiDigit))
        {
            error = $"ARN '{trimmed}' has account '{account}'; an AWS account id has 12 digits.";
            return false;
        }

        var slash = resource.IndexOf('/', StringComparison.Ordinal);
        var type = slash < 0 ? resource : resource[..slash];
        var name = slash < 0 ? "" : resource[(slash + 1)..];
        SageMakerMlflowResourceKind kind;
        switch (type)
        {
            case "mlflow-tracking-server":
                kind = SageMakerMlflowResourceKind.TrackingServer;
                break;
            case "mlflow-app":
                kind = SageMakerMlflowResourceKind.App;
                break;
            default:
                error = $"ARN '{trimmed}' has resource type '{type}'; expected mlflow-tracking-server/<name> or mlflow-app/<id>.";
                return false;
        }

        if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal) || name.Any(char.IsWhiteSpace))
        {
            error = $"ARN '{trimmed}' has no valid {(kind == SageMakerMlflowResourceKind.TrackingServer ? "tracking server name" : "app id")} after '{type}/'.";
            return false;
        }

        parsed = new SageMakerMlflowArn(trimmed, partition, region, account, kind, name);
        error = null;
        return true;
    }

    /// <summary>The ARN.</summary>
    /// <returns><see cref="Arn"/>.</returns>
    public override string ToString() => Arn;
}
