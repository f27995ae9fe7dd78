using MLOpsDemo.Mlflow.Cli.Output;

namespace MLOpsDemo.Mlflow.Cli.Tests;

/// <summary>Table output: Spectre tables on a terminal, plain aligned lines when redirected or CI is set; Markdown escaping.</summary>
public class OutputTests
{
    private static CommandOutput Sample() => new CommandOutput(new System.Text.Json.Nodes.JsonObject())
        .AddLine("Two runs.")
        .AddTable("Runs", ["RUN ID", "NAME"], [["r1", "first"], ["r2", "a|b"]]);

    [Theory]
    [InlineData(false, null, false)]
    [InlineData(true, "true", false)]
    [InlineData(true, null, true)]
    public void Tables_are_drawn_only_on_a_terminal_without_CI(bool terminal, string? ci, bool rich)
    {
        using var output = new StringWriter();
        var host = new CliHost(output, TextWriter.Null, name => name == "CI" ? ci : null, terminal);
        new Renderer(host, OutputFormat.Table).Write(Sample());
        var text = output.ToString();
        Assert.Contains("first", text, StringComparison.Ordinal);
        if (rich)
        {
            Assert.Contains("─", text, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal("Two runs.\n\nRuns\nRUN ID  NAME\nr1      first\nr2      a|b\n", text);
        }
    }

    [Fact]
    public void Markdown_tables_escape_pipes()
    {
        var markdown = Renderer.ToMarkdown(Sample());
        Assert.Equal("Two runs.\n\n### Runs\n\n| RUN ID | NAME |\n|---|---|\n| r1 | first |\n| r2 | a\\|b |\n\n", markdown);
    }
}
