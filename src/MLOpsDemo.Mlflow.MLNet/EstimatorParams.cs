using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLOpsDemo.Mlflow.MLNet;

/// <summary>
/// Reads the settings of an estimator chain as MLflow params, sklearn-pipeline style: <c>pipeline_steps</c>,
/// <c>estimator</c> (the last step) and <c>&lt;step&gt;__&lt;setting&gt;</c>. ML.NET keeps estimator settings in
/// non-public fields (the options objects and column names passed to the catalog methods), so they are read by
/// reflection: scalar fields, arrays of scalars, ML.NET options objects (their public fields and properties) and the
/// column names of trainers.
/// </summary>
internal static class EstimatorParams
{
    private const BindingFlags InstanceFields = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;

    public static IReadOnlyList<object> Steps(object estimator)
    {
        var steps = new List<object>();
        Add(estimator);
        return steps;

        void Add(object item)
        {
            var type = item.GetType();
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(EstimatorChain<>)
                && type.GetField("_estimators", BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(item) is IEnumerable inner)
            {
                foreach (var step in inner)
                {
                    if (step is not null)
                    {
                        Add(step);
                    }
                }
            }
            else
            {
                steps.Add(item);
            }
        }
    }

    /// <summary>The label column of the chain's last trainer (its public <c>LabelColumn</c>), or <see langword="null"/>.</summary>
    public static string? LabelColumn(object estimator)
    {
        foreach (var step in Steps(estimator).Reverse())
        {
            if (step.GetType().GetField("LabelColumn", BindingFlags.Instance | BindingFlags.Public)?.GetValue(step) is SchemaShape.Column { Name: { Length: > 0 } name })
            {
                return name;
            }
        }

        return null;
    }

    public static IReadOnlyList<KeyValuePair<string, string>> Read(object estimator)
    {
        var steps = Steps(estimator);
        var names = new List<string>();
        var result = new List<KeyValuePair<string, string>>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var step in steps)
        {
            var name = OnnxExport.ShortName(step.GetType()).ToLowerInvariant();
            seen[name] = seen.TryGetValue(name, out var count) ? count + 1 : 1;
            if (seen[name] > 1)
            {
                name += "_" + seen[name].ToString(CultureInfo.InvariantCulture);
            }

            names.Add(name);
            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (key, value) in ReadStep(step))
            {
                if (keys.Add(key))
                {
                    result.Add(new(name + "__" + key, value));
                }
            }
        }

        result.Insert(0, new("pipeline_steps", string.Join(", ", names)));
        result.Insert(1, new("estimator", steps.Count == 0 ? "" : OnnxExport.ShortName(steps[^1].GetType())));
        return result;
    }

    private static IEnumerable<(string Key, string Value)> ReadStep(object step)
    {
        for (var type = step.GetType(); type is not null && type != typeof(object); type = type.BaseType)
        {
            foreach (var field in type.GetFields(InstanceFields))
            {
                var value = field.GetValue(step);
                var key = Snake(field.Name);
                if (value is SchemaShape.Column column)
                {
                    if (!string.IsNullOrEmpty(column.Name))
                    {
                        yield return (key + "_name", column.Name);
                    }
                }
                else if (Scalar(value, field.FieldType) is { } text)
                {
                    yield return (key, text);
                }
                else if (value is Array array && ScalarArray(array) is { } joined)
                {
                    yield return (key, joined);
                }
                else if (value is not null && IsOptions(value.GetType()))
                {
                    foreach (var member in ReadOptions(value))
                    {
                        yield return member;
                    }
                }
                else if (value is Array options && options.Length is > 0 and <= 16)
                {
                    var i = 0;
                    foreach (var item in options)
                    {
                        if (item is not null && IsOptions(item.GetType()))
                        {
                            foreach (var (k, v) in ReadOptions(item))
                            {
                                yield return (string.Create(CultureInfo.InvariantCulture, $"{key}_{i}.{k}"), v);
                            }
                        }

                        i++;
                    }
                }
            }
        }
    }

    private static IEnumerable<(string Key, string Value)> ReadOptions(object options)
    {
        var type = options.GetType();
        foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public))
        {
            if (Scalar(field.GetValue(options), field.FieldType) is { } text)
            {
                yield return (Snake(field.Name), text);
            }
        }

        foreach (var property in type.GetProperties(BindingFlags.Instance | BindingFlags.Public))
        {
            if (property.GetIndexParameters().Length == 0 && property.CanRead && Scalar(property.GetValue(options), property.PropertyType) is { } text)
            {
                yield return (Snake(property.Name), text);
            }
        }
    }

    // ML.NET's options types: public classes in Microsoft.ML namespaces named *Options / *Arguments / *ColumnInfo.
    private static bool IsOptions(Type type) =>
        (type.Namespace?.StartsWith("Microsoft.ML", StringComparison.Ordinal) ?? false)
        && (type.IsPublic || type.IsNestedPublic)
        && (type.Name.EndsWith("Options", StringComparison.Ordinal) || type.Name.EndsWith("OptionsBase", StringComparison.Ordinal) || type.Name.EndsWith("Arguments", StringComparison.Ordinal) || type.Name.EndsWith("ColumnInfo", StringComparison.Ordinal));

    private static string? Scalar(object? value, Type declared)
    {
        var underlying = Nullable.GetUnderlyingType(declared) ?? declared;
        if (value is null)
        {
            return underlying.IsPrimitive || underlying.IsEnum || underlying == typeof(string) || Nullable.GetUnderlyingType(declared) is not null ? "None" : null;
        }

        return value switch
        {
            string s => s,
            bool b => b ? "True" : "False",
            float f => f.ToString("R", CultureInfo.InvariantCulture),
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            Enum e => e.ToString(),
            IFormattable formattable when value.GetType().IsPrimitive || value is decimal => formattable.ToString(null, CultureInfo.InvariantCulture),
            _ => null,
        };
    }

    private static string? ScalarArray(Array array)
    {
        var element = array.GetType().GetElementType()!;
        if (!(element.IsPrimitive || element.IsEnum || element == typeof(string)))
        {
            return null;
        }

        // MLflow params hold at most 6000 characters: long arrays keep their first 50 items and say how many there were.
        var parts = new List<string>();
        foreach (var item in array)
        {
            if (parts.Count == 50)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"... ({array.Length} items)"));
                break;
            }

            var text = Scalar(item, element) ?? "None";
            parts.Add(text.Length > 100 ? text[..100] + "..." : text);
        }

        return string.Join(", ", parts);
    }

    // _numberOfIterations, <Info>k__BackingField, L2Regularization → number_of_iterations, info, l2_regularization.
    internal static string Snake(string name)
    {
        if (name.StartsWith('<'))
        {
            var end = name.IndexOf('>', StringComparison.Ordinal);
            name = end > 1 ? name[1..end] : name;
        }

        name = name.TrimStart('_');
        var builder = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                var previousLowerOrDigit = i > 0 && (char.IsLower(name[i - 1]) || char.IsDigit(name[i - 1]));
                var nextLower = i > 0 && i + 1 < name.Length && char.IsUpper(name[i - 1]) && char.IsLower(name[i + 1]);
                if (builder.Length > 0 && builder[^1] != '_' && (previousLowerOrDigit || nextLower))
                {
                    builder.Append('_');
                }

                builder.Append(char.ToLowerInvariant(c));
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }
}
