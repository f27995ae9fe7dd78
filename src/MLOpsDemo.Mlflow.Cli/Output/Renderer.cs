using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Spectre.Console;

namespace MLOpsDemo.Mlflow.Cli.Output;

/// <summary>Writes <see cref="CommandOutput"/> in the chosen format.</summary>
internal sealed class Renderer
{
    private static readonly JsonSerializerOptions s_json = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly CliHost _host;

    /// <summary>Creates a renderer.</summary>
    /// <param name="host">The host.</param>
    /// <param name="format">The format.</param>
    public Renderer(CliHost host, OutputFormat format)
    {
        _host = host;
        Format = format;
    }

    /// <summary>The format.</summary>
    public OutputFormat Format { get; }

    /// <summary>Serializes a JSON node as the tool prints it (indented, relaxed escaping).</summary>
    /// <param name="node">The node.</param>
    /// <returns>The text.</returns>
    public static string ToJson(System.Text.Json.Nodes.JsonNode node) => node.ToJsonString(s_json);

    /// <summary>Writes the output.</summary>
    /// <param name="output">The output.</param>
    public void Write(CommandOutput output)
    {
        switch (Format)
        {
            case OutputFormat.Json:
                _host.Out.WriteLine(ToJson(output.Json));
                break;
            case OutputFormat.Markdown:
                _host.Out.Write(output.Markdown ?? ToMarkdown(output));
                break;
            default:
                if (output.PlainText is not null)
                {
                    _host.Out.WriteLine(output.PlainText);
                }
                else if (_host.UseRichOutput)
                {
                    WriteRich(output);
                }
                else
                {
                    _host.Out.Write(ToPlain(output));
                }

                break;
        }
    }

    /// <summary>The Markdown form: sentences as paragraphs, tables as GitHub tables.</summary>
    /// <param name="output">The output.</param>
    /// <returns>The Markdown.</returns>
    public static string ToMarkdown(CommandOutput output)
    {
        var text = new StringBuilder();
        foreach (var line in output.Lines)
        {
            text.Append(line).Append("\n\n");
        }

        foreach (var table in output.Tables)
        {
            AppendMarkdownTable(text, table);
        }

        return text.ToString();
    }

    /// <summary>Appends a GitHub Markdown table (with its title as a heading).</summary>
    /// <param name="text">The builder.</param>
    /// <param name="table">The table.</param>
    public static void AppendMarkdownTable(StringBuilder text, OutputTable table)
    {
        if (table.Title is not null)
        {
            text.Append("### ").Append(table.Title).Append("\n\n");
        }

        if (table.Rows.Count == 0)
        {
            text.Append("_none_\n\n");
            return;
        }

        text.Append("| ").AppendJoin(" | ", table.Columns.Select(EscapeMarkdown)).Append(" |\n");
        text.Append('|').AppendJoin('|', table.Columns.Select(_ => "---")).Append("|\n");
        foreach (var row in table.Rows)
        {
            text.Append("| ").AppendJoin(" | ", row.Select(EscapeMarkdown)).Append(" |\n");
        }

        text.Append('\n');
    }

    /// <summary>Escapes a cell for a Markdown table.</summary>
    /// <param name="value">The cell.</param>
    /// <returns>The escaped cell.</returns>
    public static string EscapeMarkdown(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("|", "\\|", StringComparison.Ordinal)
            .Replace("\r", "", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    /// <summary>The plain form: sentences, then each table as aligned columns (two spaces apart).</summary>
    /// <param name="output">The output.</param>
    /// <returns>The text.</returns>
    public static string ToPlain(CommandOutput output)
    {
        var text = new StringBuilder();
        foreach (var line in output.Lines)
        {
            text.Append(line).Append('\n');
        }

        foreach (var table in output.Tables)
        {
            if (text.Length > 0)
            {
                text.Append('\n');
            }

            if (table.Title is not null)
            {
                text.Append(table.Title).Append('\n');
            }

            if (table.Rows.Count == 0)
            {
                text.Append("(none)\n");
                continue;
            }

            var widths = table.Columns.Select((c, i) => Math.Max(c.Length, table.Rows.Max(r => Flat(r[i]).Length))).ToArray();
            AppendPlainRow(text, table.Columns, widths);
            foreach (var row in table.Rows)
            {
                AppendPlainRow(text, row, widths);
            }
        }

        return text.ToString();
    }

    private static string Flat(string value) => value.Replace("\r", "", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    private static void AppendPlainRow(StringBuilder text, IReadOnlyList<string> cells, int[] widths)
    {
        var line = new StringBuilder();
        for (var i = 0; i < cells.Count; i++)
        {
            var cell = Flat(cells[i]);
            line.Append(i == cells.Count - 1 ? cell : cell.PadRight(widths[i] + 2));
        }

        text.Append(line.ToString().TrimEnd()).Append('\n');
    }

    private void WriteRich(CommandOutput output)
    {
        var console = CreateConsole(_host);
        foreach (var line in output.Lines)
        {
            console.WriteLine(line);
        }

        foreach (var table in output.Tables)
        {
            var rich = new Table().Border(TableBorder.Rounded);
            if (table.Title is not null)
            {
                rich.Title(Markup.Escape(table.Title));
            }

            foreach (var column in table.Columns)
            {
                rich.AddColumn(Markup.Escape(column));
            }

            foreach (var row in table.Rows)
            {
                rich.AddRow(row.Select(c => new Text(c)).ToArray());
            }

            console.Write(rich);
        }
    }

    /// <summary>A Spectre console over the host's output.</summary>
    /// <param name="host">The host.</param>
    /// <returns>The console.</returns>
    public static IAnsiConsole CreateConsole(CliHost host) =>
        AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(host.Out) });
}
