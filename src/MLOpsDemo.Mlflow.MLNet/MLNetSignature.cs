using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLOpsDemo.Mlflow.MLNet;

/// <summary>
/// Maps ML.NET schemas to MLflow's: <see cref="DataViewSchema"/> columns to <see cref="ColSpec"/>s (for the signature)
/// and the first rows of an <see cref="IDataView"/> to a DataFrame input example.
/// </summary>
public static class MLNetSignature
{
    /// <summary>
    /// The MLflow column spec of an ML.NET column: <c>Single</c> → <c>float</c>, <c>Double</c> → <c>double</c>,
    /// <c>SByte</c>/<c>Byte</c>/<c>Int16</c>/<c>UInt16</c>/<c>Int32</c> → <c>integer</c>, <c>UInt32</c>/<c>Int64</c>/<c>UInt64</c>
    /// and key types → <c>long</c>, <c>Boolean</c> → <c>boolean</c>, text → <c>string</c>, <c>DateTime</c>/<c>DateTimeOffset</c>
    /// → <c>datetime</c>, <c>TimeSpan</c> → <c>string</c> (its invariant text), <c>ReadOnlyMemory&lt;byte&gt;</c> and images
    /// → <c>binary</c>; a vector of any of these → <c>{"type": "array", "items": {"type": …}}</c>.
    /// </summary>
    /// <param name="column">The column.</param>
    /// <returns>The spec (named after the column, required).</returns>
    /// <exception cref="NotSupportedException">The column's type has no MLflow counterpart.</exception>
    public static ColSpec ToColSpec(DataViewSchema.Column column)
    {
        if (column.Type is VectorDataViewType vector)
        {
            var items = ScalarType(vector.ItemType, column.Name);
            using var document = JsonDocument.Parse($"{{\"type\": \"{items}\"}}");
            return new ColSpec("array", column.Name) { Details = new Dictionary<string, JsonElement> { ["items"] = document.RootElement.Clone() } };
        }

        return new ColSpec(ScalarType(column.Type, column.Name), column.Name);
    }

    /// <summary>The column specs of the visible columns of a schema, in order.</summary>
    /// <param name="schema">The schema (e.g. the training data's).</param>
    /// <param name="exclude">Column names to leave out.</param>
    /// <returns>The specs.</returns>
    public static IReadOnlyList<ColSpec> ToColSpecs(DataViewSchema schema, IEnumerable<string>? exclude = null)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var skip = new HashSet<string>(exclude ?? [], StringComparer.Ordinal);
        return VisibleColumns(schema).Where(c => !skip.Contains(c.Name)).Select(ToColSpec).ToList();
    }

    /// <summary>
    /// A DataFrame input example (<c>{"columns": [...], "data": [[...]]}</c>, MLflow's <c>split</c> orient) from the first
    /// <paramref name="maxRows"/> rows of <paramref name="data"/>; vectors become lists, text stays text, times are ISO 8601.
    /// </summary>
    /// <param name="data">The data.</param>
    /// <param name="maxRows">How many rows (at least 1).</param>
    /// <param name="exclude">Column names to leave out.</param>
    /// <returns>The example.</returns>
    public static ModelInputExample ToInputExample(IDataView data, int maxRows = 5, IEnumerable<string>? exclude = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        var skip = new HashSet<string>(exclude ?? [], StringComparer.Ordinal);
        var columns = VisibleColumns(data.Schema).Where(c => !skip.Contains(c.Name)).ToList();
        var preview = data.Preview(maxRows);
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteStartArray("columns");
            foreach (var column in columns)
            {
                json.WriteStringValue(column.Name);
            }

            json.WriteEndArray();
            json.WriteStartArray("data");
            foreach (var row in preview.RowView)
            {
                json.WriteStartArray();
                foreach (var column in columns)
                {
                    // The preview lists the columns in schema order; look up by name if it left hidden ones out.
                    var values = row.Values;
                    WriteValue(json, values.Length == data.Schema.Count ? values[column.Index].Value : values.Last(v => v.Key == column.Name).Value);
                }

                json.WriteEndArray();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return new ModelInputExample(PythonSeparators(Encoding.UTF8.GetString(stream.ToArray())), "dataframe");
    }

    /// <summary>The schema as the <c>mlnet</c> flavor records it: a list of <c>{name, type}</c> maps (ML.NET's type names).</summary>
    /// <param name="schema">The schema.</param>
    /// <returns>The list.</returns>
    internal static List<object?> Describe(DataViewSchema schema) =>
        VisibleColumns(schema).Select(c => (object?)new Dictionary<string, object?>(StringComparer.Ordinal) { ["name"] = c.Name, ["type"] = c.Type.ToString() }).ToList();

    internal static IEnumerable<DataViewSchema.Column> VisibleColumns(DataViewSchema schema) => schema.Where(c => !c.IsHidden);

    private static string ScalarType(DataViewType type, string column)
    {
        if (type is KeyDataViewType)
        {
            return "long";
        }

        if (type is TextDataViewType)
        {
            return "string";
        }

        if (type is BooleanDataViewType)
        {
            return "boolean";
        }

        if (type is DateTimeDataViewType or DateTimeOffsetDataViewType)
        {
            return "datetime";
        }

        if (type is TimeSpanDataViewType)
        {
            return "string";
        }

        if (type is NumberDataViewType)
        {
            var raw = type.RawType;
            return raw == typeof(float) ? "float"
                : raw == typeof(double) ? "double"
                : raw == typeof(sbyte) || raw == typeof(byte) || raw == typeof(short) || raw == typeof(ushort) || raw == typeof(int) ? "integer"
                : "long";
        }

        if (type is RowIdDataViewType)
        {
            return "string";
        }

        if (type.RawType == typeof(ReadOnlyMemory<byte>) || type.RawType == typeof(byte[]) || type.GetType().Name == "ImageDataViewType")
        {
            return "binary";
        }

        throw new NotSupportedException($"Column '{column}' has the ML.NET type {type}, which has no MLflow column type; leave it out of the signature (exclude it) or convert it first.");
    }

    private static void WriteValue(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null:
                json.WriteNullValue();
                break;
            case bool b:
                json.WriteBooleanValue(b);
                break;
            case float f:
                WriteDouble(json, f);
                break;
            case double d:
                WriteDouble(json, d);
                break;
            case sbyte or byte or short or ushort or int or uint or long:
                json.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture));
                break;
            case ulong u:
                json.WriteNumberValue(u);
                break;
            case ReadOnlyMemory<char> text:
                json.WriteStringValue(text.Span);
                break;
            case string s:
                json.WriteStringValue(s);
                break;
            case DateTime time:
                json.WriteStringValue(time.ToString("yyyy-MM-ddTHH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture));
                break;
            case DateTimeOffset offset:
                json.WriteStringValue(offset.ToString("O", CultureInfo.InvariantCulture));
                break;
            case TimeSpan span:
                json.WriteStringValue(span.ToString("c", CultureInfo.InvariantCulture));
                break;
            case ReadOnlyMemory<byte> bytes:
                json.WriteBase64StringValue(bytes.Span);
                break;
            case VBuffer<float> v:
                WriteVector(json, v);
                break;
            case VBuffer<double> v:
                WriteVector(json, v);
                break;
            case VBuffer<int> v:
                WriteVector(json, v);
                break;
            case VBuffer<long> v:
                WriteVector(json, v);
                break;
            case VBuffer<uint> v:
                WriteVector(json, v);
                break;
            case VBuffer<bool> v:
                WriteVector(json, v);
                break;
            case VBuffer<byte> v:
                WriteVector(json, v);
                break;
            case VBuffer<ReadOnlyMemory<char>> v:
                WriteVector(json, v);
                break;
            default:
                json.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    private static void WriteVector<T>(Utf8JsonWriter json, VBuffer<T> vector)
    {
        json.WriteStartArray();
        foreach (var item in vector.DenseValues())
        {
            WriteValue(json, item);
        }

        json.WriteEndArray();
    }

    private static void WriteDouble(Utf8JsonWriter json, double value)
    {
        if (double.IsFinite(value))
        {
            json.WriteNumberValue(value);
        }
        else
        {
            // Python's json writes NaN/Infinity bare; Utf8JsonWriter cannot, and a null reads back as NaN in pandas.
            json.WriteNullValue();
        }
    }

    // json.dumps separators (", " and ": "), as Python's MLflow writes input_example.json. Utf8JsonWriter's default
    // encoder writes a quote inside a string as \u0022, so every '"' in the compact text delimits a string.
    private static string PythonSeparators(string compact)
    {
        var builder = new StringBuilder(compact.Length + 64);
        var inString = false;
        foreach (var c in compact)
        {
            builder.Append(c);
            if (c == '"')
            {
                inString = !inString;
            }
            else if (!inString && c is ',' or ':')
            {
                builder.Append(' ');
            }
        }

        return builder.ToString();
    }
}
