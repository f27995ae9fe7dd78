using System.Globalization;
using System.Text.RegularExpressions;
using MLOpsDemo.Mlflow.Internal;

namespace MLOpsDemo.Mlflow.Registry;

/// <summary>The registry's input rules (LIMITS.md §2–3), checked before any request.</summary>
internal static partial class RegistryValidation
{
    public const int MaxRegisteredModelTagValueLength = 5000;
    public const int MaxModelVersionTagValueLength = 100_000;
    public const int MaxDescriptionLength = 5000;
    public const int MaxSourceLength = 500;
    public const int MaxAliasLength = 255;
    public const int MaxNameLength = 256;

    private static readonly string[] s_stages = [ModelVersionStage.None, ModelVersionStage.Staging, ModelVersionStage.Production, ModelVersionStage.Archived];

    public static void ValidateName(string? name, string paramName)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("The registered model name must not be empty or white space.", paramName);
        }

        var length = MlflowValidation.CodePointLength(name);
        if (length > MaxNameLength)
        {
            throw new ArgumentException($"The registered model name is {length} characters long; MLflow stores at most {MaxNameLength}.", paramName);
        }
    }

    public static void ValidateVersion(string? version, string paramName)
    {
        if (string.IsNullOrWhiteSpace(version) || !long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number < 1)
        {
            throw new ArgumentException($"'{version}' is not a model version: give the version number as a positive decimal integer such as \"1\".", paramName);
        }
    }

    /// <summary>Checks an alias name; <paramref name="forSet"/> also refuses the reserved names.</summary>
    public static void ValidateAlias(string? alias, string paramName, bool forSet)
    {
        if (string.IsNullOrEmpty(alias))
        {
            throw new ArgumentException("The alias must not be empty.", paramName);
        }

        if (!AliasRegex().IsMatch(alias))
        {
            throw new ArgumentException($"Invalid alias '{alias}': an alias may only contain letters, digits, underscores (_) and dashes (-).", paramName);
        }

        if (alias.Length > MaxAliasLength)
        {
            throw new ArgumentException($"The alias is {alias.Length} characters long; MLflow allows at most {MaxAliasLength}.", paramName);
        }

        if (forSet && (string.Equals(alias, "latest", StringComparison.OrdinalIgnoreCase) || ReservedVersionAliasRegex().IsMatch(alias)))
        {
            throw new ArgumentException($"The alias '{alias}' is reserved: 'latest' and 'v<number>' cannot be set as aliases. Choose another name, e.g. 'champion'.", paramName);
        }
    }

    public static void ValidateTag(string? key, string? value, string kind, int maxValueLength, string paramName)
    {
        MlflowValidation.ValidateKey(key, kind, paramName);
        var length = MlflowValidation.CodePointLength(value ?? "");
        if (length > maxValueLength)
        {
            throw new ArgumentException($"The value of {kind} '{key}' is {length} characters long; MLflow allows at most {maxValueLength}.", paramName);
        }
    }

    public static void ValidateTags(IReadOnlyDictionary<string, string>? tags, string kind, int maxValueLength, string paramName)
    {
        if (tags is null)
        {
            return;
        }

        foreach (var tag in tags)
        {
            ValidateTag(tag.Key, tag.Value, kind, maxValueLength, paramName);
        }
    }

    public static void ValidateDescription(string? description, string paramName)
    {
        var length = description is null ? 0 : MlflowValidation.CodePointLength(description);
        if (length > MaxDescriptionLength)
        {
            throw new ArgumentException($"The description is {length} characters long; MLflow stores at most {MaxDescriptionLength}.", paramName);
        }
    }

    public static void ValidateSource(string? source, string paramName)
    {
        if (string.IsNullOrWhiteSpace(source))
        {
            throw new ArgumentException("The model version source must not be empty: give the artifact URI of the model directory (e.g. mlflow-artifacts:/1/<run>/artifacts/model) or models:/<model_id>.", paramName);
        }

        if (source.Contains('\0', StringComparison.Ordinal) || HasDotDotSegment(source) || HasDotDotSegment(Uri.UnescapeDataString(source)))
        {
            throw new ArgumentException($"The source '{source}' contains a '..' segment or a NUL character; MLflow refuses such sources. Give a normalized URI.", paramName);
        }

        if (source.Length > MaxSourceLength)
        {
            throw new ArgumentException($"The source is {source.Length} characters long; MLflow stores at most {MaxSourceLength}.", paramName);
        }
    }

    /// <summary>Returns the canonical stage name (<c>None</c>, <c>Staging</c>, <c>Production</c>, <c>Archived</c>).</summary>
    public static string CanonicalStage(string? stage, string paramName)
    {
        foreach (var known in s_stages)
        {
            if (string.Equals(known, stage, StringComparison.OrdinalIgnoreCase))
            {
                return known;
            }
        }

        throw new ArgumentException($"'{stage}' is not a model version stage; use None, Staging, Production or Archived.", paramName);
    }

    public static bool TryCanonicalStage(string stage, out string canonical)
    {
        foreach (var known in s_stages)
        {
            if (string.Equals(known, stage, StringComparison.OrdinalIgnoreCase))
            {
                canonical = known;
                return true;
            }
        }

        canonical = "";
        return false;
    }

    public static void ValidateLoggedModelName(string? name, string paramName)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("The logged model name must not be empty.", paramName);
        }

        if (name.IndexOfAny(['/', ':', '.', '%', '"', '\'']) >= 0)
        {
            throw new ArgumentException($"Invalid logged model name '{name}': it must not contain any of / : . % \" '.", paramName);
        }
    }

    public static void ValidateModelId(string? modelId, string paramName)
    {
        if (string.IsNullOrWhiteSpace(modelId) || modelId.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{modelId}' is not a logged model id; ids look like m-<32 hex characters>.", paramName);
        }
    }

    private static bool HasDotDotSegment(string value) =>
        value.Split('/', '\\').Any(s => s == "..");

    [GeneratedRegex(@"^[\w\-]*$")]
    private static partial Regex AliasRegex();

    [GeneratedRegex("^[vV][0-9]+$")]
    private static partial Regex ReservedVersionAliasRegex();
}
