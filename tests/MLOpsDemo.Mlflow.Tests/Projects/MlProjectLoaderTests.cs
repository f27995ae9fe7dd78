using MLOpsDemo.Mlflow.Projects;

namespace MLOpsDemo.Mlflow.Tests.Projects;

public sealed class MlProjectLoaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mlproject-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Parses_name_entry_points_parameters_in_order_and_both_parameter_forms()
    {
        var project = MlProjectLoader.Parse("""
            name: demo
            unknown_key: ignored
            entry_points:
              main:
                parameters:
                  alpha: {type: float, default: 0.5}
                  data_file: path
                  name: {default: x}
                command: "python train.py --alpha {alpha} --data {data_file}"
              other:
                command: echo hi
            """, _dir);

        Assert.Equal("demo", project.Name);
        Assert.Equal(["main", "other"], project.EntryPoints.Keys);
        var main = project.EntryPoints["main"];
        Assert.Equal(["alpha", "data_file", "name"], main.Parameters.Select(p => p.Name));
        Assert.Equal(("float", "0.5"), (main.Parameters[0].Type, main.Parameters[0].Default));
        Assert.Equal("path", main.Parameters[1].Type);
        Assert.True(main.Parameters[1].IsRequired);
        Assert.Equal(("string", "x"), (main.Parameters[2].Type, main.Parameters[2].Default));
        Assert.Equal("python train.py --alpha {alpha} --data {data_file}", main.Command);
        Assert.Empty(project.EntryPoints["other"].Parameters);
        Assert.Equal(ProjectEnvironmentType.Python, project.Environment.Type);
        Assert.Null(project.Environment.ConfigFile);
    }

    [Fact]
    public void Zero_and_empty_string_defaults_count_as_present()
    {
        var project = MlProjectLoader.Parse("entry_points:\n  main:\n    parameters:\n      a: {type: int, default: 0}\n      b: {default: \"\"}\n    command: x\n", _dir);
        Assert.All(project.EntryPoints["main"].Parameters, p => Assert.False(p.IsRequired));
        Assert.Equal("", project.EntryPoints["main"].Parameters[1].Default);
    }

    [Fact]
    public void Docker_env_with_volumes_and_environment()
    {
        var project = MlProjectLoader.Parse("""
            name: d
            docker_env:
              image: python:3.11
              volumes: ["/data:/data"]
              environment: [["NEW_VAR", "v"], "COPIED"]
            entry_points: {main: {command: x}}
            """, _dir);
        var env = project.Environment;
        Assert.Equal(ProjectEnvironmentType.Docker, env.Type);
        Assert.Equal("python:3.11", env.DockerImage);
        Assert.Equal(["/data:/data"], env.DockerVolumes);
        Assert.Equal([new("NEW_VAR", "v"), new KeyValuePair<string, string?>("COPIED", null)], env.DockerEnvironment);
    }

    [Theory]
    [InlineData("docker_env: {volumes: []}", "must specify the docker image")]
    [InlineData("python_env: missing.yaml", "python_env file")]
    [InlineData("conda_env: missing.yaml", "conda environment file")]
    [InlineData("python_env: a.yaml\nconda_env: b.yaml", "multiple environment fields")]
    [InlineData("entry_points: [a, b]", "must be a mapping")]
    [InlineData("entry_points: {main: {parameters: {p: [1]}, command: x}}", "type name")]
    [InlineData("name: [unclosed", "not valid YAML")]
    [InlineData("", "is empty")]
    [InlineData("just text", "must be a YAML mapping")]
    public void Invalid_files_fail_with_a_clear_message(string yaml, string expected)
    {
        var ex = Assert.Throws<MlflowProjectException>(() => MlProjectLoader.Parse(yaml, _dir));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Environment_files_are_found_in_the_declared_order()
    {
        File.WriteAllText(Path.Combine(_dir, "conda.yaml"), "name: x");
        var project = await MlProjectLoader.LoadAsync(_dir, new ProjectSource(), TestContext.Current.CancellationToken);
        Assert.Equal(ProjectEnvironmentType.Conda, project.Environment.Type);

        File.WriteAllText(Path.Combine(_dir, "python_env.yaml"), "python: '3.11'");
        project = await MlProjectLoader.LoadAsync(_dir, new ProjectSource(), TestContext.Current.CancellationToken);
        Assert.Equal((ProjectEnvironmentType.Python, Path.Combine(_dir, "python_env.yaml")), (project.Environment.Type, project.Environment.ConfigFile));

        File.WriteAllText(Path.Combine(_dir, "MLproject"), "conda_env: conda.yaml\nentry_points: {main: {command: x}}");
        project = await MlProjectLoader.LoadAsync(_dir, new ProjectSource(), TestContext.Current.CancellationToken);
        Assert.Equal((ProjectEnvironmentType.Conda, Path.Combine(_dir, "conda.yaml")), (project.Environment.Type, project.Environment.ConfigFile));
    }

    [Theory]
    [InlineData("MLproject", true)]
    [InlineData("mlproject", true)]
    [InlineData("MLProject", true)]
    [InlineData("MLproject.yaml", false)]
    public async Task The_project_file_name_is_matched_case_insensitively_and_exactly(string fileName, bool found)
    {
        File.WriteAllText(Path.Combine(_dir, fileName), "name: n\nentry_points: {main: {command: x}}");
        var project = await MlProjectLoader.LoadAsync(_dir, new ProjectSource(), TestContext.Current.CancellationToken);
        Assert.Equal(found ? "n" : null, project.Name);
        Assert.Equal(found, project.EntryPoints.ContainsKey("main"));
    }

    [Fact]
    public async Task A_subfolder_MLproject_is_not_found()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "sub"));
        File.WriteAllText(Path.Combine(_dir, "sub", "MLproject"), "name: n");
        var project = await MlProjectLoader.LoadAsync(_dir, new ProjectSource(), TestContext.Current.CancellationToken);
        Assert.Null(project.ProjectFile);
    }
}
