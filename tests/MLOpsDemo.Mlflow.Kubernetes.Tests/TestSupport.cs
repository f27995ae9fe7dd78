using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace MLOpsDemo.Mlflow.Kubernetes.Tests;

/// <summary>A temporary folder with a SQLite tracking store and a project.</summary>
internal sealed class TestFolder : IDisposable
{
    public TestFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mlflow-k8s-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public MlflowClient Client() => new(new MlflowClientOptions { TrackingUri = "sqlite:///" + System.IO.Path.Combine(Path, "mlflow.db") });

    /// <summary>Writes a project folder with the given MLproject text and returns its path.</summary>
    public string Project(string mlproject)
    {
        var dir = System.IO.Path.Combine(Path, "project");
        Directory.CreateDirectory(dir);
        File.WriteAllText(System.IO.Path.Combine(dir, "MLproject"), mlproject);
        return dir;
    }

    public void Dispose()
    {
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

internal static class TestData
{
    public static string PathOf(string name)
    {
        var path = System.IO.Path.Combine(AppContext.BaseDirectory, "TestData", name);
        return File.Exists(path) ? path : throw new FileNotFoundException($"Test data file missing: {path} (tests/MLOpsDemo.Mlflow.Kubernetes.Tests/TestData/{name}).", path);
    }

    public static JsonObject ExpectedCase(string id)
    {
        var root = JsonNode.Parse(File.ReadAllText(PathOf("expected-jobs.mlflow-3.11.json")))!;
        return root["cases"]!.AsArray().Single(c => (string)c!["id"]! == id)!.AsObject();
    }

    /// <summary>Polls a condition of the system under test (no wall-clock assertion: it only bounds a hang).</summary>
    public static async Task Until(Func<bool> condition, string what) => await Until(condition, () => what);

    /// <summary>As <see cref="Until(Func{bool}, string)"/>, with the description computed when it times out (e.g. with the log so far).</summary>
    public static async Task Until(Func<bool> condition, Func<string> what)
    {
        for (var i = 0; i < 3000 && !condition(); i++)
        {
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        Assert.True(condition(), "Timed out waiting until " + what());
    }
}

/// <summary>Collects log messages.</summary>
internal sealed class ListLogger : ILogger
{
    public ConcurrentQueue<string> Messages { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Messages.Enqueue(formatter(state, exception));
}
