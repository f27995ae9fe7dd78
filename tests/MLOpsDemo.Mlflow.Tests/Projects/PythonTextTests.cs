using MLOpsDemo.Mlflow.Projects;

namespace MLOpsDemo.Mlflow.Tests.Projects;

public sealed class PythonTextTests
{
    // PROJECTS.md §3 (verified) plus PyYAML 1.1 edge cases: the default as MLflow puts it in the command.
    [Theory]
    [InlineData("0.10", "0.1")]
    [InlineData("true", "True")]
    [InlineData("True", "True")]
    [InlineData("yes", "True")]
    [InlineData("no", "False")]
    [InlineData("off", "False")]
    [InlineData("On", "True")]
    [InlineData("y", "y")]
    [InlineData("1e-3", "1e-3")]
    [InlineData("1.5e3", "1.5e3")]
    [InlineData("1.0e-3", "0.001")]
    [InlineData("1.0e+3", "1000.0")]
    [InlineData("010", "8")]
    [InlineData("08", "08")]
    [InlineData("0", "0")]
    [InlineData("-0", "0")]
    [InlineData("1_000", "1000")]
    [InlineData("0x1F", "31")]
    [InlineData("0b101", "5")]
    [InlineData("190:20:30", "685230")]
    [InlineData("+12", "12")]
    [InlineData("0.5", "0.5")]
    [InlineData("1.", "1.0")]
    [InlineData(".5", "0.5")]
    [InlineData("3.0", "3.0")]
    [InlineData("1_000.5", "1000.5")]
    [InlineData(".inf", "inf")]
    [InlineData("-.inf", "-inf")]
    [InlineData(".NaN", "nan")]
    [InlineData("12345678901234567.0", "1.2345678901234568e+16")]
    [InlineData("0.00001", "1e-05")]
    [InlineData("0.0001", "0.0001")]
    [InlineData("2001-12-14", "2001-12-14")]
    [InlineData("2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.100000-05:00")]
    [InlineData("2001-12-14 21:59:43Z", "2001-12-14 21:59:43+00:00")]
    [InlineData("data.csv", "data.csv")]
    [InlineData("hello world", "hello world")]
    public void Plain_scalars_follow_yaml_1_1_typing_then_python_str(string yaml, string expected)
    {
        var project = MlProjectLoader.Parse($"entry_points:\n  main:\n    parameters:\n      p: {{type: string, default: {yaml}}}\n    command: x\n", "/tmp");
        Assert.Equal(expected, project.EntryPoints["main"].Parameters[0].Default);
    }

    [Theory]
    [InlineData("\"010\"", "010")]
    [InlineData("'true'", "true")]
    [InlineData("!!str 0.10", "0.10")]
    [InlineData("!!float 1", "1.0")]
    [InlineData("!!int \"010\"", "8")]
    public void Quoted_and_tagged_scalars_are_not_implicitly_typed(string yaml, string expected)
    {
        var project = MlProjectLoader.Parse($"entry_points:\n  main:\n    parameters:\n      p: {{default: {yaml}}}\n    command: x\n", "/tmp");
        Assert.Equal(expected, project.EntryPoints["main"].Parameters[0].Default);
    }

    [Theory]
    [InlineData("null")]
    [InlineData("~")]
    [InlineData("")]
    [InlineData("Null")]
    public void Null_defaults_make_the_parameter_required(string yaml)
    {
        var project = MlProjectLoader.Parse($"entry_points:\n  main:\n    parameters:\n      p:\n        type: float\n        default: {yaml}\n    command: x\n", "/tmp");
        Assert.True(project.EntryPoints["main"].Parameters[0].IsRequired);
    }

    [Theory]
    [InlineData("", "''")]
    [InlineData("abc", "abc")]
    [InlineData("a-b_c.d/e:f,g=h+i@j%k", "a-b_c.d/e:f,g=h+i@j%k")]
    [InlineData("a b", "'a b'")]
    [InlineData("it's me; rm -rf /", "'it'\"'\"'s me; rm -rf /'")]
    [InlineData("$HOME", "'$HOME'")]
    [InlineData("a\"b", "'a\"b'")]
    [InlineData("é", "'é'")]
    [InlineData("*", "'*'")]
    public void ShellQuote_matches_shlex_quote(string value, string expected) =>
        Assert.Equal(expected, PythonText.ShellQuote(value));

    [Theory]
    [InlineData("abc", "abc")]
    [InlineData("", "\"\"")]
    [InlineData("a b", "\"a b\"")]
    [InlineData("a\"b", "\"a\\\"b\"")]
    [InlineData("50%", "\"50^%\"")]
    public void WindowsQuote_wraps_unsafe_values(string value, string expected) =>
        Assert.Equal(expected, PythonText.WindowsQuote(value));

    [Theory]
    [InlineData(0.1, "0.1")]
    [InlineData(1.0, "1.0")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(-2.5e-7, "-2.5e-07")]
    [InlineData(123.456, "123.456")]
    [InlineData(-0.0, "-0.0")]
    public void FloatRepr_matches_python(double value, string expected) =>
        Assert.Equal(expected, PythonText.FloatRepr(value));
}
