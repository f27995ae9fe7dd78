using System.Text.Json.Nodes;

namespace MLOpsDemo.Mlflow.Cli.Output;

/// <summary>The output formats of <c>--output</c>.</summary>
internal enum OutputFormat
{
    /// <summary>Tables on a terminal, aligned plain lines when redirected or on CI.</summary>
    Table,

    /// <summary>One JSON document on stdout, snake_case, stable (documented in the README).</summary>
    Json,

    /// <summary>GitHub-flavoured Markdown (tables), for step summaries and pull-request comments.</summary>
    Markdown,
}

/// <summary>A titled table of strings.</summary>
/// <param name="Title">The title, or <see langword="null"/>.</param>
/// <param name="Columns">The column headers.</param>
/// <param name="Rows">The rows; each has one cell per column.</param>
internal sealed record OutputTable(string? Title, IReadOnlyList<string> Columns, IReadOnlyList<IReadOnlyList<string>> Rows);

/// <summary>What a command shows: the JSON document and its human forms.</summary>
internal sealed class CommandOutput
{
    /// <summary>Creates the output.</summary>
    /// <param name="json">The JSON document for <c>--output json</c>.</param>
    public CommandOutput(JsonNode json)
    {
        Json = json;
    }

    /// <summary>The JSON document.</summary>
    public JsonNode Json { get; }

    /// <summary>Sentences shown before the tables (table and Markdown formats).</summary>
    public List<string> Lines { get; } = [];

    /// <summary>Tables (table and Markdown formats).</summary>
    public List<OutputTable> Tables { get; } = [];

    /// <summary>When set, the whole table-format output (e.g. only a run id, for <c>$(…)</c> capture).</summary>
    public string? PlainText { get; init; }

    /// <summary>When set, the whole Markdown output.</summary>
    public string? Markdown { get; init; }

    /// <summary>Adds a table.</summary>
    /// <param name="title">The title.</param>
    /// <param name="columns">The headers.</param>
    /// <param name="rows">The rows.</param>
    /// <returns>This output.</returns>
    public CommandOutput AddTable(string? title, IReadOnlyList<string> columns, IEnumerable<IReadOnlyList<string>> rows)
    {
        Tables.Add(new OutputTable(title, columns, rows.ToList()));
        return this;
    }

    /// <summary>Adds a sentence.</summary>
    /// <param name="line">The sentence.</param>
    /// <returns>This output.</returns>
    public CommandOutput AddLine(string line)
    {
        Lines.Add(line);
        return this;
    }
}
