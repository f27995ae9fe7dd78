namespace MLOpsDemo.Mlflow.Http;

/// <summary>Whether the tracking server supports a feature, as far as the client has found out.</summary>
internal enum ServerSupport
{
    /// <summary>Not known yet: try the feature and record the answer.</summary>
    Unknown = 0,

    /// <summary>The server served the feature.</summary>
    Supported = 1,

    /// <summary>The server refused the route (404/405 <c>ENDPOINT_NOT_FOUND</c>, 501 <c>NOT_IMPLEMENTED</c>).</summary>
    Unsupported = 2,
}

/// <summary>
/// What this client's tracking server (or local store) supports, detected once per client: the first call that needs
/// a feature tries it and records the answer here, and every later branch reads it instead of trying again or
/// guessing from a version number. One instance per <see cref="MlflowClient"/>; thread-safe (each answer is one
/// volatile write, and two racing first calls record the same answer).
/// </summary>
/// <remarks>
/// The features are the ones MLflow added over time and that servers in use lack: logged models (MLflow 3),
/// proxied multipart upload (<c>mlflow-artifacts/mpu</c>, 2.9, only for cloud artifact stores), the POST form of
/// <c>registered-models/get-latest-versions</c> (older servers and some proxies only serve GET), <c>runs/log-model</c>.
/// </remarks>
internal sealed class ServerCapabilities
{
    private int _loggedModels;
    private int _multipartUpload;
    private int _latestVersionsPost;
    private int _logModelHistory;

    /// <summary>Logged models (<c>/api/2.0/mlflow/logged-models</c>): MLflow 3 servers and MLflow 3 databases.</summary>
    public ServerSupport LoggedModels
    {
        get => (ServerSupport)Volatile.Read(ref _loggedModels);
        set => Volatile.Write(ref _loggedModels, (int)value);
    }

    /// <summary>Multipart upload through the artifact proxy (<c>mlflow-artifacts/mpu/*</c>); large files go in one PUT without it.</summary>
    public ServerSupport MultipartUpload
    {
        get => (ServerSupport)Volatile.Read(ref _multipartUpload);
        set => Volatile.Write(ref _multipartUpload, (int)value);
    }

    /// <summary>The POST form of <c>registered-models/get-latest-versions</c>; the GET form is used without it.</summary>
    public ServerSupport LatestVersionsPost
    {
        get => (ServerSupport)Volatile.Read(ref _latestVersionsPost);
        set => Volatile.Write(ref _latestVersionsPost, (int)value);
    }

    /// <summary><c>runs/log-model</c> (the <c>mlflow.log-model.history</c> tag written by the server); the client writes the tag without it.</summary>
    public ServerSupport LogModelHistory
    {
        get => (ServerSupport)Volatile.Read(ref _logModelHistory);
        set => Volatile.Write(ref _logModelHistory, (int)value);
    }

    /// <summary>Whether an error says the route does not exist on this server (as opposed to a failed call).</summary>
    public static bool IsMissingRoute(MlflowException exception) =>
        exception.ErrorCode is MlflowErrorCodes.EndpointNotFound or MlflowErrorCodes.NotImplemented;

    /// <inheritdoc />
    public override string ToString() =>
        $"ServerCapabilities {{ LoggedModels = {LoggedModels}, MultipartUpload = {MultipartUpload}, LatestVersionsPost = {LatestVersionsPost}, LogModelHistory = {LogModelHistory} }}";
}
