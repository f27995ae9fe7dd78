using MLOpsDemo.Mlflow.Projects;

namespace MLOpsDemo.Mlflow.Tests.Projects;

public sealed class ProjectCommandTests : IDisposable
{
    private const string VerifiedProject = """
        name: proj1
        entry_points:
          main:
            parameters:
              alpha: {type: float, default: 0.10}
              flag: {type: string, default: true}
              lr: {type: float, default: 1e-3}
              oct: {type: int, default: 010}
              name: string
              data: {type: path, default: data.csv}
              src: uri
            command: "python train.py --alpha {alpha} --flag {flag} --lr {lr} --oct {oct} --name {name} --data {data} --src {src} {{literal}}"
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("mlproject-render-").FullName;

    public ProjectCommandTests() => File.WriteAllText(Path.Combine(_dir, "data.csv"), "x");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Dictionary<string, string> P(params string[] pairs) => new(ProjectRunOptions.ParseParameters(pairs));

    private RenderedCommand Render(string yaml, string entryPoint, Dictionary<string, string> parameters)
    {
        var project = MlProjectLoader.Parse(yaml, _dir);
        return ProjectCommand.Render(project.GetEntryPoint(entryPoint), parameters, _dir, windows: false);
    }

    [Fact]
    public void Renders_the_verified_example_of_projects_md()
    {
        var rendered = Render(VerifiedProject, "main", P("name=it's me; rm -rf /", "src=s3://bucket/x", "alpha=0.5", "extra_one=a b", "zz=3"));

        Assert.Equal(
            $"python train.py --alpha 0.5 --flag True --lr 1e-3 --oct 8 --name 'it'\"'\"'s me; rm -rf /' --data {_dir}/data.csv --src s3://bucket/x {{literal}} --extra_one 'a b' --zz 3",
            rendered.Command);

        // Params as mlflow run logs them: declared in declaration order, then extras; quoted; path as given.
        Assert.Equal(
            [
                new("alpha", "0.5"), new("flag", "True"), new("lr", "1e-3"), new("oct", "8"), new("name", "'it'\"'\"'s me; rm -rf /'"),
                new("data", "data.csv"), new("src", "s3://bucket/x"), new("extra_one", "'a b'"), new KeyValuePair<string, string>("zz", "3"),
            ],
            rendered.LoggedParameters);
    }

    public static TheoryData<string, string[], string> Cases => new()
    {
        // yaml command (params p: string default "d", n: int default 1), user params, expected
        { "run {p}", [], "run d" },
        { "run {p}", ["p=a b"], "run 'a b'" },
        { "run {p}", ["p="], "run ''" },
        { "run {p}", ["p=say \"hi\""], "run 'say \"hi\"'" },
        { "run {p}", ["p=it's"], "run 'it'\"'\"'s'" },
        { "run {p} {p}", ["p=x"], "run x x" },
        { "run {{p}} {p}", ["p=x"], "run {p} x" },
        { "run }}{{", [], "run }{" },
        { "run {n}", ["n=+7"], "run +7" },
        { "run", ["z=1", "a=2 3"], "run --z 1 --a '2 3'" },
        { "run {p}", ["p=$(id)"], "run '$(id)'" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Renders_quoting_braces_and_extra_parameters(string command, string[] parameters, string expected)
    {
        var yaml = $"entry_points:\n  main:\n    parameters:\n      p: {{type: string, default: d}}\n      n: {{type: int, default: 1}}\n    command: '{command}'\n";
        Assert.Equal(expected, Render(yaml, "main", P(parameters)).Command);
    }

    [Theory]
    [InlineData("train.py", new[] { "x=1 2" }, "python train.py --x '1 2'")]
    [InlineData("my script.py", new string[0], "python 'my script.py'")]
    [InlineData("job.R", new[] { "a=1" }, "Rscript -e \"mlflow::mlflow_source('job.R')\" --args --a 1")]
    public void Scripts_run_directly_and_get_every_parameter_appended(string entryPoint, string[] parameters, string expected) =>
        Assert.Equal(expected, Render("name: x", entryPoint, P(parameters)).Command);

    [Fact]
    public void Shell_scripts_use_SHELL_or_bash()
    {
        var shell = Environment.GetEnvironmentVariable("SHELL") is { Length: > 0 } s ? s : "bash";
        Assert.Equal($"{shell} run.sh --k v", Render("name: x", "run.sh", P("k=v")).Command);
    }

    [Fact]
    public async Task A_folder_without_MLproject_runs_scripts()
    {
        var project = await MlProjectLoader.LoadAsync(_dir, new ProjectSource(), TestContext.Current.CancellationToken);
        Assert.Null(project.ProjectFile);
        Assert.Empty(project.EntryPoints);
        Assert.Equal("python train.py --x '1 2'", ProjectCommand.Render(project.GetEntryPoint("train.py"), P("x=1 2"), _dir, false).Command);
        var ex = Assert.Throws<ArgumentException>(() => project.GetEntryPoint("main"));
        Assert.Contains("Could not find main among entry points [] or interpret main as a runnable script", ex.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string[], string> Errors => new()
    {
        { "entry_points: {main: {parameters: {a: float, b: string, c: {default: 1}}, command: x}}", [], "No value given for missing parameters: 'a', 'b'" },
        { "entry_points: {main: {parameters: {a: {type: float, default: 1}}, command: x}}", ["a=abc"], "has type float, but the value 'abc' is not a number" },
        { "entry_points: {main: {parameters: {a: {type: float, default: x1}}, command: x}}", [], "the default 'x1' is not a number" },
        { "entry_points: {main: {parameters: {a: {type: int, default: 1}}, command: x}}", ["a=1.5"], "has type int, but the value '1.5' is not an integer" },
        { "entry_points: {main: {parameters: {a: {type: int, default: 1}}, command: x}}", ["a=1__0"], "not an integer" },
        { "entry_points: {main: {parameters: {u: uri}, command: x}}", ["u=/local/path"], "Expected URI for parameter u but got /local/path" },
        { "entry_points: {main: {parameters: {d: path}, command: x}}", ["d=missing.csv"], "Got value missing.csv for parameter d, but no such file or directory was found" },
        { "entry_points: {main: {parameters: {d: path}, command: x}}", ["d=s3://b/k"], "does not download path parameters" },
        { "entry_points: {main: {parameters: {a: string}, command: 'x {a} {b}'}}", ["a=1", "b=2"], "uses the placeholder {b}, but 'b' is not a declared parameter" },
        { "entry_points: {main: {command: x}}", [], "Could not find other" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Invalid_parameters_fail_before_anything_runs(string yaml, string[] parameters, string expected)
    {
        var ex = Assert.Throws<ArgumentException>(() => Render(yaml, expected.StartsWith("Could not", StringComparison.Ordinal) ? "other" : "main", P(parameters)));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("x {0}")]
    [InlineData("x {}")]
    [InlineData("x {a:>5}")]
    [InlineData("x } y")]
    [InlineData("x { y")]
    public void Unsupported_format_fields_fail_clearly(string command)
    {
        var yaml = $"entry_points: {{main: {{parameters: {{a: {{default: v}}}}, command: '{command}'}}}}";
        Assert.Throws<MlflowProjectException>(() => Render(yaml, "main", []));
    }

    [Fact]
    public void A_missing_command_fails_clearly()
    {
        var ex = Assert.Throws<MlflowProjectException>(() => Render("entry_points: {main: {parameters: {a: {default: 1}}}}", "main", []));
        Assert.Contains("has no command", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Path_parameters_resolve_against_the_base_directory_and_accept_file_uris()
    {
        const string yaml = "entry_points: {main: {parameters: {d: path}, command: 'x {d}'}}";
        var sub = Directory.CreateDirectory(Path.Combine(_dir, "my dir")).FullName;
        Assert.Equal($"x {_dir}/data.csv", Render(yaml, "main", P("d=./data.csv")).Command);
        Assert.Equal($"x '{sub}'", Render(yaml, "main", P("d=my dir")).Command);
        Assert.Equal($"x {_dir}/data.csv", Render(yaml, "main", P($"d=file://{_dir}/data.csv")).Command);
        Assert.Equal($"x {_dir}/data.csv", Render(yaml, "main", P($"d={_dir}/data.csv")).Command);
    }

    [Theory]
    [InlineData("1e-3", true)]
    [InlineData("-.5", true)]
    [InlineData("inf", true)]
    [InlineData("NaN", true)]
    [InlineData("1_000.5", true)]
    [InlineData(" 2 ", true)]
    [InlineData("1,5", false)]
    [InlineData("0x10", false)]
    [InlineData("", false)]
    [InlineData("--1", false)]
    public void Float_checks_follow_python_float(string value, bool valid) =>
        Assert.Equal(valid, ProjectCommand.IsPythonFloat(value));

    [Fact]
    public void ParseParameters_splits_at_the_first_equals_and_refuses_repeats()
    {
        Assert.Equal("b=c", ProjectRunOptions.ParseParameters(["a=b=c"])["a"]);
        Assert.Contains("Repeated parameter: 'a'", Assert.Throws<ArgumentException>(() => ProjectRunOptions.ParseParameters(["a=1", "a=2"])).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ProjectRunOptions.ParseParameters(["novalue"]));
    }
}
