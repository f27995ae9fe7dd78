using Microsoft.Data.Sqlite;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLOpsDemo.Mlflow.MLNet.Tests;

/// <summary>
/// Tests that use the zero-config local store (<c>./mlflow.db</c>, <c>./mlruns</c>, relative to the current directory)
/// run in this collection, which xunit runs alone.
/// </summary>
[CollectionDefinition(nameof(LocalStoreCollection), DisableParallelization = true)]
public sealed class LocalStoreCollection;

/// <summary>A temporary current directory with a local-store client; restores the directory and deletes the folder on dispose.</summary>
public sealed class LocalStore : IDisposable
{
    private readonly string _previous = Directory.GetCurrentDirectory();

    public LocalStore()
    {
        Path = Directory.CreateTempSubdirectory("mlnet-tests-").FullName;
        Directory.SetCurrentDirectory(Path);
        Client = new MlflowClient(new MlflowClientOptions { TrackingUri = "sqlite:///mlflow.db" });
    }

    public string Path { get; }

    public MlflowClient Client { get; }

    public void Dispose()
    {
        Client.Dispose();
        Directory.SetCurrentDirectory(_previous);
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>One row of the tiny binary data set.</summary>
public sealed class BlobRow
{
    public float X1 { get; set; }

    public float X2 { get; set; }

    public bool Label { get; set; }
}

/// <summary>Only the features of <see cref="BlobRow"/>: what a service gets (no label).</summary>
public sealed class BlobFeatures
{
    public float X1 { get; set; }

    public float X2 { get; set; }
}

/// <summary>What the binary model predicts.</summary>
public sealed class BlobPrediction
{
    public bool PredictedLabel { get; set; }

    public float Probability { get; set; }

    public float Score { get; set; }
}

/// <summary>Tiny, seeded data sets and pipelines (a few hundred rows, so training takes milliseconds).</summary>
public static class Data
{
    public static List<BlobRow> Blobs(int count = 200, int seed = 7)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(i =>
        {
            var label = i % 2 == 1;
            var center = label ? 1f : -1f;
            return new BlobRow { X1 = center + (float)((random.NextDouble() * 2) - 1), X2 = center + (float)((random.NextDouble() * 2) - 1), Label = label };
        }).ToList();
    }

    public static EstimatorChain<BinaryPredictionTransformer<Microsoft.ML.Calibrators.CalibratedModelParametersBase<Microsoft.ML.Trainers.LinearBinaryModelParameters, Microsoft.ML.Calibrators.PlattCalibrator>>> BinaryPipeline(MLContext ml, float l2 = 0.1f) =>
        ml.Transforms.Concatenate("Features", nameof(BlobRow.X1), nameof(BlobRow.X2))
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression(l2Regularization: l2, maximumNumberOfIterations: 20));

    public static CancellationToken Ct => TestContext.Current.CancellationToken;
}

/// <summary>Collects log entries.</summary>
public sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
{
    public System.Collections.Concurrent.ConcurrentQueue<(Microsoft.Extensions.Logging.LogLevel Level, string Message)> Entries { get; } = new();

    public IEnumerable<string> Messages => Entries.Select(e => e.Message);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, formatter(state, exception)));
}

/// <summary>Whether ONNX Runtime's native library loads on this machine (a real condition: the runtimes ship per OS/CPU).</summary>
public static class OnnxRuntimeProbe
{
    private static readonly Lazy<string?> s_unavailable = new(() =>
    {
        try
        {
            using var options = new Microsoft.ML.OnnxRuntime.SessionOptions();
            return null;
        }
        catch (Exception ex) when (ex is TypeInitializationException or DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
        {
            return $"ONNX Runtime's native library does not load on this machine ({ex.GetType().Name}: {ex.GetBaseException().Message})";
        }
    });

    /// <summary>Why ONNX Runtime cannot run here, or <see langword="null"/> when it can.</summary>
    public static string? Unavailable() => s_unavailable.Value;
}
