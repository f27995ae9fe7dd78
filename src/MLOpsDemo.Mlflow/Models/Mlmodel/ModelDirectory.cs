using System.Text.Json;
using MLOpsDemo.Mlflow.Models.Mlmodel;

namespace MLOpsDemo.Mlflow.Models.Mlmodel;

/// <summary>Writes an MLflow model directory: the model files, the input example and <c>MLmodel</c>.</summary>
internal static class ModelDirectory
{
    public static void ValidateOptions(LogModelOptions options, string paramName)
    {
        ArgumentNullException.ThrowIfNull(options, paramName);
        if (options.Flavor is null)
        {
            throw new ArgumentException("LogModelOptions.Flavor is required, e.g. new OnnxFlavor().", paramName);
        }

        var path = options.ArtifactPath;
        if (string.IsNullOrWhiteSpace(path) || path.StartsWith('/') || path.Contains('\\', StringComparison.Ordinal) || path.Split('/').Any(s => s is "" or "." or ".."))
        {
            throw new ArgumentException($"LogModelOptions.ArtifactPath '{path}' must be a relative path such as 'model' (no leading '/', no '.', '..' or empty segments).", paramName);
        }

        if (options.ModelFile is not null && !File.Exists(options.ModelFile))
        {
            throw new ArgumentException($"The model file '{options.ModelFile}' does not exist.", paramName);
        }

        if (options.ModelFile is null && options.Flavor.DataPath is not null)
        {
            throw new ArgumentException($"The flavor expects a model file '{options.Flavor.DataPath}'; set LogModelOptions.ModelFile.", paramName);
        }

        foreach (var file in options.AdditionalFiles ?? [])
        {
            if (!File.Exists(file))
            {
                throw new ArgumentException($"The additional file '{file}' does not exist.", paramName);
            }
        }

        if (options.InputExample is { } example)
        {
            try
            {
                using var _ = JsonDocument.Parse(example.Json);
            }
            catch (JsonException ex)
            {
                throw new ArgumentException($"LogModelOptions.InputExample.Json is not valid JSON: {ex.Message}", paramName, ex);
            }
        }

        _ = options.Flavor.ToMlflowFlavors();
    }

    /// <summary>Writes the directory and returns the <c>MLmodel</c> written into it.</summary>
    public static async Task<MlflowModel> WriteAsync(string directory, LogModelOptions options, MlflowModel header, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        if (options.ModelFile is not null)
        {
            var target = Path.Combine(directory, options.Flavor.DataPath ?? Path.GetFileName(options.ModelFile));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            await CopyAsync(options.ModelFile, target, cancellationToken).ConfigureAwait(false);
        }

        var copied = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in options.AdditionalFiles ?? [])
        {
            var name = Path.GetFileName(file);
            copied.Add(name);
            await CopyAsync(file, Path.Combine(directory, name), cancellationToken).ConfigureAwait(false);
        }

        // The environment files the python_function entry names, as Python's save_model writes them; a file of the same
        // name among AdditionalFiles is the caller's own and wins.
        foreach (var (name, text) in options.Flavor.PythonEnvironment?.Files(options.MlflowVersion) ?? [])
        {
            if (!copied.Contains(name))
            {
                await File.WriteAllTextAsync(Path.Combine(directory, name), text, cancellationToken).ConfigureAwait(false);
            }
        }

        SavedInputExampleInfo? exampleInfo = null;
        if (options.InputExample is { } example)
        {
            var isFrame = example.Type == "dataframe";
            var serving = example.ServingInputJson ?? (isFrame ? $"{{\"dataframe_split\": {example.Json}}}" : $"{{\"inputs\": {example.Json}}}");
            await File.WriteAllTextAsync(Path.Combine(directory, "input_example.json"), example.Json, cancellationToken).ConfigureAwait(false);
            await File.WriteAllTextAsync(Path.Combine(directory, "serving_input_example.json"), serving, cancellationToken).ConfigureAwait(false);
            exampleInfo = new SavedInputExampleInfo
            {
                Type = example.Type,
                ServingInputPath = "serving_input_example.json",
                PandasOrient = example.PandasOrient ?? (isFrame ? "split" : null),
            };
        }

        var size = new DirectoryInfo(directory).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        var model = header with
        {
            Flavors = options.Flavor.ToMlflowFlavors().ToDictionary(f => f.Name, f => f, StringComparer.Ordinal),
            Signature = options.Signature,
            SavedInputExampleInfo = exampleInfo,
            Metadata = options.Metadata,
            MlflowVersion = options.MlflowVersion,
            ModelSizeBytes = size,
        };
        await model.SaveAsync(directory, cancellationToken).ConfigureAwait(false);
        return model;
    }

    /// <summary>The entry MLflow 2.x appends to the run's <c>mlflow.log-model.history</c> tag (MODELS.md §6).</summary>
    public static string HistoryEntryJson(MlflowModel model)
    {
        var members = new List<(string, object?)>();
        if (model.RunId is not null)
        {
            members.Add(("run_id", model.RunId));
        }

        if (model.ArtifactPath is not null)
        {
            members.Add(("artifact_path", model.ArtifactPath));
        }

        members.Add(("utc_time_created", MlflowModel.FormatTime(model.UtcTimeCreated)));
        members.Add(("model_uuid", model.ModelUuid));
        var flavors = model.Flavors.OrderBy(f => f.Key, StringComparer.Ordinal)
            .Select(f => (f.Key, (object?)new OrderedTree(f.Value.Config.Where(c => c.Key != "config").OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => (c.Key, c.Value)))));
        members.Add(("flavors", new OrderedTree(flavors)));
        return new PythonJson().Object(members).ToString();
    }

    private static async Task CopyAsync(string source, string target, CancellationToken cancellationToken)
    {
        var input = File.OpenRead(source);
        await using (input.ConfigureAwait(false))
        {
            var output = File.Create(target);
            await using (output.ConfigureAwait(false))
            {
                await input.CopyToAsync(output, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
