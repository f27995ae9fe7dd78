using System.Net;

namespace MLOpsDemo.Mlflow;

/// <summary>
/// The error raised for every failed MLflow operation: the HTTP status (or the equivalent for the local store),
/// MLflow's <c>error_code</c> such as <c>RESOURCE_DOES_NOT_EXIST</c>, the server's message and the raw body.
/// </summary>
public class MlflowException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    public MlflowException()
        : this("An MLflow operation failed.")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">The message.</param>
    public MlflowException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public MlflowException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception that describes a failed request.</summary>
    /// <param name="statusCode">The HTTP status (400 for invalid input, 404 for missing resources…).</param>
    /// <param name="errorCode">MLflow's <c>error_code</c>, e.g. <c>RESOURCE_DOES_NOT_EXIST</c>.</param>
    /// <param name="serverMessage">The message the server gave, if any.</param>
    /// <param name="responseBody">The raw response body, if any.</param>
    /// <param name="innerException">The cause, if any.</param>
    public MlflowException(HttpStatusCode statusCode, string? errorCode, string? serverMessage, string? responseBody = null, Exception? innerException = null)
        : base(BuildMessage(statusCode, errorCode, serverMessage), innerException)
    {
        StatusCode = statusCode;
        ErrorCode = errorCode;
        ServerMessage = serverMessage;
        ResponseBody = responseBody;
    }

    /// <summary>Creates an exception with its own message that reports the status and error code of a failed request.</summary>
    /// <param name="message">The message.</param>
    /// <param name="statusCode">The HTTP status of the underlying failure.</param>
    /// <param name="errorCode">MLflow's <c>error_code</c> of the underlying failure.</param>
    /// <param name="innerException">The cause, if any.</param>
    internal MlflowException(string message, HttpStatusCode statusCode, string? errorCode, Exception? innerException)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        ErrorCode = errorCode;
    }

    /// <summary>The HTTP status of the failed request (the equivalent status for the local store).</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>MLflow's <c>error_code</c> (see <see cref="MlflowErrorCodes"/>), or <see langword="null"/> when the body had none.</summary>
    public string? ErrorCode { get; }

    /// <summary>The server's message, or the start of a non-JSON body.</summary>
    public string? ServerMessage { get; }

    /// <summary>The raw response body, if one was received.</summary>
    public string? ResponseBody { get; }

    private static string BuildMessage(HttpStatusCode statusCode, string? errorCode, string? serverMessage)
    {
        var code = errorCode is null ? "" : $" {errorCode}";
        var text = string.IsNullOrWhiteSpace(serverMessage) ? "" : $": {serverMessage}";
        return $"MLflow request failed with HTTP {(int)statusCode} ({statusCode}){code}{text}";
    }
}

/// <summary>MLflow's error codes that this library raises or that servers commonly return.</summary>
public static class MlflowErrorCodes
{
    /// <summary>The request had an invalid value (HTTP 400).</summary>
    public const string InvalidParameterValue = "INVALID_PARAMETER_VALUE";

    /// <summary>The resource does not exist (HTTP 404).</summary>
    public const string ResourceDoesNotExist = "RESOURCE_DOES_NOT_EXIST";

    /// <summary>The resource already exists (HTTP 400).</summary>
    public const string ResourceAlreadyExists = "RESOURCE_ALREADY_EXISTS";

    /// <summary>The operation is not valid in the entity's state.</summary>
    public const string InvalidState = "INVALID_STATE";

    /// <summary>A database constraint or data error (HTTP 400).</summary>
    public const string BadRequest = "BAD_REQUEST";

    /// <summary>An unexpected server error (HTTP 500).</summary>
    public const string InternalError = "INTERNAL_ERROR";

    /// <summary>The store is temporarily unavailable (HTTP 503).</summary>
    public const string TemporarilyUnavailable = "TEMPORARILY_UNAVAILABLE";

    /// <summary>The endpoint does not exist on this server (a non-JSON 404), e.g. an MLflow 3 endpoint on a 2.x server.</summary>
    public const string EndpointNotFound = "ENDPOINT_NOT_FOUND";

    /// <summary>The operation is not implemented by the server or store.</summary>
    public const string NotImplemented = "NOT_IMPLEMENTED";
}
