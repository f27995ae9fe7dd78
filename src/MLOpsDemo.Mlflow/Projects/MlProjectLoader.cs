using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace MLOpsDemo.Mlflow.Projects;

/// <summary>Finds and parses the MLproject file of a folder (MLflow's <c>_project_spec.load_project</c>).</summary>
internal static class MlProjectLoader
{
    /// <summary>Loads the project in <paramref name="directory"/>.</summary>
    public static async Task<MlProject> LoadAsync(string directory, ProjectSource source, CancellationToken cancellationToken)
    {
        directory = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(directory))
        {
            throw new MlflowProjectException($"The project folder '{directory}' does not exist.");
        }

        // Non-recursive, case-insensitive match on exactly "mlproject", first in listing order.
        var file = System.IO.Directory.EnumerateFiles(directory)
            .FirstOrDefault(f => string.Equals(Path.GetFileName(f), "mlproject", StringComparison.OrdinalIgnoreCase));
        if (file is null)
        {
            return new MlProject { Directory = directory, Environment = EnvironmentFromFiles(directory), Source = source };
        }

        var text = await File.ReadAllTextAsync(file, cancellationToken).ConfigureAwait(false);
        return Parse(text, directory, file, source);
    }

    /// <summary>Parses MLproject text; <paramref name="directory"/> is used to find environment files.</summary>
    public static MlProject Parse(string yaml, string directory, string? file = null, ProjectSource? source = null)
    {
        file ??= Path.Combine(directory, "MLproject");
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new MlflowProjectException($"The MLproject file '{file}' is not valid YAML: {ex.Message}", ex);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" or "~" or "null" })
        {
            throw new MlflowProjectException($"The MLproject file '{file}' is empty. Give it at least a name and an entry point, or delete it to run scripts directly.");
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new MlflowProjectException($"The MLproject file '{file}' must be a YAML mapping (keys such as name, entry_points, python_env).");
        }

        var name = Get(root, "name") is YamlScalarNode nameNode ? PythonText.ScalarToPython(nameNode) : null;
        var entryPoints = new Dictionary<string, ProjectEntryPoint>(StringComparer.Ordinal);
        if (Get(root, "entry_points") is { } entryPointsNode)
        {
            if (entryPointsNode is not YamlMappingNode map)
            {
                throw new MlflowProjectException($"'entry_points' in '{file}' must be a mapping of entry-point names to entry points.");
            }

            foreach (var (keyNode, valueNode) in map.Children)
            {
                var epName = Scalar(keyNode, "entry-point name", file);
                entryPoints[epName] = ParseEntryPoint(epName, valueNode, file);
            }
        }

        return new MlProject
        {
            Directory = directory,
            Name = name,
            ProjectFile = file,
            EntryPoints = entryPoints,
            Environment = ParseEnvironment(root, directory, file),
            Source = source ?? new ProjectSource { SourceName = directory, Uri = directory },
        };
    }

    private static ProjectEntryPoint ParseEntryPoint(string name, YamlNode node, string file)
    {
        if (node is not YamlMappingNode map)
        {
            throw new MlflowProjectException($"Entry point '{name}' in '{file}' must be a mapping with 'command' and optionally 'parameters'.");
        }

        var parameters = new List<ProjectParameter>();
        switch (Get(map, "parameters"))
        {
            case null:
            case YamlScalarNode { Value: null or "" or "~" or "null" }:
                break;
            case YamlMappingNode parametersNode:
                foreach (var (keyNode, valueNode) in parametersNode.Children)
                {
                    parameters.Add(ParseParameter(name, Scalar(keyNode, "parameter name", file), valueNode, file));
                }

                break;
            default:
                throw new MlflowProjectException($"'parameters' of entry point '{name}' in '{file}' must be a mapping of parameter names to types.");
        }

        string? command = null;
        if (Get(map, "command") is { } commandNode)
        {
            command = commandNode is YamlScalarNode c ? PythonText.ScalarToPython(c)
                : throw new MlflowProjectException($"The command of entry point '{name}' in '{file}' must be a string.");
        }

        return new ProjectEntryPoint { Name = name, Parameters = parameters, Command = command };
    }

    private static ProjectParameter ParseParameter(string entryPoint, string name, YamlNode node, string file) => node switch
    {
        // Short form: the string is the type, and there is no default.
        YamlScalarNode s when PythonText.ScalarToPython(s) is { } type => new ProjectParameter { Name = name, Type = type },
        YamlMappingNode m => new ProjectParameter
        {
            Name = name,
            Type = Get(m, "type") is YamlScalarNode t ? PythonText.ScalarToPython(t) ?? "string" : "string",
            Default = Get(m, "default") switch
            {
                null => null,
                YamlScalarNode d => PythonText.ScalarToPython(d),
                _ => throw new MlflowProjectException($"The default of parameter '{name}' of entry point '{entryPoint}' in '{file}' must be a single value, not a list or mapping."),
            },
        },
        _ => throw new MlflowProjectException($"Parameter '{name}' of entry point '{entryPoint}' in '{file}' must be a type name (e.g. float) or a mapping with 'type' and 'default'."),
    };

    private static ProjectEnvironment ParseEnvironment(YamlMappingNode root, string directory, string file)
    {
        var docker = Get(root, "docker_env");
        var python = Get(root, "python_env");
        var conda = Get(root, "conda_env");
        if ((docker is null ? 0 : 1) + (python is null ? 0 : 1) + (conda is null ? 0 : 1) > 1)
        {
            throw new MlflowProjectException($"Project cannot contain multiple environment fields. Keep only one of python_env, conda_env and docker_env in '{file}'.");
        }

        if (docker is not null)
        {
            if (docker is not YamlMappingNode dockerMap || Get(dockerMap, "image") is not YamlScalarNode imageNode || PythonText.ScalarToPython(imageNode) is not { Length: > 0 } image)
            {
                throw new MlflowProjectException($"Project with docker environment must specify the docker image to use via an 'image' field under the 'docker_env' field ('{file}').");
            }

            var volumes = new List<string>();
            if (Get(dockerMap, "volumes") is YamlSequenceNode volumeNodes)
            {
                volumes.AddRange(volumeNodes.Children.Select(v => Scalar(v, "docker_env volume", file)));
            }

            var environment = new List<KeyValuePair<string, string?>>();
            if (Get(dockerMap, "environment") is YamlSequenceNode envNodes)
            {
                foreach (var item in envNodes.Children)
                {
                    environment.Add(item switch
                    {
                        YamlScalarNode s => new(Scalar(s, "docker_env environment variable", file), null),
                        YamlSequenceNode { Children.Count: 2 } pair => new(Scalar(pair.Children[0], "docker_env environment variable", file), Scalar(pair.Children[1], "docker_env environment value", file)),
                        _ => throw new MlflowProjectException($"Items of docker_env.environment in '{file}' must be \"NAME\" or [\"NAME\", \"value\"]."),
                    });
                }
            }

            return new ProjectEnvironment { Type = ProjectEnvironmentType.Docker, DockerImage = image, DockerVolumes = volumes, DockerEnvironment = environment };
        }

        if (python is not null)
        {
            var path = Path.Combine(directory, Scalar(python, "python_env", file));
            return File.Exists(path)
                ? new ProjectEnvironment { Type = ProjectEnvironmentType.Python, ConfigFile = path }
                : throw new MlflowProjectException($"Project specified python_env file {path}, but no such file was found.");
        }

        if (conda is not null)
        {
            var path = Path.Combine(directory, Scalar(conda, "conda_env", file));
            return File.Exists(path)
                ? new ProjectEnvironment { Type = ProjectEnvironmentType.Conda, ConfigFile = path }
                : throw new MlflowProjectException($"Project specified conda environment file {path}, but no such file was found.");
        }

        return EnvironmentFromFiles(directory);
    }

    private static ProjectEnvironment EnvironmentFromFiles(string directory)
    {
        var pythonEnv = Path.Combine(directory, "python_env.yaml");
        if (File.Exists(pythonEnv))
        {
            return new ProjectEnvironment { Type = ProjectEnvironmentType.Python, ConfigFile = pythonEnv };
        }

        var condaEnv = Path.Combine(directory, "conda.yaml");
        return File.Exists(condaEnv)
            ? new ProjectEnvironment { Type = ProjectEnvironmentType.Conda, ConfigFile = condaEnv }
            : new ProjectEnvironment { Type = ProjectEnvironmentType.Python };
    }

    private static YamlNode? Get(YamlMappingNode map, string key)
    {
        foreach (var (k, v) in map.Children)
        {
            if (k is YamlScalarNode s && s.Value == key)
            {
                return v;
            }
        }

        return null;
    }

    private static string Scalar(YamlNode node, string what, string file) =>
        node is YamlScalarNode s && PythonText.ScalarToPython(s) is { } text
            ? text
            : throw new MlflowProjectException($"Expected a text value for the {what} in '{file}' (line {node.Start.Line}).");
}
