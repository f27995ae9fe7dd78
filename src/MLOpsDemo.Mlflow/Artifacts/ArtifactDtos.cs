using System.Buffers;
using System.Text.Json;

namespace MLOpsDemo.Mlflow.Artifacts;

/// <summary>
/// The multipart-upload messages (REST.md §5 <c>mpu/create|complete|abort</c>), written and read with
/// <see cref="Utf8JsonWriter"/>/<see cref="JsonDocument"/>: no reflection, and no second partial declaration of the
/// source-generated context (the generator cannot merge attributes from several partial files).
/// </summary>
internal static class MultipartMessages
{
    public static byte[] Create(string path, long numParts) => Write(w =>
    {
        w.WriteString("path", path);
        w.WriteNumber("num_parts", numParts);
    });

    public static byte[] Complete(string path, string uploadId, IReadOnlyList<CompletedPart> parts) => Write(w =>
    {
        w.WriteString("path", path);
        w.WriteString("upload_id", uploadId);
        w.WriteStartArray("parts");
        foreach (var part in parts)
        {
            w.WriteStartObject();
            w.WriteNumber("part_number", part.PartNumber);
            w.WriteString("etag", part.Etag);
            if (part.Url is not null)
            {
                w.WriteString("url", part.Url);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    public static byte[] Abort(string path, string uploadId) => Write(w =>
    {
        w.WriteString("path", path);
        w.WriteString("upload_id", uploadId);
    });

    /// <summary>Reads <c>{"upload_id", "credentials": [{"url", "part_number", "headers"}]}</c>.</summary>
    public static (string? UploadId, IReadOnlyList<MultipartCredential> Credentials) ReadCreateResponse(ReadOnlyMemory<byte> json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        string? uploadId = root.TryGetProperty("upload_id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null;
        var credentials = new List<MultipartCredential>();
        if (root.TryGetProperty("credentials", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in list.EnumerateArray())
            {
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                if (item.TryGetProperty("headers", out var h) && h.ValueKind == JsonValueKind.Object)
                {
                    foreach (var header in h.EnumerateObject())
                    {
                        headers[header.Name] = header.Value.ValueKind == JsonValueKind.String ? header.Value.GetString()! : header.Value.GetRawText();
                    }
                }

                long partNumber = 0;
                if (item.TryGetProperty("part_number", out var n))
                {
                    _ = n.ValueKind == JsonValueKind.String ? long.TryParse(n.GetString(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out partNumber) : n.TryGetInt64(out partNumber);
                }

                credentials.Add(new MultipartCredential(
                    item.TryGetProperty("url", out var url) && url.ValueKind == JsonValueKind.String ? url.GetString() : null,
                    partNumber,
                    headers));
            }
        }

        return (uploadId, credentials);
    }

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>One presigned part URL of a multipart upload.</summary>
internal sealed record MultipartCredential(string? Url, long PartNumber, IReadOnlyDictionary<string, string> Headers);

/// <summary>A part that was stored, with the ETag the storage returned.</summary>
internal sealed record CompletedPart(long PartNumber, string Etag, string? Url);
