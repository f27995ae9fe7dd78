namespace MLOpsDemo.Mlflow.Cli;

/// <summary>Where a command writes and what it reads from its surroundings; tests pass their own.</summary>
/// <param name="Out">Standard output: results (tables, JSON, Markdown).</param>
/// <param name="Error">Standard error: errors, progress and the output of child processes when stdout carries JSON.</param>
/// <param name="GetEnvironmentVariable">Reads an environment variable (<c>MLFLOW_*</c>, <c>CI</c>).</param>
/// <param name="IsTerminal">Whether <paramref name="Out"/> is an interactive terminal (tables and progress bars are drawn only then).</param>
internal sealed record CliHost(TextWriter Out, TextWriter Error, Func<string, string?> GetEnvironmentVariable, bool IsTerminal)
{
    /// <summary>The process's console and environment.</summary>
    /// <returns>The host.</returns>
    public static CliHost FromConsole() =>
        new(Console.Out, Console.Error, Environment.GetEnvironmentVariable, !Console.IsOutputRedirected);

    /// <summary>Whether rich output (Spectre tables, progress bars) is allowed: a terminal and no <c>CI</c> variable.</summary>
    public bool UseRichOutput => IsTerminal && string.IsNullOrEmpty(GetEnvironmentVariable("CI"));
}
