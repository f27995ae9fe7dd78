using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MLOpsDemo.Mlflow.Models.Mlmodel;

/// <summary>
/// Writes JSON as Python's <c>json.dumps</c> does by default: <c>", "</c> and <c>": "</c> separators, non-ASCII escaped
/// as <c>\uXXXX</c>, floats in <c>repr</c> form. MLflow stores signatures and the <c>mlflow.log-model.history</c> tag so.
/// </summary>
internal sealed class PythonJson
{
    private readonly StringBuilder _builder = new();

    public override string ToString() => _builder.ToString();

    public PythonJson Raw(string text)
    {
        _builder.Append(text);
        return this;
    }

    public PythonJson String(string value)
    {
        _builder.Append('"');
        foreach (var ch in value)
        {
            switch (ch)
            {
                case '"': _builder.Append("\\\""); break;
                case '\\': _builder.Append("\\\\"); break;
                case '\n': _builder.Append("\\n"); break;
                case '\r': _builder.Append("\\r"); break;
                case '\t': _builder.Append("\\t"); break;
                case '\b': _builder.Append("\\b"); break;
                case '\f': _builder.Append("\\f"); break;
                default:
                    if (ch < ' ' || ch > '~')
                    {
                        _builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)ch:x4}");
                    }
                    else
                    {
                        _builder.Append(ch);
                    }

                    break;
            }
        }

        _builder.Append('"');
        return this;
    }

    /// <summary>Writes a tree value (map, list, string, bool, number, null, <see cref="JsonElement"/>).</summary>
    public PythonJson Value(object? value)
    {
        switch (value)
        {
            case null:
                _builder.Append("null");
                break;
            case string s:
                String(s);
                break;
            case bool b:
                _builder.Append(b ? "true" : "false");
                break;
            case double d:
                _builder.Append(FormatJsonFloat(d));
                break;
            case float f:
                _builder.Append(FormatJsonFloat(f));
                break;
            case JsonElement element:
                Element(element);
                break;
            case IReadOnlyDictionary<string, object?> map:
                Object(map.Select(kv => (kv.Key, kv.Value)));
                break;
            case IReadOnlyList<object?> list:
                _builder.Append('[');
                for (var i = 0; i < list.Count; i++)
                {
                    if (i > 0)
                    {
                        _builder.Append(", ");
                    }

                    Value(list[i]);
                }

                _builder.Append(']');
                break;
            case IFormattable formattable:
                _builder.Append(formattable.ToString(null, CultureInfo.InvariantCulture));
                break;
            default:
                String(value.ToString() ?? "");
                break;
        }

        return this;
    }

    /// <summary>Writes an object with the given members in order.</summary>
    public PythonJson Object(IEnumerable<(string Key, object? Value)> members)
    {
        _builder.Append('{');
        var first = true;
        foreach (var (key, value) in members)
        {
            if (!first)
            {
                _builder.Append(", ");
            }

            first = false;
            String(key);
            _builder.Append(": ");
            Value(value);
        }

        _builder.Append('}');
        return this;
    }

    private void Element(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                Object(element.EnumerateObject().Select(p => (p.Name, (object?)p.Value)));
                break;
            case JsonValueKind.Array:
                Value(element.EnumerateArray().Select(e => (object?)e).ToList());
                break;
            case JsonValueKind.String:
                String(element.GetString()!);
                break;
            case JsonValueKind.Number:
                _builder.Append(element.GetRawText());
                break;
            case JsonValueKind.True:
                _builder.Append("true");
                break;
            case JsonValueKind.False:
                _builder.Append("false");
                break;
            default:
                _builder.Append("null");
                break;
        }
    }

    /// <summary>Python's <c>repr(float)</c>: shortest round-trip digits, always with a '.' or an exponent.</summary>
    public static string FormatFloat(double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        if (text.Contains('E', StringComparison.Ordinal))
        {
            // .NET: 1E+20 / 1.5E-07; Python: 1e+20 / 1.5e-07.
            var parts = text.Split('E');
            var exponent = int.Parse(parts[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            return string.Create(CultureInfo.InvariantCulture, $"{parts[0]}e{(exponent < 0 ? "-" : "+")}{Math.Abs(exponent):00}");
        }

        return text.Contains('.', StringComparison.Ordinal) ? text : text + ".0";
    }

    private static string FormatJsonFloat(double value) =>
        double.IsNaN(value) ? "NaN" : double.IsPositiveInfinity(value) ? "Infinity" : double.IsNegativeInfinity(value) ? "-Infinity" : FormatFloat(value);
}
