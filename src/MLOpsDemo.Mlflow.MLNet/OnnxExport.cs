using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLOpsDemo.Mlflow.MLNet;

/// <summary>ONNX export of a fitted ML.NET model, and finding the transform that blocks it.</summary>
internal static class OnnxExport
{
    /// <summary>The transformers of a model, nested chains flattened, in order.</summary>
    public static IReadOnlyList<ITransformer> Flatten(ITransformer model)
    {
        var result = new List<ITransformer>();
        Add(model);
        return result;

        void Add(ITransformer transformer)
        {
            if (transformer is IEnumerable<ITransformer> chain)
            {
                foreach (var inner in chain)
                {
                    Add(inner);
                }
            }
            else
            {
                result.Add(transformer);
            }
        }
    }

    /// <summary>A readable name: the type name without its generic arity, plus the predictor for prediction transformers.</summary>
    public static string Describe(object component)
    {
        var name = ShortName(component.GetType());
        return component is IPredictionTransformer<object> prediction ? $"{name} ({ShortName(prediction.Model.GetType())})" : name;
    }

    public static string ShortName(Type type)
    {
        var name = type.Name;
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        return tick < 0 ? name : name[..tick];
    }

    /// <summary>
    /// Writes the ONNX export to <paramref name="file"/>, or returns the transform that prevents it. ML.NET's converter
    /// only says that some step "cannot save itself as ONNX" (or fails on a missing column), so when the whole chain
    /// fails, growing prefixes of the chain are converted: the last step of the first prefix that fails is the blocker.
    /// </summary>
    public static string? TryExport(MLContext mlContext, ITransformer model, IDataView inputData, string file, out string? error)
    {
        error = null;
        var transformers = Flatten(model);
        if (Convert(mlContext, model, inputData, file) is not { } failure)
        {
            return null;
        }

        for (var count = 1; count <= transformers.Count; count++)
        {
            using var prefix = new TransformerChain<ITransformer>(transformers.Take(count).ToArray());
            var probe = file + ".probe";
            var prefixFailure = Convert(mlContext, prefix, inputData, probe);
            TryDelete(probe);
            if (prefixFailure is not null)
            {
                error = $"converting {Describe(transformers[count - 1])} failed: {prefixFailure.Message}";
                TryDelete(file);
                return Describe(transformers[count - 1]);
            }
        }

        error = $"the ONNX converter failed: {failure.Message}";
        TryDelete(file);
        return Describe(transformers[^1]);
    }

#pragma warning disable CA1031 // ML.NET's converter fails with many exception types (KeyNotFoundException, InvalidOperationException…); any of them means "not convertible".
    private static Exception? Convert(MLContext mlContext, ITransformer model, IDataView inputData, string file)
    {
        try
        {
            using var stream = File.Create(file);
            mlContext.Model.ConvertToOnnx(model, inputData, stream);
            return null;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return ex;
        }
    }
#pragma warning restore CA1031

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (IOException)
        {
            // A leftover temp file is harmless.
        }
    }
}
