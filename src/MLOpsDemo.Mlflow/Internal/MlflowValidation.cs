using System.Globalization;
using System.Text;

namespace MLOpsDemo.Mlflow.Internal;

/// <summary>
/// The server's input rules (LIMITS.md), checked before any request so that mistakes fail fast with a message that
/// names the field, the problem and the limit. Lengths count Unicode code points, as the server does.
/// </summary>
internal static class MlflowValidation
{
    public const int MaxKeyLength = 250;
    public const int MaxParamValueLength = 6000;
    public const int MaxRunTagValueLength = 8000;
    public const int MaxExperimentTagValueLength = 5000;
    public const int MaxExperimentNameLength = 500;
    public const int MaxBatchMetrics = 1000;
    public const int MaxBatchParams = 100;
    public const int MaxBatchTags = 100;
    public const int MaxBatchItems = 1000;
    public const int MaxBatchBytes = 1_000_000;

    /// <summary>Counts Unicode code points (a character outside the BMP counts once, as in Python).</summary>
    public static int CodePointLength(string value)
    {
        var count = value.Length;
        foreach (var c in value)
        {
            if (char.IsLowSurrogate(c))
            {
                count--;
            }
        }

        return count;
    }

    /// <summary>Checks a metric, param or tag key: characters, path rule and length.</summary>
    public static void ValidateKey(string? key, string kind, string paramName, int maxLength = MaxKeyLength)
    {
        if (key is null)
        {
            throw new ArgumentNullException(paramName, $"The {kind} key must not be null.");
        }

        if (key.Length == 0)
        {
            throw new ArgumentException($"The {kind} key must not be empty.", paramName);
        }

        foreach (var rune in key.EnumerateRunes())
        {
            if (!IsKeyRune(rune))
            {
                throw new ArgumentException(
                    $"Invalid {kind} key '{key}': character '{rune}' is not allowed. Keys may only contain letters, digits, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/).",
                    paramName);
            }
        }

        if (!IsNormalizedPath(key))
        {
            throw new ArgumentException(
                $"Invalid {kind} key '{key}': it must be a normalized relative path (no leading '/', no trailing '/', no '//', no '.' or '..' segments).",
                paramName);
        }

        var length = CodePointLength(key);
        if (length > maxLength)
        {
            throw new ArgumentException($"The {kind} key '{Abbreviate(key)}' is {length} characters long; MLflow allows at most {maxLength}.", paramName);
        }
    }

    /// <summary>Checks a value's length; truncates it when <paramref name="truncate"/> is set, else throws.</summary>
    public static string ValidateValue(string? value, string kind, string key, int maxLength, bool truncate, string paramName)
    {
        value ??= "";
        var length = CodePointLength(value);
        if (length <= maxLength)
        {
            return value;
        }

        if (truncate)
        {
            return TruncateCodePoints(value, maxLength);
        }

        throw new ArgumentException(
            $"The value of {kind} '{key}' is {length} characters long; MLflow allows at most {maxLength} (the server would silently truncate it). Shorten it, or set MlflowClientOptions.TruncateLongValues = true to truncate.",
            paramName);
    }

    public static void ValidateExperimentName(string? name, string paramName)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("The experiment name must not be empty or white space.", paramName);
        }

        var length = CodePointLength(name);
        if (length > MaxExperimentNameLength)
        {
            throw new ArgumentException($"The experiment name is {length} characters long; MLflow allows at most {MaxExperimentNameLength}.", paramName);
        }
    }

    public static void ValidateId(string? id, string what, string paramName)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            throw new ArgumentException($"The {what} must not be empty.", paramName);
        }
    }

    public static void ValidateRunId(string? runId, string paramName)
    {
        ValidateId(runId, "run id", paramName);
        var ok = runId!.Length <= 256 && char.IsAsciiLetterOrDigit(runId[0]);
        for (var i = 1; ok && i < runId.Length; i++)
        {
            var c = runId[i];
            ok = char.IsLetterOrDigit(c) || c is '_' or '-';
        }

        if (!ok)
        {
            throw new ArgumentException($"'{Abbreviate(runId)}' is not a valid run id: it must start with a letter or digit and contain only letters, digits, '_' and '-' (at most 256 characters).", paramName);
        }
    }

    public static void ValidateTimestamp(long timestamp, string paramName)
    {
        if (timestamp < 0)
        {
            throw new ArgumentOutOfRangeException(paramName, timestamp, "A metric timestamp must be milliseconds since the Unix epoch and not negative.");
        }
    }

    public static void ValidateMaxResults(int maxResults, int upperLimit, string paramName)
    {
        if (maxResults < 1 || maxResults > upperLimit)
        {
            throw new ArgumentOutOfRangeException(paramName, maxResults, $"The page size must be between 1 and {upperLimit}.");
        }
    }

    /// <summary>Formats a value as Python's <c>str()</c> does for common types, so params read the same from both clients.</summary>
    public static string FormatValue(object? value) => value switch
    {
        null => "None",
        string s => s,
        bool b => b ? "True" : "False",
        double d => FormatDouble(d),
        float f => FormatDouble(f),
        decimal m => m.ToString(CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string FormatDouble(double d) =>
        double.IsNaN(d) ? "nan" : double.IsPositiveInfinity(d) ? "inf" : double.IsNegativeInfinity(d) ? "-inf"
        : d == Math.Floor(d) && Math.Abs(d) < 1e16 ? d.ToString("0.0", CultureInfo.InvariantCulture)
        : d.ToString("R", CultureInfo.InvariantCulture);

    private static bool IsKeyRune(Rune rune)
    {
        if (Rune.IsLetterOrDigit(rune))
        {
            return true;
        }

        var category = Rune.GetUnicodeCategory(rune);
        if (category is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark)
        {
            return true; // Python's \w includes '_' and combining marks.
        }

        return rune.Value is '/' or '.' or '-' or ' ' or ':';
    }

    private static bool IsNormalizedPath(string key)
    {
        if (key == "." || key.StartsWith("..", StringComparison.Ordinal) || key.StartsWith('/') || key.EndsWith('/'))
        {
            return false;
        }

        foreach (var segment in key.Split('/'))
        {
            if (segment.Length == 0 || segment == "." || segment == "..")
            {
                return false;
            }
        }

        return true;
    }

    private static string TruncateCodePoints(string value, int maxCodePoints)
    {
        var builder = new StringBuilder(maxCodePoints);
        var count = 0;
        foreach (var rune in value.EnumerateRunes())
        {
            if (count++ == maxCodePoints)
            {
                break;
            }

            builder.Append(rune.ToString());
        }

        return builder.ToString();
    }

    private static string Abbreviate(string value) => value.Length <= 40 ? value : string.Concat(value.AsSpan(0, 37), "...");
}
