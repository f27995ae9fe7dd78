using System.Text.Json;
using System.Text.RegularExpressions;
using MLOpsDemo.Mlflow.Models.Mlmodel;
using MLOpsDemo.Mlflow.Tests.TestSupport;
using YamlDotNet.RepresentationModel;

namespace MLOpsDemo.Mlflow.Tests.Models;

public class MlmodelWriterTests
{
    private static readonly DateTime s_created = new DateTime(2024, 4, 25, 0, 2, 44, DateTimeKind.Utc).AddTicks(1234560);

    /// <summary>The YAML code blocks of MODELS.md that follow a heading containing <paramref name="heading"/>.</summary>
    private static string ReferenceBlock(string heading)
    {
        var path = Path.Combine(GoldenExchange.ReferenceDirectory, "MODELS.md");
        Assert.True(File.Exists(path), $"MODELS.md is missing: expected it at {path} (TestData/mlflow-reference).");
        var text = File.ReadAllText(path);
        var start = text.IndexOf(heading, StringComparison.Ordinal);
        Assert.True(start >= 0, $"heading '{heading}' not found in MODELS.md");
        var match = Regex.Match(text[start..], "```yaml\n(.*?)```", RegexOptions.Singleline);
        return match.Groups[1].Value;
    }

    private static MlflowModel FullOnnxExample() => new()
    {
        ArtifactPath = "model",
        Flavors = new OnnxFlavor
        {
            OnnxVersion = "1.17.0",
            Providers = ["CUDAExecutionProvider", "CPUExecutionProvider"],
        }.ToMlflowFlavors().Select(f => f.Name == "python_function"
            ? new MlflowFlavor(f.Name, new PythonFunctionFlavor("mlflow.onnx", "model.onnx")
            {
                PythonVersion = "3.11.7",
                Env = new Dictionary<string, object?> { ["conda"] = "conda.yaml", ["virtualenv"] = "python_env.yaml" },
            }.ToMlflowFlavor().Config)
            : f).ToDictionary(f => f.Name),
        MlflowVersion = "2.21.3",
        ModelSizeBytes = 1873,
        ModelUuid = "5f0c1e2d3b4a49c8a7f6e5d4c3b2a190",
        RunId = "a1b2c3d4e5f60718293a4b5c6d7e8f90",
        UtcTimeCreated = s_created,
        Signature = new ModelSignature
        {
            Inputs = [new TensorSpec("float32", [-1, 4], "input")],
            Outputs = [new TensorSpec("float32", [-1, 3], "probabilities")],
        },
        AdditionalFields = new Dictionary<string, object?>
        {
            ["is_signature_from_type_hint"] = false,
            ["prompts"] = null,
            ["type_hint_from_example"] = false,
        },
    };

    [Fact]
    public void Writer_reproduces_the_full_onnx_example_of_MODELS_md_byte_for_byte()
    {
        var expected = ReferenceBlock("### Full ONNX `MLmodel`");

        var yaml = FullOnnxExample().ToYaml();

        Assert.Equal(expected, yaml);
    }

    [Fact]
    public void Writer_output_for_the_minimal_example_reads_the_same_as_MODELS_md()
    {
        var reference = ReferenceBlock("### Minimal valid ONNX `MLmodel`");
        var model = new MlflowModel
        {
            ArtifactPath = "model",
            Flavors = new OnnxFlavor { PythonVersion = "3.11.7", IncludeEnv = false }.ToMlflowFlavors().ToDictionary(f => f.Name),
            MlflowVersion = "2.21.3",
            ModelUuid = "5f0c1e2d3b4a49c8a7f6e5d4c3b2a190",
            RunId = "a1b2c3d4e5f60718293a4b5c6d7e8f90",
            UtcTimeCreated = s_created,
            Signature = new ModelSignature
            {
                Inputs = [new TensorSpec("float32", [-1, 4], "input")],
                Outputs = [new TensorSpec("float32", [-1, 3], "probabilities")],
            },
        };

        var written = model.ToYaml();

        // Same keys and values; our flavor additionally carries Python's code/onnx_session_options (both null).
        var ours = Normalize(PyYaml.Read(written));
        var theirs = Normalize(PyYaml.Read(reference));
        var ourOnnx = (Dictionary<string, object?>)((Dictionary<string, object?>)ours["flavors"]!)["onnx"]!;
        Assert.Null(ourOnnx["code"]);
        Assert.Null(ourOnnx["onnx_session_options"]);
        ourOnnx.Remove("code");
        ourOnnx.Remove("onnx_session_options");
        CanonicalSignature(ours);
        CanonicalSignature(theirs);
        Assert.Equal(Json(theirs), Json(ours));
    }

    [Fact]
    public void Written_yaml_read_back_by_YamlDotNet_equals_what_was_written()
    {
        var model = FullOnnxExample() with { ModelId = "m-0123456789abcdef0123456789abcdef", Metadata = new Dictionary<string, object?> { ["team"] = "vision", ["threshold"] = 0.75, ["n"] = 3L } };
        var yaml = model.ToYaml();

        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var root = (YamlMappingNode)stream.Documents[0].RootNode;

        string Scalar(YamlNode node, params string[] path)
        {
            foreach (var key in path)
            {
                node = ((YamlMappingNode)node).Children[new YamlScalarNode(key)];
            }

            return ((YamlScalarNode)node).Value!;
        }

        Assert.Equal("model", Scalar(root, "artifact_path"));
        Assert.Equal("2024-04-25 00:02:44.123456", Scalar(root, "utc_time_created"));
        Assert.Equal("m-0123456789abcdef0123456789abcdef", Scalar(root, "model_id"));
        Assert.Equal("mlflow.onnx", Scalar(root, "flavors", "python_function", "loader_module"));
        Assert.Equal("model.onnx", Scalar(root, "flavors", "onnx", "data"));
        Assert.Equal("vision", Scalar(root, "metadata", "team"));
        Assert.Equal(model.Signature!.InputsJson, Scalar(root, "signature", "inputs"));
        Assert.Equal(model.Signature.OutputsJson, Scalar(root, "signature", "outputs"));
        var providers = (YamlSequenceNode)((YamlMappingNode)((YamlMappingNode)root.Children[new YamlScalarNode("flavors")]).Children[new YamlScalarNode("onnx")]).Children[new YamlScalarNode("providers")];
        Assert.Equal(["CUDAExecutionProvider", "CPUExecutionProvider"], providers.Children.Select(c => ((YamlScalarNode)c).Value));
        Assert.Equal(Json(Normalize(model.ToTree())), Json(Normalize(PyYaml.Read(yaml))));
    }

    [Fact]
    public void Every_field_round_trips_through_write_and_read()
    {
        var model = new MlflowModel
        {
            ArtifactPath = "mlflow-artifacts:/1/models/m-0123456789abcdef0123456789abcdef/artifacts",
            Flavors = new CustomFlavor("mlnet", "model.zip", new Dictionary<string, object?> { ["mlnet_version"] = "4.0.0", ["threads"] = 2L, ["options"] = new Dictionary<string, object?> { ["gpu"] = false } })
            {
                PythonFunction = new PythonFunctionFlavor("my_loader") { Data = "model.zip" },
            }.ToMlflowFlavors().ToDictionary(f => f.Name),
            RunId = "0123456789abcdef0123456789abcdef",
            UtcTimeCreated = s_created,
            ModelUuid = "m-0123456789abcdef0123456789abcdef",
            MlflowVersion = "3.1.0",
            ModelId = "m-0123456789abcdef0123456789abcdef",
            Signature = new ModelSignature
            {
                Inputs =
                [
                    new ColSpec("double", "sepal length (cm)"),
                    new ColSpec("string", "species", Required: false),
                    new ColSpec("array") { Name = "tokens", Details = new Dictionary<string, JsonElement> { ["items"] = JsonDocument.Parse("{\"type\": \"string\"}").RootElement } },
                ],
                Outputs = [new ColSpec("long")],
                Params = [new ParamSpec("temperature", "double", JsonDocument.Parse("0.5").RootElement), new ParamSpec("stop", "string", JsonDocument.Parse("[\"a\"]").RootElement, [-1])],
            },
            SavedInputExampleInfo = new SavedInputExampleInfo { Type = "dataframe", PandasOrient = "split", ServingInputPath = "serving_input_example.json", Params = "true" },
            Metadata = new Dictionary<string, object?> { ["owner"] = "ml-team", ["note"] = "2024-01-01" },
            ModelSizeBytes = 123_456,
            AdditionalFields = new Dictionary<string, object?> { ["env_vars"] = new List<object?> { "API_KEY" }, ["prompts"] = null },
        };

        var back = MlflowModel.Parse(model.ToYaml());

        Assert.Equal(model.ArtifactPath, back.ArtifactPath);
        Assert.Equal(model.RunId, back.RunId);
        Assert.Equal(model.UtcTimeCreated, back.UtcTimeCreated);
        Assert.Equal(DateTimeKind.Utc, back.UtcTimeCreated.Kind);
        Assert.Equal(model.ModelUuid, back.ModelUuid);
        Assert.Equal(model.MlflowVersion, back.MlflowVersion);
        Assert.Equal(model.ModelId, back.ModelId);
        Assert.Equal(model.ModelSizeBytes, back.ModelSizeBytes);
        Assert.Equal(model.SavedInputExampleInfo, back.SavedInputExampleInfo);
        Assert.Equal(Json(Normalize(model.Metadata!)), Json(Normalize(back.Metadata!)));
        Assert.Equal(Json(Normalize(model.AdditionalFields)), Json(Normalize(back.AdditionalFields)));
        Assert.Equal(["mlnet", "python_function"], back.Flavors.Keys.Order());
        Assert.Equal(Json(Normalize(model.Flavors["mlnet"].Config)), Json(Normalize(back.Flavors["mlnet"].Config)));
        Assert.Equal("my_loader", back.Flavors["python_function"].GetString("loader_module"));
        Assert.Equal(model.Signature.InputsJson, back.Signature!.InputsJson);
        Assert.Equal(model.Signature.OutputsJson, back.Signature.OutputsJson);
        Assert.Equal(model.Signature.ParamsJson, back.Signature.ParamsJson);
        Assert.False(((ColSpec)back.Signature.Inputs![1]).Required);
        Assert.Equal(model.ToYaml(), back.ToYaml());
    }

    [Fact]
    public void Signature_json_uses_python_separators_and_mlflow_key_order()
    {
        var signature = new ModelSignature
        {
            Inputs = [new ColSpec("double", "alcohol"), new ColSpec("string", "naïve")],
            Outputs = [new TensorSpec("int64", [-1], "label")],
            Params = [new ParamSpec("temperature", "double", JsonDocument.Parse("0.5").RootElement)],
        };

        Assert.Equal("[{\"type\": \"double\", \"name\": \"alcohol\", \"required\": true}, {\"type\": \"string\", \"name\": \"na\\u00efve\", \"required\": true}]", signature.InputsJson);
        Assert.Equal("[{\"name\": \"label\", \"type\": \"tensor\", \"tensor-spec\": {\"dtype\": \"int64\", \"shape\": [-1]}}]", signature.OutputsJson);
        Assert.Equal("[{\"name\": \"temperature\", \"default\": 0.5, \"shape\": null, \"type\": \"double\"}]", signature.ParamsJson);
    }

    [Fact]
    public void Python_json_escapes_like_json_dumps()
    {
        // json.dumps("a\x7f\u00e9\"\\\n") == '"a\\u007f\\u00e9\\"\\\\\\n"'
        Assert.Equal("\"a\\u007f\\u00e9\\\"\\\\\\n\"", new PythonJson().String("a\x7f\u00e9\"\\\n").ToString());
        Assert.Equal("[1.0, 0.1, 1e+20, NaN, -Infinity, null, true]", new PythonJson().Value(new List<object?> { 1.0, 0.1, 1e20, double.NaN, double.NegativeInfinity, null, true }).ToString());
    }

    [Fact]
    public void Signature_parses_older_key_order_and_positional_columns()
    {
        var signature = ModelSignature.FromJson(
            "[{\"type\": \"tensor\", \"tensor-spec\": {\"dtype\": \"float32\", \"shape\": [-1, 4]}, \"name\": \"input\"}]",
            "[{\"type\": \"long\"}]");

        Assert.Equal(new TensorSpec("float32", [-1, 4], "input"), Assert.Single(signature.Inputs!));
        var output = Assert.IsType<ColSpec>(Assert.Single(signature.Outputs!));
        Assert.Null(output.Name);
        Assert.True(output.Required);
        Assert.Null(signature.Params);
    }

    [Fact]
    public void Signature_that_mixes_columns_and_tensors_is_refused()
    {
        var signature = new ModelSignature { Inputs = [new ColSpec("double", "a"), new TensorSpec("float32", [-1])] };

        Assert.Throws<InvalidOperationException>(() => signature.InputsJson);
    }

    [Theory]
    [InlineData(123456, "2024-04-25 00:02:44.123456")]
    [InlineData(0, "2024-04-25 00:02:44")]
    [InlineData(1, "2024-04-25 00:02:44.000001")]
    public void Utc_time_is_formatted_as_python_str_datetime(int microseconds, string expected)
    {
        var time = new DateTime(2024, 4, 25, 0, 2, 44, DateTimeKind.Utc).AddTicks(microseconds * 10L);

        Assert.Equal(expected, MlflowModel.FormatTime(time));
        Assert.Equal(time, MlflowModel.Parse($"flavors: {{}}\nutc_time_created: '{expected}'\n").UtcTimeCreated);
    }

    [Fact]
    public void Emitter_quotes_and_folds_scalars_as_pyyaml_does()
    {
        // Expected text produced by PyYAML 6.0.3: yaml.safe_dump(cases, default_flow_style=False).
        var cases = new Dictionary<string, object?>
        {
            ["plain"] = "model.onnx", ["ver"] = "1.17.0", ["true_s"] = "true", ["yes_s"] = "yes", ["num"] = "1", ["flt"] = "1.5",
            ["date"] = "2024-04-25", ["ts"] = "2024-04-25 00:02:44.123456", ["empty"] = "", ["colon"] = "a: b",
            ["colon2"] = "mlflow-artifacts:/1/models/m-0123/artifacts", ["hash"] = "a #b", ["lead"] = " x", ["dash"] = "- x", ["dash2"] = "-x",
            ["quote"] = "it's", ["bracket"] = "[1]", ["uni"] = "café", ["null_s"] = "null", ["tilde"] = "~", ["star"] = "*x", ["q"] = "?x", ["pct"] = "%x",
            ["longplain"] = string.Concat(Enumerable.Repeat("word ", 30)) + "end",
            ["longquote"] = "'" + string.Concat(Enumerable.Repeat("abc def ", 20)),
            ["int"] = 5L, ["float"] = 0.5, ["bool"] = false, ["none"] = null, ["bigf"] = 1e20, ["small"] = 1.5e-7,
            ["list"] = new List<object?> { "a", "b" }, ["emptylist"] = new List<object?>(), ["emptymap"] = new Dictionary<string, object?>(),
            ["listofmaps"] = new List<object?>
            {
                new Dictionary<string, object?> { ["path"] = "extra_files/f.txt", ["z"] = 1L },
                new Dictionary<string, object?> { ["a"] = new List<object?> { 1L, 2L }, ["b"] = new Dictionary<string, object?> { ["c"] = null } },
            },
            ["nested"] = new Dictionary<string, object?> { ["k"] = new Dictionary<string, object?> { ["deep"] = "v", ["lst"] = new List<object?> { "x" } } },
            ["listoflist"] = new List<object?> { new List<object?> { 1L, 2L }, new List<object?> { 3L } },
        };
        const string expected = """
            bigf: 1.0e+20
            bool: false
            bracket: '[1]'
            colon: 'a: b'
            colon2: mlflow-artifacts:/1/models/m-0123/artifacts
            dash: '- x'
            dash2: -x
            date: '2024-04-25'
            empty: ''
            emptylist: []
            emptymap: {}
            float: 0.5
            flt: '1.5'
            hash: 'a #b'
            int: 5
            lead: ' x'
            list:
            - a
            - b
            listoflist:
            - - 1
              - 2
            - - 3
            listofmaps:
            - path: extra_files/f.txt
              z: 1
            - a:
              - 1
              - 2
              b:
                c: null
            longplain: word word word word word word word word word word word word word word word
              word word word word word word word word word word word word word word word end
            longquote: '''abc def abc def abc def abc def abc def abc def abc def abc def abc
              def abc def abc def abc def abc def abc def abc def abc def abc def abc def abc
              def abc def '
            nested:
              k:
                deep: v
                lst:
                - x
            none: null
            null_s: 'null'
            num: '1'
            pct: '%x'
            plain: model.onnx
            q: ?x
            quote: it's
            small: 1.5e-07
            star: '*x'
            tilde: '~'
            true_s: 'true'
            ts: '2024-04-25 00:02:44.123456'
            uni: "caf\xE9"
            ver: 1.17.0
            yes_s: 'yes'

            """;

        var yaml = PyYaml.Write(cases);

        Assert.Equal(expected, yaml);
        Assert.Equal(Json(Normalize(cases)), Json(Normalize(PyYaml.Read(yaml))));
    }

    [Fact]
    public void Parse_keeps_unknown_keys_and_accepts_files_without_optional_fields()
    {
        var model = MlflowModel.Parse("""
            flavors:
              python_function:
                loader_module: mlflow.sklearn
            utc_time_created: '2023-01-02 03:04:05.000006'
            databricks_runtime: 15.4.x-cpu-ml-scala2.12
            env_vars:
            - TOKEN
            """);

        Assert.Null(model.ArtifactPath);
        Assert.Null(model.Signature);
        Assert.Null(model.ModelUuid);
        Assert.Equal("15.4.x-cpu-ml-scala2.12", model.AdditionalFields["databricks_runtime"]);
        Assert.Contains("databricks_runtime: 15.4.x-cpu-ml-scala2.12", model.ToYaml(), StringComparison.Ordinal);
        Assert.Null(model.GetOnnxFlavor());
    }

    [Fact]
    public void Parse_rejects_yaml_that_is_not_a_mapping()
    {
        Assert.Throws<FormatException>(() => MlflowModel.Parse("- a\n- b\n"));
        Assert.Throws<FormatException>(() => MlflowModel.Parse("flavors: {\n"));
    }

    [Fact]
    public void Onnx_flavor_reads_back_as_a_typed_object()
    {
        var model = MlflowModel.Parse(FullOnnxExample().ToYaml());

        var onnx = model.GetOnnxFlavor();

        Assert.NotNull(onnx);
        Assert.Equal("model.onnx", onnx.Data);
        Assert.Equal("1.17.0", onnx.OnnxVersion);
        Assert.Equal(["CUDAExecutionProvider", "CPUExecutionProvider"], onnx.Providers);
        Assert.True(onnx.IncludePythonFunction);
        Assert.Equal("3.11.7", onnx.PythonVersion);
        Assert.True(onnx.IncludeEnv);
    }

    [Fact]
    public void History_entry_has_mlflow_key_order_and_no_config_keys()
    {
        var model = new MlflowModel
        {
            ArtifactPath = "model",
            RunId = "r1",
            UtcTimeCreated = s_created,
            ModelUuid = "u1",
            Flavors = new Dictionary<string, MlflowFlavor>
            {
                ["python_function"] = new("python_function", new Dictionary<string, object?> { ["loader_module"] = "mlflow.onnx", ["config"] = new Dictionary<string, object?> { ["x"] = 1L } }),
            },
            Signature = new ModelSignature { Inputs = [new ColSpec("double", "a")] },
        };

        var json = ModelDirectory.HistoryEntryJson(model);

        Assert.Equal("{\"run_id\": \"r1\", \"artifact_path\": \"model\", \"utc_time_created\": \"2024-04-25 00:02:44.123456\", \"model_uuid\": \"u1\", \"flavors\": {\"python_function\": {\"loader_module\": \"mlflow.onnx\"}}}", json);
    }

    /// <summary>Signature strings compare by meaning: key order inside the JSON is free on read.</summary>
    private static void CanonicalSignature(Dictionary<string, object?> tree)
    {
        var sig = (Dictionary<string, object?>)tree["signature"]!;
        var parsed = ModelSignature.FromJson((string?)sig["inputs"], (string?)sig["outputs"], (string?)sig["params"]);
        sig["inputs"] = parsed.InputsJson;
        sig["outputs"] = parsed.OutputsJson;
        sig["params"] = parsed.ParamsJson;
    }

    internal static object? Normalize(object? value) => value switch
    {
        IReadOnlyDictionary<string, object?> map => map.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => Normalize(kv.Value)),
        IReadOnlyList<object?> list => list.Select(Normalize).ToList(),
        int i => (long)i,
        _ => value,
    };

    private static Dictionary<string, object?> Normalize(IReadOnlyDictionary<string, object?> map) => (Dictionary<string, object?>)Normalize((object?)map)!;

    private static string Json(object? value) => new PythonJson().Value(value).ToString();
}
