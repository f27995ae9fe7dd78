using Microsoft.Data.Sqlite;

namespace MLOpsDemo.Mlflow.Tests.Integration;

/// <summary>
/// Tests that change the process's current directory (to check the zero-config defaults <c>./mlflow.db</c> and
/// <c>./mlruns</c>) run in this collection, which xunit runs alone, after the parallel ones.
/// </summary>
[CollectionDefinition(nameof(WorkingDirectoryCollection), DisableParallelization = true)]
public sealed class WorkingDirectoryCollection;

/// <summary>Makes a new temporary folder the current directory until disposed, then restores it and deletes the folder.</summary>
public sealed class TempWorkingDirectory : IDisposable
{
    private readonly string _previous = Directory.GetCurrentDirectory();

    public TempWorkingDirectory()
    {
        Path = Directory.CreateTempSubdirectory("mlflow-integration-").FullName;
        Directory.SetCurrentDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
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
