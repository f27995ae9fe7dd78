using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MLOpsDemo.Mlflow.Projects;

/// <summary>
/// What PyYAML's <c>safe_load</c> (YAML 1.1 typing) followed by Python's <c>str()</c> makes of a scalar, plus
/// <c>shlex.quote</c> and the Python float repr. This is how MLflow turns MLproject defaults into command text.
/// </summary>
internal static partial class PythonText
{
    private const string StrTag = "tag:yaml.org,2002:str";
    private const string IntTag = "tag:yaml.org,2002:int";
    private const string FloatTag = "tag:yaml.org,2002:float";
    private const string BoolTag = "tag:yaml.org,2002:bool";
    private const string NullTag = "tag:yaml.org,2002:null";

    /// <summary>Python's <c>str()</c> of the value PyYAML builds for <paramref name="node"/>; <see langword="null"/> for YAML null.</summary>
    public static string? ScalarToPython(YamlScalarNode node)
    {
        var value = node.Value ?? "";
        var tag = node.Tag.IsEmpty ? null : node.Tag.Value;
        if (tag == "!" || tag == StrTag)
        {
            return value;
        }

        var plain = node.Style is ScalarStyle.Plain or ScalarStyle.Any;
        return tag switch
        {
            IntTag => ConstructInt(value),
            FloatTag => ConstructFloat(value),
            BoolTag => ConstructBool(value),
            NullTag => null,
            null when plain => Resolve(value),
            _ => value,
        };
    }

    /// <summary>Resolves a plain scalar with PyYAML's implicit resolvers.</summary>
    public static string? Resolve(string value)
    {
        if (NullRegex().IsMatch(value))
        {
            return null;
        }

        if (BoolRegex().IsMatch(value))
        {
            return ConstructBool(value);
        }

        if (IntRegex().IsMatch(value))
        {
            return ConstructInt(value);
        }

        if (FloatRegex().IsMatch(value))
        {
            return ConstructFloat(value);
        }

        if (TimestampRegex().Match(value) is { Success: true } ts)
        {
            return ConstructTimestamp(ts) ?? value;
        }

        return value;
    }

    private static string ConstructBool(string value) =>
        value.ToUpperInvariant() is "YES" or "TRUE" or "ON" ? "True" : "False";

    private static string ConstructInt(string value)
    {
        value = value.Replace("_", "", StringComparison.Ordinal);
        var sign = BigInteger.One;
        if (value.StartsWith('-'))
        {
            sign = BigInteger.MinusOne;
        }

        if (value.Length > 0 && value[0] is '+' or '-')
        {
            value = value[1..];
        }

        BigInteger result;
        if (value == "0")
        {
            result = BigInteger.Zero;
        }
        else if (value.StartsWith("0b", StringComparison.Ordinal))
        {
            result = ParseBase(value[2..], 2);
        }
        else if (value.StartsWith("0x", StringComparison.Ordinal))
        {
            result = ParseBase(value[2..], 16);
        }
        else if (value.StartsWith('0'))
        {
            result = ParseBase(value, 8);
        }
        else if (value.Contains(':', StringComparison.Ordinal))
        {
            result = BigInteger.Zero;
            foreach (var part in value.Split(':'))
            {
                result = (result * 60) + BigInteger.Parse(part, CultureInfo.InvariantCulture);
            }
        }
        else
        {
            result = BigInteger.Parse(value, CultureInfo.InvariantCulture);
        }

        return (sign * result).ToString(CultureInfo.InvariantCulture);
    }

    private static BigInteger ParseBase(string digits, int radix)
    {
        var result = BigInteger.Zero;
        foreach (var c in digits)
        {
            result = (result * radix) + Convert.ToInt32(c.ToString(), 16);
        }

        return result;
    }

    private static string ConstructFloat(string value)
    {
        value = value.Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();
        var sign = 1.0;
        if (value.StartsWith('-'))
        {
            sign = -1.0;
        }

        if (value.Length > 0 && value[0] is '+' or '-')
        {
            value = value[1..];
        }

        double result;
        if (value == ".inf")
        {
            result = double.PositiveInfinity;
        }
        else if (value == ".nan")
        {
            return "nan";
        }
        else if (value.Contains(':', StringComparison.Ordinal))
        {
            result = 0;
            foreach (var part in value.Split(':'))
            {
                result = (result * 60) + double.Parse(part, NumberStyles.Float, CultureInfo.InvariantCulture);
            }
        }
        else
        {
            result = double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        return FloatRepr(sign * result);
    }

    private static string? ConstructTimestamp(Match match)
    {
        var g = match.Groups;
        if (!g["hour"].Success)
        {
            if (g["month"].Value.Length != 2 || g["day"].Value.Length != 2)
            {
                return null;
            }

            return value(g["year"].Value, g["month"].Value, g["day"].Value);
        }

        var date = value(g["year"].Value, g["month"].Value, g["day"].Value);
        if (date is null)
        {
            return null;
        }

        var text = new StringBuilder(date).Append(' ')
            .Append(int.Parse(g["hour"].Value, CultureInfo.InvariantCulture).ToString("00", CultureInfo.InvariantCulture)).Append(':')
            .Append(g["minute"].Value).Append(':').Append(g["second"].Value);
        if (g["fraction"].Success && g["fraction"].Value.Length > 0)
        {
            var fraction = g["fraction"].Value;
            fraction = fraction.Length > 6 ? fraction[..6] : fraction.PadRight(6, '0');
            if (fraction != "000000")
            {
                text.Append('.').Append(fraction);
            }
        }

        if (g["tz"].Success && g["tz"].Value.Length > 0)
        {
            if (g["tz"].Value == "Z")
            {
                text.Append("+00:00");
            }
            else
            {
                var hours = int.Parse(g["tzhour"].Value, CultureInfo.InvariantCulture);
                var minutes = g["tzminute"].Success && g["tzminute"].Value.Length > 0 ? int.Parse(g["tzminute"].Value, CultureInfo.InvariantCulture) : 0;
                text.Append(g["tzsign"].Value).Append(hours.ToString("00", CultureInfo.InvariantCulture)).Append(':').Append(minutes.ToString("00", CultureInfo.InvariantCulture));
            }
        }

        return text.ToString();

        static string? value(string year, string month, string day) =>
            DateTime.TryParseExact($"{year}-{int.Parse(month, CultureInfo.InvariantCulture):00}-{int.Parse(day, CultureInfo.InvariantCulture):00}", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed)
                ? parsed.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
                : null;
    }

    /// <summary>Python's <c>repr</c>/<c>str</c> of a float: shortest round-trip digits, exponent form below 1e-4 and from 1e16.</summary>
    public static string FloatRepr(double value)
    {
        if (double.IsNaN(value))
        {
            return "nan";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? "inf" : "-inf";
        }

        if (value == 0)
        {
            return double.IsNegative(value) ? "-0.0" : "0.0";
        }

        var r = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        var exponent = 0;
        var e = r.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exponent = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..e];
        }

        var dot = r.IndexOf('.', StringComparison.Ordinal);
        var intLength = dot < 0 ? r.Length : dot;
        var digits = r.Replace(".", "", StringComparison.Ordinal);
        var leading = digits.Length - digits.TrimStart('0').Length;
        digits = digits.TrimStart('0').TrimEnd('0');
        if (digits.Length == 0)
        {
            digits = "0";
        }

        var point = intLength + exponent - leading; // digits[0] sits just before the point when point == 1
        var x = point - 1;
        string text;
        if (x is >= -4 and < 16)
        {
            if (point <= 0)
            {
                text = "0." + new string('0', -point) + digits;
            }
            else if (point >= digits.Length)
            {
                text = digits + new string('0', point - digits.Length) + ".0";
            }
            else
            {
                text = digits[..point] + "." + digits[point..];
            }
        }
        else
        {
            text = digits[..1] + (digits.Length > 1 ? "." + digits[1..] : "") + "e" + (x < 0 ? "-" : "+") + Math.Abs(x).ToString("00", CultureInfo.InvariantCulture);
        }

        return value < 0 ? "-" + text : text;
    }

    /// <summary>POSIX <c>shlex.quote</c>.</summary>
    public static string ShellQuote(string value)
    {
        if (value.Length == 0)
        {
            return "''";
        }

        return UnsafeShellRegex().IsMatch(value) ? "'" + value.Replace("'", "'\"'\"'", StringComparison.Ordinal) + "'" : value;
    }

    /// <summary>
    /// Quoting for <c>cmd /c</c> in the style of <c>mslex.quote</c>: safe strings stay bare; others are wrapped in
    /// double quotes with backslashes before quotes doubled, embedded quotes escaped and cmd metacharacters caret-escaped.
    /// </summary>
    public static string WindowsQuote(string value)
    {
        if (value.Length == 0)
        {
            return "\"\"";
        }

        if (!UnsafeWindowsRegex().IsMatch(value))
        {
            return value;
        }

        var text = new StringBuilder("\"");
        var backslashes = 0;
        foreach (var c in value)
        {
            if (c == '\\')
            {
                backslashes++;
                continue;
            }

            if (c == '"')
            {
                text.Append('\\', (backslashes * 2) + 1).Append('"');
            }
            else
            {
                text.Append('\\', backslashes);
                text.Append(c is '%' or '!' or '^' ? "^" + c : c.ToString());
            }

            backslashes = 0;
        }

        text.Append('\\', backslashes * 2).Append('"');
        return text.ToString();
    }

    /// <summary>Python's repr of a list of strings, e.g. <c>['main', 'train']</c>.</summary>
    public static string ListRepr(IEnumerable<string> items) =>
        "[" + string.Join(", ", items.Select(i => "'" + i.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'")) + "]";

    /// <summary>Whether Python's <c>urllib.parse.urlparse(value).scheme</c> is non-empty.</summary>
    public static bool HasUriScheme(string value) => UriSchemeRegex().IsMatch(value);

    [GeneratedRegex(@"^(?:~|null|Null|NULL|)$")]
    private static partial Regex NullRegex();

    [GeneratedRegex(@"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$")]
    private static partial Regex BoolRegex();

    [GeneratedRegex(@"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$")]
    private static partial Regex IntRegex();

    [GeneratedRegex(@"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")]
    private static partial Regex FloatRegex();

    [GeneratedRegex(@"^(?<year>[0-9]{4})-(?<month>[0-9][0-9]?)-(?<day>[0-9][0-9]?)(?:(?:[Tt]|[ \t]+)(?<hour>[0-9][0-9]?):(?<minute>[0-9][0-9]):(?<second>[0-9][0-9])(?:\.(?<fraction>[0-9]*))?(?:[ \t]*(?<tz>Z|(?<tzsign>[-+])(?<tzhour>[0-9][0-9]?)(?::(?<tzminute>[0-9][0-9]))?))?)?$")]
    private static partial Regex TimestampRegex();

    [GeneratedRegex(@"[^A-Za-z0-9_@%+=:,./-]")]
    private static partial Regex UnsafeShellRegex();

    [GeneratedRegex(@"[^A-Za-z0-9_@+=:,./\\-]")]
    private static partial Regex UnsafeWindowsRegex();

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9+.-]*:")]
    private static partial Regex UriSchemeRegex();
}
