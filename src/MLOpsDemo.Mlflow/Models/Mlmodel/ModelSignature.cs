using System.Text.Json;
using MLOpsDemo.Mlflow.Models.Mlmodel;

namespace MLOpsDemo.Mlflow;

#pragma warning disable SA1402 // the signature's spec types belong together

/// <summary>
/// A model signature (MODELS.md §3): the input and output schemas, each a list of column specs or of tensor specs,
/// and optional inference params. Stored in <c>MLmodel</c> as JSON strings.
/// </summary>
public sealed record ModelSignature
{
    /// <summary>The input schema (<see cref="ColSpec"/>s or <see cref="TensorSpec"/>s, not mixed).</summary>
    public IReadOnlyList<SchemaSpec>? Inputs { get; init; }

    /// <summary>The output schema, if known.</summary>
    public IReadOnlyList<SchemaSpec>? Outputs { get; init; }

    /// <summary>Inference params, if any.</summary>
    public IReadOnlyList<ParamSpec>? Params { get; init; }

    /// <summary>The inputs as the JSON string MLflow stores (<see langword="null"/> when there are none).</summary>
    public string? InputsJson => SchemaToJson(Inputs);

    /// <summary>The outputs as the JSON string MLflow stores.</summary>
    public string? OutputsJson => SchemaToJson(Outputs);

    /// <summary>The params as the JSON string MLflow stores.</summary>
    public string? ParamsJson => Params is null ? null : new PythonJson().Value(Params.Select(p => (object?)p.ToTree()).ToList()).ToString();

    /// <summary>Parses the signature's JSON strings as found in <c>MLmodel</c>.</summary>
    /// <param name="inputsJson">The <c>inputs</c> string.</param>
    /// <param name="outputsJson">The <c>outputs</c> string.</param>
    /// <param name="paramsJson">The <c>params</c> string.</param>
    /// <returns>The signature.</returns>
    /// <exception cref="FormatException">When a string is not a valid schema.</exception>
    public static ModelSignature FromJson(string? inputsJson, string? outputsJson, string? paramsJson = null) => new()
    {
        Inputs = ParseSchema(inputsJson),
        Outputs = ParseSchema(outputsJson),
        Params = ParseParams(paramsJson),
    };

    private static string? SchemaToJson(IReadOnlyList<SchemaSpec>? specs)
    {
        if (specs is null)
        {
            return null;
        }

        if (specs.OfType<ColSpec>().Any() && specs.OfType<TensorSpec>().Any())
        {
            throw new InvalidOperationException("A schema holds either column specs or tensor specs, not both.");
        }

        return new PythonJson().Value(specs.Select(s => (object?)s.ToTree()).ToList()).ToString();
    }

    private static List<SchemaSpec>? ParseSchema(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            var result = new List<SchemaSpec>();
            foreach (var item in document.RootElement.EnumerateArray())
            {
                var type = item.TryGetProperty("type", out var t) ? t.GetString() : null;
                var name = item.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
                if (type == "tensor")
                {
                    var spec = item.GetProperty("tensor-spec");
                    result.Add(new TensorSpec(spec.GetProperty("dtype").GetString() ?? "", spec.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToList(), name));
                }
                else
                {
                    var extra = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
                    foreach (var property in item.EnumerateObject())
                    {
                        if (property.Name is not ("type" or "name" or "required"))
                        {
                            extra[property.Name] = property.Value.Clone();
                        }
                    }

                    var required = !item.TryGetProperty("required", out var r) || r.ValueKind != JsonValueKind.False;
                    result.Add(new ColSpec(type ?? "", name, required) { Details = extra.Count == 0 ? null : extra });
                }
            }

            return result;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw new FormatException($"The signature schema is not valid MLflow schema JSON: {ex.Message}", ex);
        }
    }

    private static List<ParamSpec>? ParseParams(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.EnumerateArray().Select(item => new ParamSpec(
                item.GetProperty("name").GetString() ?? "",
                item.GetProperty("type").GetString() ?? "",
                item.TryGetProperty("default", out var d) ? d.Clone() : default,
                item.TryGetProperty("shape", out var s) && s.ValueKind == JsonValueKind.Array ? s.EnumerateArray().Select(e => e.GetInt64()).ToList() : null)).ToList();
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            throw new FormatException($"The signature params are not valid MLflow params JSON: {ex.Message}", ex);
        }
    }
}

/// <summary>One entry of a schema: a <see cref="ColSpec"/> or a <see cref="TensorSpec"/>.</summary>
public abstract record SchemaSpec
{
    /// <summary>The name, or <see langword="null"/> for positional entries.</summary>
    public abstract string? Name { get; init; }

    internal abstract IReadOnlyList<(string Key, object? Value)> ToTreeMembers();

    internal IReadOnlyDictionary<string, object?> ToTree() => new OrderedTree(ToTreeMembers());
}

/// <summary>A column spec, e.g. <c>{"type": "double", "name": "alcohol", "required": true}</c>.</summary>
/// <param name="Type">The type: <c>boolean</c>, <c>integer</c>, <c>long</c>, <c>float</c>, <c>double</c>, <c>string</c>, <c>binary</c>, <c>datetime</c>, or <c>array</c>/<c>object</c>/<c>map</c>/<c>any</c>.</param>
/// <param name="Name">The column name, or <see langword="null"/> for positional columns.</param>
/// <param name="Required">Whether the column is required.</param>
public sealed record ColSpec(string Type, string? Name = null, bool Required = true) : SchemaSpec
{
    /// <summary>The column name.</summary>
    public override string? Name { get; init; } = Name;

    /// <summary>Extra members of nested types (<c>items</c>, <c>properties</c>, <c>values</c>), as JSON.</summary>
    public IReadOnlyDictionary<string, JsonElement>? Details { get; init; }

    internal override IReadOnlyList<(string Key, object? Value)> ToTreeMembers()
    {
        var members = new List<(string, object?)> { ("type", Type) };
        if (Details is not null)
        {
            members.AddRange(Details.Select(d => (d.Key, (object?)d.Value)));
        }

        if (Name is not null)
        {
            members.Add(("name", Name));
        }

        members.Add(("required", Required));
        return members;
    }
}

/// <summary>A tensor spec, e.g. <c>{"name": "input", "type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}</c>.</summary>
/// <param name="Dtype">A numpy dtype name: <c>float32</c>, <c>float64</c>, <c>int64</c>, <c>int32</c>, <c>bool</c>, <c>str</c>…</param>
/// <param name="Shape">The shape; -1 marks a variable dimension.</param>
/// <param name="Name">The tensor name (for ONNX: the graph input/output name).</param>
public sealed record TensorSpec(string Dtype, IReadOnlyList<long> Shape, string? Name = null) : SchemaSpec
{
    /// <summary>The tensor name.</summary>
    public override string? Name { get; init; } = Name;

    /// <summary>Value equality including the shape's elements.</summary>
    /// <param name="other">The other spec.</param>
    /// <returns>Whether both are equal.</returns>
    public bool Equals(TensorSpec? other) =>
        other is not null && Dtype == other.Dtype && Name == other.Name && Shape.SequenceEqual(other.Shape);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Dtype, Name, Shape.Count);

    internal override IReadOnlyList<(string Key, object? Value)> ToTreeMembers()
    {
        var members = new List<(string, object?)>();
        if (Name is not null)
        {
            members.Add(("name", Name));
        }

        members.Add(("type", "tensor"));
        members.Add(("tensor-spec", new OrderedTree([("dtype", Dtype), ("shape", Shape.Select(s => (object?)s).ToList())])));
        return members;
    }
}

/// <summary>An inference param spec, e.g. <c>{"name": "temperature", "default": 0.5, "shape": null, "type": "double"}</c>.</summary>
/// <param name="Name">The param name.</param>
/// <param name="Type">The type (as for <see cref="ColSpec.Type"/>).</param>
/// <param name="Default">The default value as JSON.</param>
/// <param name="Shape"><see langword="null"/> for a scalar, <c>[-1]</c> for a list.</param>
public sealed record ParamSpec(string Name, string Type, JsonElement Default, IReadOnlyList<long>? Shape = null)
{
    internal IReadOnlyDictionary<string, object?> ToTree() =>
        new OrderedTree([("name", Name), ("default", Default.ValueKind == JsonValueKind.Undefined ? null : Default), ("shape", Shape?.Select(s => (object?)s).ToList()), ("type", Type)]);
}
