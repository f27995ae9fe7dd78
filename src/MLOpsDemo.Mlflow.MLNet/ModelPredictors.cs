using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MLOpsDemo.Mlflow.MLNet;

/// <summary>A loaded model that turns inputs into outputs; thread-safe.</summary>
internal interface IModelPredictor<TIn, TOut> : IDisposable
{
    TOut[] Predict(IReadOnlyList<TIn> inputs);
}

/// <summary>
/// An ML.NET transformer behind a pool of <see cref="PredictionEngine{TSrc, TDst}"/>s: an engine is not thread-safe,
/// so each concurrent caller takes one from the pool (or creates one) and gives it back.
/// </summary>
internal sealed class MLNetPredictor<TIn, TOut> : IModelPredictor<TIn, TOut>
    where TIn : class
    where TOut : class, new()
{
    private readonly MLContext _mlContext;
    private readonly ITransformer _model;
    private readonly ConcurrentBag<PredictionEngine<TIn, TOut>> _engines = [];

    public MLNetPredictor(MLContext mlContext, ITransformer model)
    {
        _mlContext = mlContext;
        _model = model;

        // Created once here so that a model whose columns TIn cannot feed fails to load instead of failing requests.
        _engines.Add(mlContext.Model.CreatePredictionEngine<TIn, TOut>(model));
    }

    public TOut[] Predict(IReadOnlyList<TIn> inputs)
    {
        if (!_engines.TryTake(out var engine))
        {
            engine = _mlContext.Model.CreatePredictionEngine<TIn, TOut>(_model);
        }

        try
        {
            var result = new TOut[inputs.Count];
            for (var i = 0; i < inputs.Count; i++)
            {
                result[i] = engine.Predict(inputs[i]);
            }

            return result;
        }
        finally
        {
            _engines.Add(engine);
        }
    }

    public void Dispose()
    {
        while (_engines.TryTake(out var engine))
        {
            engine.Dispose();
        }

        (_model as IDisposable)?.Dispose();
    }
}

/// <summary>
/// An ONNX model run with ONNX Runtime (<see cref="InferenceSession"/>, thread-safe). Inputs are fed by name from the
/// public properties of <typeparamref name="TIn"/>: a graph input <c>X1</c> takes property <c>X1</c> (a scalar for a
/// <c>[-1, 1]</c> or <c>[-1]</c> input, an array for <c>[-1, n]</c>). Outputs fill the settable properties of
/// <typeparamref name="TOut"/> from the graph output of the same name or, as ML.NET's export names them,
/// <c>&lt;name&gt;.output</c>. Element types must match: float, double, int, long, bool or string.
/// </summary>
internal sealed class OnnxPredictor<TIn, TOut> : IModelPredictor<TIn, TOut>
    where TIn : class
    where TOut : class, new()
{
    private readonly InferenceSession _session;
    private readonly Binding[] _inputs;
    private readonly Binding[] _outputs;

    private OnnxPredictor(InferenceSession session, Binding[] inputs, Binding[] outputs)
    {
        _session = session;
        _inputs = inputs;
        _outputs = outputs;
    }

    /// <summary>Creates the session and binds the graph's inputs and outputs to the properties; throws with the mismatch.</summary>
    public static OnnxPredictor<TIn, TOut> Create(byte[] onnxModel, string source)
    {
        InferenceSession session;
        try
        {
            session = new InferenceSession(onnxModel);
        }
        catch (Exception ex) when (ex is TypeInitializationException or DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            throw new InvalidOperationException(
                $"{source}: ONNX Runtime's native library could not be loaded ({ex.GetType().Name}: {ex.Message}). Add the Microsoft.ML.OnnxRuntime package (native runtimes) to the application, or serve the mlnet flavor.",
                ex);
        }

        try
        {
            var inputs = new List<Binding>();
            foreach (var (name, metadata) in session.InputMetadata)
            {
                var property = typeof(TIn).GetProperty(name, BindingFlags.Public | BindingFlags.Instance)
                    ?? throw new InvalidOperationException($"{source}: the ONNX graph input '{name}' ({Describe(metadata)}) has no public property '{name}' on {typeof(TIn).Name}; the graph's inputs are {string.Join(", ", session.InputMetadata.Select(i => $"{i.Key}: {Describe(i.Value)}"))}.");
                inputs.Add(Bind(name, metadata, property, source));
            }

            var outputs = new List<Binding>();
            foreach (var property in typeof(TOut).GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
            {
                var name = session.OutputMetadata.ContainsKey(property.Name + ".output") ? property.Name + ".output"
                    : session.OutputMetadata.ContainsKey(property.Name) ? property.Name
                    : null;
                if (name is not null)
                {
                    outputs.Add(Bind(name, session.OutputMetadata[name], property, source));
                }
            }

            if (outputs.Count == 0)
            {
                throw new InvalidOperationException($"{source}: no public settable property of {typeof(TOut).Name} matches an ONNX graph output (name or '<name>.output'); the outputs are {string.Join(", ", session.OutputMetadata.Keys)}.");
            }

            return new OnnxPredictor<TIn, TOut>(session, [.. inputs], [.. outputs]);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    public TOut[] Predict(IReadOnlyList<TIn> inputs)
    {
        var count = inputs.Count;
        var result = new TOut[count];
        for (var i = 0; i < count; i++)
        {
            result[i] = new TOut();
        }

        if (count == 0)
        {
            return result;
        }

        var feeds = new Dictionary<string, OrtValue>(StringComparer.Ordinal);
        try
        {
            foreach (var input in _inputs)
            {
                feeds[input.Name] = input.CreateInput(inputs);
            }

            using var runOptions = new RunOptions();
            using var values = _session.Run(runOptions, feeds, _outputs.Select(o => o.Name).ToArray());
            for (var o = 0; o < _outputs.Length; o++)
            {
                _outputs[o].ReadOutput(values[o], result);
            }

            return result;
        }
        finally
        {
            foreach (var value in feeds.Values)
            {
                value.Dispose();
            }
        }
    }

    public void Dispose() => _session.Dispose();

    private static string Describe(NodeMetadata metadata) =>
        metadata.IsTensor ? $"{metadata.ElementDataType} [{string.Join(", ", metadata.Dimensions)}]" : metadata.OnnxValueType.ToString();

    private static Binding Bind(string name, NodeMetadata metadata, PropertyInfo property, string source)
    {
        if (!metadata.IsTensor)
        {
            throw new InvalidOperationException($"{source}: the ONNX graph value '{name}' is a {metadata.OnnxValueType}, not a tensor; only tensor inputs and outputs are served.");
        }

        var isArray = property.PropertyType.IsArray;
        var clr = isArray ? property.PropertyType.GetElementType()! : property.PropertyType;
        var expected = metadata.ElementDataType switch
        {
            TensorElementType.Float => typeof(float),
            TensorElementType.Double => typeof(double),
            TensorElementType.Int32 => typeof(int),
            TensorElementType.Int64 => typeof(long),
            TensorElementType.Bool => typeof(bool),
            TensorElementType.String => typeof(string),
            _ => null,
        };
        if (expected is null || clr != expected)
        {
            var wanted = expected is null ? "a supported type (float, double, int, long, bool, string)" : expected.Name + (isArray ? "[]" : "");
            throw new InvalidOperationException($"{source}: the ONNX graph value '{name}' holds {metadata.ElementDataType} elements; property {property.DeclaringType!.Name}.{property.Name} is {property.PropertyType.Name}, expected {wanted}.");
        }

        // The width of one row: the product of the dimensions after the batch dimension (1 for [-1] and [-1, 1]).
        var dims = metadata.Dimensions;
        var width = dims.Length <= 1 ? 1 : dims.Skip(1).Aggregate(1L, (a, d) => a * Math.Max(d, 1));
        if (!isArray && width != 1)
        {
            throw new InvalidOperationException($"{source}: the ONNX graph value '{name}' has {width} values per row; property {property.DeclaringType!.Name}.{property.Name} must be an array.");
        }

        return new Binding(name, property, clr, isArray, (int)width, dims.Length <= 1 ? 1 : dims.Length);
    }

    private sealed record Binding(string Name, PropertyInfo Property, Type ElementType, bool IsArray, int Width, int Rank)
    {
        public OrtValue CreateInput(IReadOnlyList<TIn> rows)
        {
            var shape = Rank == 1 ? new long[] { rows.Count } : [rows.Count, .. Enumerable.Repeat(1L, Rank - 2), Width];
            if (ElementType == typeof(string))
            {
                var tensor = new DenseTensor<string>(Gather<string>(rows, s => s ?? ""), shape.Select(d => (int)d).ToArray());
                return OrtValue.CreateFromStringTensor(tensor);
            }

            return ElementType == typeof(float) ? OrtValue.CreateTensorValueFromMemory(Gather<float>(rows, v => v), shape)
                : ElementType == typeof(double) ? OrtValue.CreateTensorValueFromMemory(Gather<double>(rows, v => v), shape)
                : ElementType == typeof(int) ? OrtValue.CreateTensorValueFromMemory(Gather<int>(rows, v => v), shape)
                : ElementType == typeof(long) ? OrtValue.CreateTensorValueFromMemory(Gather<long>(rows, v => v), shape)
                : OrtValue.CreateTensorValueFromMemory(Gather<bool>(rows, v => v), shape);
        }

        public void ReadOutput(OrtValue value, TOut[] rows)
        {
            if (ElementType == typeof(string))
            {
                Scatter(value.GetStringTensorAsArray(), rows);
            }
            else if (ElementType == typeof(float))
            {
                Scatter(value.GetTensorDataAsSpan<float>().ToArray(), rows);
            }
            else if (ElementType == typeof(double))
            {
                Scatter(value.GetTensorDataAsSpan<double>().ToArray(), rows);
            }
            else if (ElementType == typeof(int))
            {
                Scatter(value.GetTensorDataAsSpan<int>().ToArray(), rows);
            }
            else if (ElementType == typeof(long))
            {
                Scatter(value.GetTensorDataAsSpan<long>().ToArray(), rows);
            }
            else
            {
                Scatter(value.GetTensorDataAsSpan<bool>().ToArray(), rows);
            }
        }

        private T[] Gather<T>(IReadOnlyList<TIn> rows, Func<T, T> normalize)
        {
            var data = new T[rows.Count * Width];
            for (var i = 0; i < rows.Count; i++)
            {
                var value = Property.GetValue(rows[i]);
                if (IsArray)
                {
                    var array = value as T[] ?? [];
                    if (array.Length != Width)
                    {
                        throw new ArgumentException($"Row {i}: {Property.Name} has {array.Length} values; the model's input '{Name}' takes {Width}.", nameof(rows));
                    }

                    for (var j = 0; j < Width; j++)
                    {
                        data[(i * Width) + j] = normalize(array[j]);
                    }
                }
                else
                {
                    data[i] = normalize((T)value!);
                }
            }

            return data;
        }

        private void Scatter<T>(T[] data, TOut[] rows)
        {
            var width = rows.Length == 0 ? 0 : data.Length / rows.Length;
            for (var i = 0; i < rows.Length; i++)
            {
                Property.SetValue(rows[i], IsArray ? data.AsSpan(i * width, width).ToArray() : data[i * width]);
            }
        }
    }
}
