using System.Globalization;
using System.Numerics;
using System.Text;

namespace MLOpsDemo.Mlflow.Projects;

/// <summary>A rendered entry-point command and the params <c>mlflow run</c> logs for it.</summary>
/// <param name="Command">The command line.</param>
/// <param name="LoggedParameters">Declared (in order) then extra parameters, quoted, with path values as given.</param>
internal sealed record RenderedCommand(string Command, IReadOnlyList<KeyValuePair<string, string>> LoggedParameters);

/// <summary>MLflow's <c>EntryPoint.compute_parameters</c>/<c>compute_command</c>, plus number checks.</summary>
internal static class ProjectCommand
{
    public static ProjectEntryPoint ScriptEntryPoint(MlProject project, string name)
    {
        var quoted = OperatingSystem.IsWindows() ? PythonText.WindowsQuote(name) : PythonText.ShellQuote(name);
        var extension = Path.GetExtension(name);
        string? command = extension switch
        {
            ".py" => "python " + quoted,
            ".sh" => (Environment.GetEnvironmentVariable("SHELL") is { Length: > 0 } shell ? shell : "bash") + " " + quoted,
            ".R" => $"Rscript -e \"mlflow::mlflow_source('{name}')\" --args",
            _ => null,
        };
        return command is null
            ? throw new ArgumentException(
                $"Could not find {name} among entry points {PythonText.ListRepr(project.EntryPoints.Keys)} or interpret {name} as a runnable script. Supported script file extensions: ['.py', '.sh']",
                nameof(name))
            : new ProjectEntryPoint { Name = name, Command = command, IsScript = true };
    }

    /// <summary>
    /// Validates <paramref name="parameters"/> and renders the command. <paramref name="baseDirectory"/> resolves
    /// relative <c>path</c> values (MLflow uses the process's current directory).
    /// </summary>
    public static RenderedCommand Render(ProjectEntryPoint entryPoint, IReadOnlyDictionary<string, string> parameters, string baseDirectory, bool windows)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Func<string, string> quote = windows ? PythonText.WindowsQuote : PythonText.ShellQuote;
        var missing = entryPoint.Parameters.Where(p => p.IsRequired && !parameters.ContainsKey(p.Name)).Select(p => $"'{p.Name}'").ToList();
        if (missing.Count > 0)
        {
            throw new ArgumentException(
                $"No value given for missing parameters: {string.Join(", ", missing)}. Pass them as -P name=value (ProjectRunOptions.Parameters) for entry point '{entryPoint.Name}'.",
                nameof(parameters));
        }

        var declared = new Dictionary<string, string>(StringComparer.Ordinal);
        var logged = new List<KeyValuePair<string, string>>();
        foreach (var parameter in entryPoint.Parameters)
        {
            var given = parameters.TryGetValue(parameter.Name, out var userValue);
            var value = given ? userValue ?? "" : parameter.Default!;
            CheckType(entryPoint, parameter, value, given);
            var resolved = parameter.Type switch
            {
                "path" => ResolvePath(parameter, value, baseDirectory),
                _ => value,
            };
            declared[parameter.Name] = quote(resolved);
            logged.Add(new(parameter.Name, quote(value)));
        }

        var extras = new List<KeyValuePair<string, string>>();
        foreach (var (key, value) in parameters)
        {
            if (!declared.ContainsKey(key))
            {
                extras.Add(new(key, quote(value ?? "")));
            }
        }

        logged.AddRange(extras);
        if (entryPoint.Command is null)
        {
            throw new MlflowProjectException($"Entry point '{entryPoint.Name}' has no command. Add 'command: \"...\"' under entry_points.{entryPoint.Name} in the MLproject file.");
        }

        var command = new StringBuilder(entryPoint.IsScript ? entryPoint.Command : Format(entryPoint, declared));
        foreach (var (key, value) in extras)
        {
            command.Append(" --").Append(key).Append(' ').Append(value);
        }

        return new RenderedCommand(command.ToString(), logged);
    }

    /// <summary>Python <c>str.format(**values)</c> restricted to <c>{name}</c> fields, <c>{{</c> and <c>}}</c>.</summary>
    internal static string Format(ProjectEntryPoint entryPoint, IReadOnlyDictionary<string, string> values)
    {
        var template = entryPoint.Command!;
        var text = new StringBuilder(template.Length);
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if (c == '{')
            {
                if (i + 1 < template.Length && template[i + 1] == '{')
                {
                    text.Append('{');
                    i++;
                    continue;
                }

                var end = template.IndexOf('}', i + 1);
                if (end < 0)
                {
                    throw new MlflowProjectException($"The command of entry point '{entryPoint.Name}' has a '{{' without a closing '}}'. Write '{{{{' for a literal brace.");
                }

                var field = template[(i + 1)..end];
                if (field.Length == 0 || field.IndexOfAny(['!', ':', '.', '[', '{']) >= 0 || char.IsAsciiDigit(field[0]))
                {
                    throw new MlflowProjectException($"The command of entry point '{entryPoint.Name}' has the placeholder '{{{field}}}'; only {{parameter_name}} placeholders are supported. Write '{{{{' and '}}}}' for literal braces.");
                }

                if (!values.TryGetValue(field, out var value))
                {
                    throw new ArgumentException(
                        $"The command of entry point '{entryPoint.Name}' uses the placeholder {{{field}}}, but '{field}' is not a declared parameter of that entry point. Declare it under entry_points.{entryPoint.Name}.parameters in the MLproject file (passing it with -P is not enough), or write {{{{{field}}}}} for literal braces.");
                }

                text.Append(value);
                i = end;
            }
            else if (c == '}')
            {
                if (i + 1 < template.Length && template[i + 1] == '}')
                {
                    text.Append('}');
                    i++;
                    continue;
                }

                throw new MlflowProjectException($"Single '}}' encountered in the command of entry point '{entryPoint.Name}'. Write '}}}}' for a literal brace.");
            }
            else
            {
                text.Append(c);
            }
        }

        return text.ToString();
    }

    private static void CheckType(ProjectEntryPoint entryPoint, ProjectParameter parameter, string value, bool given)
    {
        var origin = given ? "the value" : "the default";
        switch (parameter.Type)
        {
            case "float" when !IsPythonFloat(value):
                throw new ArgumentException(
                    $"Parameter '{parameter.Name}' of entry point '{entryPoint.Name}' has type float, but {origin} '{value}' is not a number. Use a value such as 0.5, 1e-3 or 10.");
            case "int" when !IsPythonInt(value):
                throw new ArgumentException(
                    $"Parameter '{parameter.Name}' of entry point '{entryPoint.Name}' has type int, but {origin} '{value}' is not an integer. Use a whole number such as 10.");
            case "uri" when !PythonText.HasUriScheme(value):
                throw new ArgumentException($"Expected URI for parameter {parameter.Name} but got {value}. Give a URI with a scheme (s3://…, file:///…, https://…) or declare the parameter as 'path'.");
            default:
                break;
        }
    }

    private static string ResolvePath(ProjectParameter parameter, string value, string baseDirectory)
    {
        var local = value;
        if (!Path.IsPathRooted(value) && PythonText.HasUriScheme(value))
        {
            if (value.StartsWith("file://", StringComparison.OrdinalIgnoreCase) && Uri.TryCreate(value, UriKind.Absolute, out var uri) && string.IsNullOrEmpty(uri.Host))
            {
                local = uri.LocalPath;
            }
            else
            {
                throw new ArgumentException(
                    $"Parameter '{parameter.Name}' is a path, and '{value}' is a remote URI. This client does not download path parameters; download the file and pass its local path, or declare the parameter as 'uri' to pass the URI through.");
            }
        }

        var full = Path.GetFullPath(local, baseDirectory);
        return File.Exists(full) || Directory.Exists(full)
            ? full
            : throw new ArgumentException($"Got value {value} for parameter {parameter.Name}, but no such file or directory was found (looked for '{full}').");
    }

    /// <summary>Whether Python's <c>float()</c> accepts the text.</summary>
    internal static bool IsPythonFloat(string value)
    {
        var text = StripUnderscores(value.Trim());
        if (text is null)
        {
            return false;
        }

        var unsigned = text.TrimStart('+', '-');
        if (text.Length - unsigned.Length > 1)
        {
            return false;
        }

        if (unsigned.ToUpperInvariant() is "INF" or "INFINITY" or "NAN")
        {
            return true;
        }

        return unsigned.Length > 0 && (char.IsAsciiDigit(unsigned[0]) || unsigned[0] == '.')
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
    }

    /// <summary>Whether Python's <c>int()</c> accepts the text.</summary>
    internal static bool IsPythonInt(string value)
    {
        var text = StripUnderscores(value.Trim());
        return text is not null && BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);
    }

    // Python allows single underscores between digits only.
    private static string? StripUnderscores(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '_' && (i == 0 || i == text.Length - 1 || !char.IsAsciiDigit(text[i - 1]) || !char.IsAsciiDigit(text[i + 1])))
            {
                return null;
            }
        }

        return text.Replace("_", "", StringComparison.Ordinal);
    }
}
