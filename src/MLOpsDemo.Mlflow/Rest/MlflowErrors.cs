using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using MLOpsDemo.Mlflow.Serialization;

namespace MLOpsDemo.Mlflow.Rest;

/// <summary>Turns failed responses into <see cref="MlflowException"/>, for JSON and non-JSON (HTML, text) bodies alike.</summary>
internal static partial class MlflowErrors
{
    private const int MaxMessageLength = 500;

    public static MlflowException FromResponse(HttpStatusCode status, string? body, Exception? inner = null)
    {
        string? errorCode = null;
        string? message = null;
        var trimmed = body?.TrimStart();
        if (!string.IsNullOrEmpty(trimmed) && trimmed[0] == '{')
        {
            try
            {
                var parsed = JsonSerializer.Deserialize(trimmed, MlflowJsonContext.Default.MlflowErrorBody);
                errorCode = parsed?.ErrorCode;
                message = parsed?.Message;
            }
            catch (JsonException)
            {
                // Not MLflow's error JSON; handled below as text.
            }
        }

        if (errorCode is not null && int.TryParse(errorCode, out var numeric))
        {
            errorCode = CodeFromStatus((HttpStatusCode)numeric);
        }

        if (errorCode is null)
        {
            errorCode = CodeFromStatus(status);
            message ??= DescribeText(body);
        }

        return new MlflowException(status, errorCode, message, body, inner);
    }

    public static string CodeFromStatus(HttpStatusCode status) => (int)status switch
    {
        400 => "BAD_REQUEST",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => MlflowErrorCodes.EndpointNotFound,
        405 => MlflowErrorCodes.EndpointNotFound,
        409 => "ALREADY_EXISTS",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => MlflowErrorCodes.NotImplemented,
        503 => MlflowErrorCodes.TemporarilyUnavailable,
        504 => "DEADLINE_EXCEEDED",
        _ => MlflowErrorCodes.InternalError,
    };

    /// <summary>Makes a readable one-line message from an HTML or text body.</summary>
    private static string? DescribeText(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        var title = TitleRegex().Match(body);
        var text = title.Success ? title.Groups[1].Value : body;
        var paragraph = ParagraphRegex().Match(body);
        if (title.Success && paragraph.Success)
        {
            text += ": " + paragraph.Groups[1].Value;
        }

        text = WhitespaceRegex().Replace(TagRegex().Replace(text, " "), " ").Trim();
        text = WebUtility.HtmlDecode(text);
        return text.Length > MaxMessageLength ? text[..MaxMessageLength] + "…" : text;
    }

    [GeneratedRegex("<title>(.*?)</title>", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex TitleRegex();

    [GeneratedRegex("<p>(.*?)</p>", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex ParagraphRegex();

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex TagRegex();

    [GeneratedRegex("\\s+")]
    private static partial Regex WhitespaceRegex();
}
