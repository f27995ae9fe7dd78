using System.Text.Json;
using MLOpsDemo.Mlflow.TestSupport;

namespace MLOpsDemo.Mlflow.InteropTests;

/// <summary>Runs a Python MLflow script that prints one JSON object as its last line, and parses it.</summary>
internal static class PythonJson
{
    /// <summary>Runs <paramref name="script"/> with <paramref name="arguments"/>; fails the test with its output if it fails.</summary>
    public static async Task<JsonElement> RunAsync(PythonMlflow python, string script, params string[] arguments)
    {
        var result = (await python.RunAsync(script, arguments, cancellationToken: TestContext.Current.CancellationToken)).EnsureSuccess();
        using var document = JsonDocument.Parse(result.LastLine);
        return document.RootElement.Clone();
    }
}
