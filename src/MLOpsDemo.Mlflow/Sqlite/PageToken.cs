using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace MLOpsDemo.Mlflow.Sqlite;

/// <summary>MLflow's offset page tokens: standard base64 of the UTF-8 JSON <c>{"offset": N}</c> (SQLSTORE.md §7.5).</summary>
internal static class PageToken
{
    /// <summary>Encodes an offset exactly as Python writes it (space after the colon).</summary>
    public static string Encode(long offset) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{{\"offset\": {offset}}}")));

    /// <summary>Decodes a token; <see langword="null"/> or empty gives 0. A token for offset 0 or anything unreadable is refused.</summary>
    public static long Decode(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return 0;
        }

        try
        {
            var bytes = Convert.FromBase64String(token);
            using var document = JsonDocument.Parse(bytes);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("offset", out var offset)
                && offset.ValueKind == JsonValueKind.Number
                && offset.TryGetInt64(out var value)
                && value > 0)
            {
                return value;
            }
        }
        catch (FormatException)
        {
        }
        catch (JsonException)
        {
        }

        throw new MlflowException(HttpStatusCode.BadRequest, MlflowErrorCodes.InvalidParameterValue, $"Invalid page token, could not base64-decode or parse it: '{token}'. Pass the next_page_token of an earlier search unchanged.");
    }
}
