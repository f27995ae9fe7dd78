using System.Collections.ObjectModel;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MLOpsDemo.Mlflow.Serialization;

/// <summary>A shared empty read-only dictionary.</summary>
internal static class EmptyTags
{
    public static readonly IReadOnlyDictionary<string, string> Instance =
        new ReadOnlyDictionary<string, string>(new Dictionary<string, string>(0, StringComparer.Ordinal));
}

/// <summary>
/// Reads MLflow's <c>[{"key": "k", "value": "v"}]</c> lists into a read-only dictionary (the last value of a
/// repeated key wins) and writes them back in the same shape.
/// </summary>
internal sealed class KeyValueListConverter : JsonConverter<IReadOnlyDictionary<string, string>>
{
    public override IReadOnlyDictionary<string, string> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return EmptyTags.Instance;
        }

        if (reader.TokenType == JsonTokenType.StartObject)
        {
            // Some backends send a plain map; accept it too.
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var name = reader.GetString()!;
                reader.Read();
                map[name] = reader.TokenType == JsonTokenType.Null ? "" : ReadScalar(ref reader);
            }

            return new ReadOnlyDictionary<string, string>(map);
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("Expected a list of {key, value} objects.");
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException("Expected a {key, value} object.");
            }

            string? key = null;
            var value = "";
            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var property = reader.GetString();
                reader.Read();
                if (property == "key")
                {
                    key = reader.TokenType == JsonTokenType.Null ? null : ReadScalar(ref reader);
                }
                else if (property == "value")
                {
                    value = reader.TokenType == JsonTokenType.Null ? "" : ReadScalar(ref reader);
                }
                else
                {
                    reader.Skip();
                }
            }

            if (key is not null)
            {
                result[key] = value;
            }
        }

        return new ReadOnlyDictionary<string, string>(result);
    }

    private static string ReadScalar(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString()!,
        JsonTokenType.Number => System.Text.Encoding.UTF8.GetString(reader.ValueSpan),
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        _ => throw new JsonException($"Unexpected token {reader.TokenType} in a key/value entry."),
    };

    public override void Write(Utf8JsonWriter writer, IReadOnlyDictionary<string, string> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var pair in value)
        {
            writer.WriteStartObject();
            writer.WriteString("key", pair.Key);
            writer.WriteString("value", pair.Value);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }
}

/// <summary>Reads and writes <see cref="RunStatus"/> as MLflow's names (<c>"RUNNING"</c>), accepting numbers too.</summary>
internal sealed class RunStatusConverter : JsonConverter<RunStatus>
{
    public override RunStatus Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Number
            ? (RunStatus)reader.GetInt32()
            : EnumNames.ParseRunStatus(reader.GetString() ?? "");

    public override void Write(Utf8JsonWriter writer, RunStatus value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToWire());
}

/// <summary>Reads and writes <see cref="ViewType"/> as MLflow's names (<c>"ACTIVE_ONLY"</c>).</summary>
internal sealed class ViewTypeConverter : JsonConverter<ViewType>
{
    public override ViewType Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Number
            ? (ViewType)reader.GetInt32()
            : EnumNames.ParseViewType(reader.GetString() ?? "");

    public override void Write(Utf8JsonWriter writer, ViewType value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToWire());
}
