using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MLOpsDemo.Mlflow.Models.Mlmodel;

/// <summary>
/// Writes a tree of maps, lists and scalars exactly as Python's <c>yaml.safe_dump(default_flow_style=False)</c> does
/// (sorted keys, indentless block sequences, PyYAML's choice of plain/single/double quoting and its folding of long
/// scalars at 80 columns), and reads YAML back into such a tree with YamlDotNet's representation model (AOT-safe, no
/// reflection). Tree values: <see cref="IReadOnlyDictionary{TKey,TValue}"/> of string to object, <see cref="IReadOnlyList{T}"/>
/// of object, string, bool, long, int, double and null.
/// </summary>
internal static partial class PyYaml
{
    private const int BestWidth = 80;

    public static string Write(IReadOnlyDictionary<string, object?> root)
    {
        if (root.Count == 0)
        {
            return "{}\n";
        }

        var writer = new Emitter();
        writer.WriteMapping(root, 0, firstInline: false);
        return writer.ToString();
    }

    public static IReadOnlyDictionary<string, object?> Read(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new FormatException($"The MLmodel file is not valid YAML: {ex.Message}", ex);
        }

        if (stream.Documents.Count == 0)
        {
            return new Dictionary<string, object?>(StringComparer.Ordinal);
        }

        return Convert(stream.Documents[0].RootNode) as IReadOnlyDictionary<string, object?>
            ?? throw new FormatException("The MLmodel file must hold a YAML mapping at its top level.");
    }

    private static object? Convert(YamlNode node) => node switch
    {
        YamlMappingNode map => map.Children.ToDictionary(
            kv => ((YamlScalarNode)kv.Key).Value ?? "",
            kv => Convert(kv.Value),
            StringComparer.Ordinal) as IReadOnlyDictionary<string, object?>,
        YamlSequenceNode seq => seq.Children.Select(Convert).ToList(),
        YamlScalarNode scalar => ConvertScalar(scalar),
        _ => null,
    };

    private static object? ConvertScalar(YamlScalarNode scalar)
    {
        var value = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain || (!scalar.Tag.IsEmpty && !scalar.Tag.IsNonSpecific && scalar.Tag.Value == "tag:yaml.org,2002:str"))
        {
            return value;
        }

        if (NullRegex().IsMatch(value))
        {
            return null;
        }

        if (BoolRegex().IsMatch(value))
        {
            return value.ToUpperInvariant() is "TRUE" or "YES" or "ON";
        }

        if (IntRegex().IsMatch(value) && long.TryParse(value.Replace("_", "", StringComparison.Ordinal), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var integer))
        {
            return integer;
        }

        if (FloatRegex().IsMatch(value))
        {
            var lower = value.ToLowerInvariant().Replace("_", "", StringComparison.Ordinal);
            return lower switch
            {
                ".nan" => double.NaN,
                ".inf" or "+.inf" => double.PositiveInfinity,
                "-.inf" => double.NegativeInfinity,
                _ => double.TryParse(lower, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : value,
            };
        }

        return value;
    }

    /// <summary>Whether PyYAML would read <paramref name="value"/>, written plain, as something other than a string.</summary>
    private static bool ResolvesToNonString(string value) =>
        NullRegex().IsMatch(value) || BoolRegex().IsMatch(value) || IntRegex().IsMatch(value) || FloatRegex().IsMatch(value)
        || TimestampRegex().IsMatch(value) || value is "<<" or "=";

    [GeneratedRegex(@"^(?:~|null|Null|NULL|)\z")]
    private static partial Regex NullRegex();

    [GeneratedRegex(@"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)\z")]
    private static partial Regex BoolRegex();

    [GeneratedRegex(@"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)\z")]
    private static partial Regex IntRegex();

    [GeneratedRegex(@"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\z")]
    private static partial Regex FloatRegex();

    [GeneratedRegex(@"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)\z")]
    private static partial Regex TimestampRegex();

    /// <summary>Formats a double as PyYAML's <c>represent_float</c> does.</summary>
    public static string FormatFloat(double value)
    {
        if (double.IsNaN(value))
        {
            return ".nan";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? ".inf" : "-.inf";
        }

        var text = PythonJson.FormatFloat(value).ToLowerInvariant();
        if (!text.Contains('.', StringComparison.Ordinal) && text.Contains('e', StringComparison.Ordinal))
        {
            text = text.Replace("e", ".0e", StringComparison.Ordinal);
        }

        return text;
    }

    private sealed class Emitter
    {
        private readonly StringBuilder _text = new();
        private int _column;

        public override string ToString() => _text.ToString() + "\n";

        public void WriteMapping(IReadOnlyDictionary<string, object?> map, int indent, bool firstInline)
        {
            var first = true;
            foreach (var key in map.Keys.Order(StringComparer.Ordinal))
            {
                if (!(first && firstInline))
                {
                    StartLine(indent);
                }

                first = false;
                WriteScalar(key, indent + 2, split: false);
                Append(":");
                WriteValue(map[key], indent);
            }
        }

        private void WriteValue(object? value, int indent)
        {
            switch (value)
            {
                case IReadOnlyDictionary<string, object?> { Count: > 0 } map:
                    WriteMapping(map, indent + 2, firstInline: false);
                    break;
                case IReadOnlyList<object?> { Count: > 0 } list:
                    WriteSequence(list, indent, firstInline: false);
                    break;
                default:
                    Append(" ");
                    WriteScalar(value, indent + 2, split: true);
                    break;
            }
        }

        private void WriteSequence(IReadOnlyList<object?> list, int indent, bool firstInline)
        {
            var first = true;
            foreach (var item in list)
            {
                if (!(first && firstInline))
                {
                    StartLine(indent);
                }

                first = false;
                Append("- ");
                switch (item)
                {
                    case IReadOnlyDictionary<string, object?> { Count: > 0 } map:
                        WriteMapping(map, indent + 2, firstInline: true);
                        break;
                    case IReadOnlyList<object?> { Count: > 0 } nested:
                        WriteSequence(nested, indent + 2, firstInline: true);
                        break;
                    default:
                        WriteScalar(item, indent + 2, split: true);
                        break;
                }
            }
        }

        private void WriteScalar(object? value, int continuationIndent, bool split)
        {
            switch (value)
            {
                case null:
                    Append("null");
                    break;
                case bool b:
                    Append(b ? "true" : "false");
                    break;
                case string s:
                    WriteString(s, continuationIndent, split);
                    break;
                case double d:
                    Append(FormatFloat(d));
                    break;
                case float f:
                    Append(FormatFloat(f));
                    break;
                case IReadOnlyDictionary<string, object?>:
                    Append("{}");
                    break;
                case IReadOnlyList<object?>:
                    Append("[]");
                    break;
                case IFormattable formattable:
                    Append(formattable.ToString(null, CultureInfo.InvariantCulture));
                    break;
                default:
                    WriteString(value.ToString() ?? "", continuationIndent, split);
                    break;
            }
        }

        private void WriteString(string text, int continuationIndent, bool split)
        {
            if (NeedsDoubleQuotes(text))
            {
                WriteDoubleQuoted(text);
            }
            else if (CanBePlain(text))
            {
                WriteFolded(text, quoted: false, continuationIndent, split);
            }
            else
            {
                WriteFolded(text, quoted: true, continuationIndent, split);
            }
        }

        /// <summary>PyYAML's write_plain / write_single_quoted: a single space past column 80 becomes a line break.</summary>
        private void WriteFolded(string text, bool quoted, int continuationIndent, bool split)
        {
            if (quoted)
            {
                Append("'");
            }

            int start = 0, end = 0;
            var spaces = false;
            while (end <= text.Length)
            {
                char? ch = end < text.Length ? text[end] : null;
                if (spaces)
                {
                    if (ch != ' ')
                    {
                        if (start + 1 == end && _column > BestWidth && split && start != 0 && end != text.Length)
                        {
                            StartLine(continuationIndent);
                        }
                        else
                        {
                            Append(text[start..end]);
                        }

                        start = end;
                    }
                }
                else if (ch is null || ch == ' ' || (quoted && ch == '\''))
                {
                    if (start < end)
                    {
                        Append(text[start..end]);
                        start = end;
                    }
                }

                if (quoted && ch == '\'')
                {
                    Append("''");
                    start = end + 1;
                }

                if (ch is not null)
                {
                    spaces = ch == ' ';
                }

                end++;
            }

            if (quoted)
            {
                Append("'");
            }
        }

        private void WriteDoubleQuoted(string text)
        {
            var builder = new StringBuilder("\"");
            foreach (var ch in text)
            {
                var escape = ch switch
                {
                    '\0' => "\\0",
                    '\a' => "\\a",
                    '\b' => "\\b",
                    '\t' => "\\t",
                    '\n' => "\\n",
                    '\v' => "\\v",
                    '\f' => "\\f",
                    '\r' => "\\r",
                    '\x1B' => "\\e",
                    '"' => "\\\"",
                    '\\' => "\\\\",
                    '\x85' => "\\N",
                    '\xA0' => "\\_",
                    '\u2028' => "\\L",
                    '\u2029' => "\\P",
                    _ when ch < ' ' || (ch > '~' && ch <= '\xFF') => string.Create(CultureInfo.InvariantCulture, $"\\x{(int)ch:X2}"),
                    _ when ch > '\xFF' => string.Create(CultureInfo.InvariantCulture, $"\\u{(int)ch:X4}"),
                    _ => null,
                };
                if (escape is null)
                {
                    builder.Append(ch);
                }
                else
                {
                    builder.Append(escape);
                }
            }

            builder.Append('"');
            Append(builder.ToString());
        }

        private static bool NeedsDoubleQuotes(string text)
        {
            foreach (var ch in text)
            {
                if (ch < ' ' || ch > '~')
                {
                    return true;
                }
            }

            return false;
        }

        private static bool CanBePlain(string text)
        {
            if (text.Length == 0 || ResolvesToNonString(text) || text[0] == ' ' || text[^1] == ' '
                || text.StartsWith("---", StringComparison.Ordinal) || text.StartsWith("...", StringComparison.Ordinal))
            {
                return false;
            }

            for (var i = 0; i < text.Length; i++)
            {
                var ch = text[i];
                var followedBySpace = i + 1 >= text.Length || text[i + 1] == ' ';
                if (i == 0)
                {
                    if ("#,[]{}&*!|>'\"%@`".Contains(ch, StringComparison.Ordinal))
                    {
                        return false;
                    }

                    if (ch is '?' or ':' or '-' && followedBySpace)
                    {
                        return false;
                    }
                }
                else
                {
                    if (ch == ':' && followedBySpace)
                    {
                        return false;
                    }

                    if (ch == '#' && text[i - 1] == ' ')
                    {
                        return false;
                    }
                }
            }

            return true;
        }

        private void StartLine(int indent)
        {
            if (_text.Length > 0)
            {
                _text.Append('\n');
            }

            _text.Append(' ', indent);
            _column = indent;
        }

        private void Append(string text)
        {
            _text.Append(text);
            _column += text.Length;
        }
    }
}
