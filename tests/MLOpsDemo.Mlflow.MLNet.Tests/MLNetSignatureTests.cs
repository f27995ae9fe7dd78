using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLOpsDemo.Mlflow.MLNet.Tests;

public class MLNetSignatureTests
{
    public static TheoryData<string, string, string?> ColumnTypes => new()
    {
        { "Single", "float", null },
        { "Double", "double", null },
        { "SByte", "integer", null },
        { "Byte", "integer", null },
        { "Int16", "integer", null },
        { "UInt16", "integer", null },
        { "Int32", "integer", null },
        { "UInt32", "long", null },
        { "Int64", "long", null },
        { "UInt64", "long", null },
        { "Boolean", "boolean", null },
        { "Text", "string", null },
        { "DateTime", "datetime", null },
        { "DateTimeOffset", "datetime", null },
        { "TimeSpan", "string", null },
        { "Key", "long", null },
        { "RowId", "string", null },
        { "VectorSingle", "array", "float" },
        { "VectorText", "array", "string" },
        { "VectorInt64", "array", "long" },
        { "VectorBoolean", "array", "boolean" },
    };

    [Theory]
    [MemberData(nameof(ColumnTypes))]
    public void Every_ML_NET_column_type_maps_to_an_MLflow_column_type(string column, string type, string? items)
    {
        var spec = MLNetSignature.ToColSpec(Schema()[column]);

        Assert.Equal(column, spec.Name);
        Assert.Equal(type, spec.Type);
        Assert.True(spec.Required);
        if (items is null)
        {
            Assert.Null(spec.Details);
        }
        else
        {
            Assert.Equal(items, spec.Details!["items"].GetProperty("type").GetString());
        }
    }

    [Fact]
    public void The_signature_json_is_what_MLflow_parses()
    {
        var signature = new ModelSignature { Inputs = MLNetSignature.ToColSpecs(Schema(), exclude: ["RowId"]) };

        using var json = JsonDocument.Parse(signature.InputsJson!);
        var entries = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(Schema().Count - 1, entries.Count);
        Assert.DoesNotContain(entries, e => e.GetProperty("name").GetString() == "RowId");
        var vector = entries.Single(e => e.GetProperty("name").GetString() == "VectorSingle");
        Assert.Equal("""{"type": "array", "items": {"type": "float"}, "name": "VectorSingle", "required": true}""", PythonJson(vector));
        var reparsed = ModelSignature.FromJson(signature.InputsJson, null);
        Assert.Equal(signature.Inputs!.Select(s => ((ColSpec)s).Type), reparsed.Inputs!.Select(s => ((ColSpec)s).Type));
    }

    [Fact]
    public void An_unmappable_type_fails_naming_the_column()
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn("Odd", new OddType());

        var ex = Assert.Throws<NotSupportedException>(() => MLNetSignature.ToColSpec(builder.ToSchema()["Odd"]));
        Assert.Contains("'Odd'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_input_example_is_a_split_DataFrame_of_the_first_rows()
    {
        var ml = new MLContext(seed: 1);
        var rows = new[]
        {
            new ExampleRow { Number = 1.5f, Name = "a \"quoted\" name", Flag = true, Vector = [1f, 2f] },
            new ExampleRow { Number = -2f, Name = "b", Flag = false, Vector = [3f, 4f] },
            new ExampleRow { Number = 3f, Name = "c", Flag = true, Vector = [5f, 6f] },
        };
        var data = ml.Data.LoadFromEnumerable(rows);

        var example = MLNetSignature.ToInputExample(data, maxRows: 2);

        Assert.Equal("dataframe", example.Type);
        using var json = JsonDocument.Parse(example.Json);
        Assert.Equal(["Number", "Name", "Flag", "Vector"], json.RootElement.GetProperty("columns").EnumerateArray().Select(c => c.GetString()!));
        var data0 = json.RootElement.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(2, data0.Count);
        Assert.Equal(1.5, data0[0][0].GetDouble());
        Assert.Equal("a \"quoted\" name", data0[0][1].GetString());
        Assert.True(data0[0][2].GetBoolean());
        Assert.Equal([3.0, 4.0], data0[1][3].EnumerateArray().Select(v => v.GetDouble()));
        Assert.StartsWith("{\"columns\": [\"Number\", \"Name\"", example.Json, StringComparison.Ordinal);
    }

    private static string PythonJson(JsonElement element)
    {
        // Re-serialise with json.dumps separators to compare with the text MLflow stores.
        var compact = JsonSerializer.Serialize(element);
        return compact.Replace("\":", "\": ", StringComparison.Ordinal).Replace(",\"", ", \"", StringComparison.Ordinal);
    }

    private static DataViewSchema Schema()
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn("Single", NumberDataViewType.Single);
        builder.AddColumn("Double", NumberDataViewType.Double);
        builder.AddColumn("SByte", NumberDataViewType.SByte);
        builder.AddColumn("Byte", NumberDataViewType.Byte);
        builder.AddColumn("Int16", NumberDataViewType.Int16);
        builder.AddColumn("UInt16", NumberDataViewType.UInt16);
        builder.AddColumn("Int32", NumberDataViewType.Int32);
        builder.AddColumn("UInt32", NumberDataViewType.UInt32);
        builder.AddColumn("Int64", NumberDataViewType.Int64);
        builder.AddColumn("UInt64", NumberDataViewType.UInt64);
        builder.AddColumn("Boolean", BooleanDataViewType.Instance);
        builder.AddColumn("Text", TextDataViewType.Instance);
        builder.AddColumn("DateTime", DateTimeDataViewType.Instance);
        builder.AddColumn("DateTimeOffset", DateTimeOffsetDataViewType.Instance);
        builder.AddColumn("TimeSpan", TimeSpanDataViewType.Instance);
        builder.AddColumn("Key", new KeyDataViewType(typeof(uint), 10));
        builder.AddColumn("RowId", RowIdDataViewType.Instance);
        builder.AddColumn("VectorSingle", new VectorDataViewType(NumberDataViewType.Single, 3));
        builder.AddColumn("VectorText", new VectorDataViewType(TextDataViewType.Instance));
        builder.AddColumn("VectorInt64", new VectorDataViewType(NumberDataViewType.Int64, 2));
        builder.AddColumn("VectorBoolean", new VectorDataViewType(BooleanDataViewType.Instance, 2));
        return builder.ToSchema();
    }

    public sealed class ExampleRow
    {
        public float Number { get; set; }

        public string Name { get; set; } = "";

        public bool Flag { get; set; }

        [VectorType(2)]
        public float[] Vector { get; set; } = [];
    }

    private sealed class OddType : StructuredDataViewType
    {
        public OddType()
            : base(typeof(Guid))
        {
        }

        public override bool Equals(DataViewType? other) => other is OddType;

        public override int GetHashCode() => 1;
    }
}
