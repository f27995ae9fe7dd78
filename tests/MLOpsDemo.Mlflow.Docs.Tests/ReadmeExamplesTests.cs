using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MLOpsDemo.Mlflow.Docs.Tests;

/// <summary>
/// Every ```csharp block of README.md, src/*/README.md and samples/**/README.md compiles against the packages, as a
/// program of its own (top-level statements allowed). Blocks that are not C# programs use ```text, ```bash, ```json….
/// </summary>
public class ReadmeExamplesTests
{
    /// <summary>One case per C# block: the README's path (from the repository root) and the line of its opening fence.</summary>
    public static IEnumerable<TheoryDataRow<string, int>> ReadmeCSharpBlocks()
    {
        var data = new List<TheoryDataRow<string, int>>();
        foreach (var file in ReadmeFiles.All())
        {
            var index = 0;
            foreach (var block in MarkdownCode.CSharpBlocks(file.FullPath))
            {
                data.Add(new TheoryDataRow<string, int>(file.RelativePath, block.Line)
                    .WithTestDisplayName($"{file.RelativePath}:{block.Line} (C# block {index})"));
                index++;
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ReadmeCSharpBlocks))]
    public void Csharp_block_compiles(string readme, int line)
    {
        var path = Path.Combine(ReadmeFiles.RepositoryRoot, readme);
        var blocks = MarkdownCode.CSharpBlocks(path);
        var block = blocks.SingleOrDefault(b => b.Line == line);
        Assert.True(block is not null, $"{readme} has no ```csharp block opening at line {line} any more; rebuild the test list.");

        // A block tagged ```csharp continued goes on from the blocks before it (back to the last plain ```csharp one),
        // so a README can explain one program step by step; each step is compiled with everything before it.
        var errors = block.Continued
            ? SnippetCompiler.CompileChain(MarkdownCode.Chain(blocks, block), readme)
            : SnippetCompiler.Compile(block.Source, readme, fenceLine: line);

        if (errors.Count > 0)
        {
            var message = new StringBuilder()
                .AppendLine($"The C# block at {readme}:{line} does not compile ({errors.Count} error(s)). Fix the example, or")
                .AppendLine("tag it ```text if it is not meant to be a program. Errors give the README's line and column.")
                .AppendLine();
            foreach (var error in errors)
            {
                message.AppendLine(error);
            }

            message.AppendLine().AppendLine("The block:");
            var number = line + 1;
            foreach (var sourceLine in block.Source.TrimEnd('\n').Split('\n'))
            {
                message.AppendLine($"{number++,4}  {sourceLine.TrimEnd('\r')}");
            }

            Assert.Fail(message.ToString());
        }
    }

    [Fact]
    public void Continued_blocks_compile_with_the_blocks_before_them_and_report_the_readme_line()
    {
        var file = Path.Combine(Path.GetTempPath(), $"chain-{Guid.NewGuid():N}.md");
        File.WriteAllLines(file,
        [
            "```csharp",                   // 1
            "var x = new Point { X = 1 };", // 2
            "public sealed class Point { public int X { get; init; } }",
            "```",
            "```csharp continued",          // 5
            "Console.WriteLine(x.X);",      // 6
            "```",
            "```csharp continued",          // 8
            "Console.WriteLine(y);",        // 9: y does not exist
            "```",
        ]);
        try
        {
            var blocks = MarkdownCode.CSharpBlocks(file);
            Assert.Equal([false, true, true], blocks.Select(b => b.Continued));
            Assert.Empty(SnippetCompiler.CompileChain(MarkdownCode.Chain(blocks, blocks[1]), "chain.md"));
            var error = Assert.Single(SnippetCompiler.CompileChain(MarkdownCode.Chain(blocks, blocks[2]), "chain.md"));
            Assert.StartsWith("chain.md:9:", error, StringComparison.Ordinal);
            Assert.Contains("CS0103", error, StringComparison.Ordinal);
            Assert.NotEmpty(SnippetCompiler.Compile(blocks[1].Source, "chain.md", blocks[1].Line)); // alone it cannot compile
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void The_theory_finds_the_root_readme_examples()
    {
        // Guards the extraction itself: if no block were found, the theory above would prove nothing.
        var root = Path.Combine(ReadmeFiles.RepositoryRoot, "README.md");
        Assert.NotEmpty(MarkdownCode.CSharpBlocks(root));
    }

    [Fact]
    public void Every_package_has_its_own_readme()
    {
        var src = Path.Combine(ReadmeFiles.RepositoryRoot, "src");
        var missing = Directory.GetDirectories(src)
            .Where(dir => Directory.EnumerateFiles(dir, "*.csproj").Any())
            .Where(dir => !File.Exists(Path.Combine(dir, "README.md")))
            .Select(dir => Path.GetRelativePath(ReadmeFiles.RepositoryRoot, dir))
            .ToList();
        Assert.True(
            missing.Count == 0,
            $"Each package folder needs a README.md (it is packed into the nupkg as its NuGet page); missing in: {string.Join(", ", missing)}.");
    }

    [Fact]
    public void Package_readmes_follow_the_azure_sdk_order()
    {
        // The order of the Azure SDK's package READMEs (STYLE.md §8); other sections (Contents, Performance, Next steps…)
        // may sit between or after them.
        string[] required = ["Getting started", "Key concepts", "Examples", "Troubleshooting"];
        var problems = new List<string>();
        foreach (var dir in Directory.GetDirectories(Path.Combine(ReadmeFiles.RepositoryRoot, "src")))
        {
            var readme = Path.Combine(dir, "README.md");
            if (!Directory.EnumerateFiles(dir, "*.csproj").Any() || !File.Exists(readme))
            {
                continue; // a missing README is reported by Every_package_has_its_own_readme
            }

            var headings = MarkdownCode.Headings(readme, level: 2);
            var positions = required.Select(title => headings.FindIndex(h => h.Equals(title, StringComparison.OrdinalIgnoreCase))).ToList();
            var missing = required.Where((_, i) => positions[i] < 0).ToList();
            var found = positions.Where(p => p >= 0).ToList();
            if (missing.Count > 0 || !found.SequenceEqual(found.Order()))
            {
                problems.Add($"{Path.GetRelativePath(ReadmeFiles.RepositoryRoot, readme)}: has ## {string.Join(" / ", headings)}"
                    + (missing.Count > 0 ? $"; missing ## {string.Join(", ## ", missing)}" : "; out of order"));
            }
        }

        Assert.True(problems.Count == 0, $"Package READMEs need the sections ## {string.Join(" / ", required)}, in this order:\n{string.Join("\n", problems)}");
    }

    [Fact]
    public void Root_readme_stays_a_front_door()
    {
        var lines = File.ReadAllLines(Path.Combine(ReadmeFiles.RepositoryRoot, "README.md"));
        Assert.True(lines.Length <= 400, $"README.md has {lines.Length} lines; keep it at most 400 and move deep topics into the package READMEs.");
        Assert.Contains(lines, l => l.StartsWith("## Contents", StringComparison.Ordinal));
    }

    [Fact]
    public void Extraction_reads_fences_as_markdown_does()
    {
        var file = Path.Combine(Path.GetTempPath(), $"docs-tests-{Guid.NewGuid():N}.md");
        try
        {
            File.WriteAllText(file, string.Join('\n',
                "# Title",
                "```text",
                "```csharp inside text is not a block",
                "```",
                "```csharp",
                "var x = 1;",
                "```",
                "   ```cs",
                "var y = 2;",
                "   ```",
                "```bash",
                "echo hi",
                "```",
                "- every ```` ```csharp ```` block must compile; tag others",
                "  ```` ```text ````. (inline code, not fences)",
                "````csharp",
                "var z = \"```\";",
                "```",
                "````",
                "## Heading after the blocks"));
            var blocks = MarkdownCode.CSharpBlocks(file);
            Assert.Equal([5, 8, 16], blocks.Select(b => b.Line));
            Assert.Equal("var x = 1;", blocks[0].Source.Trim());
            Assert.Equal("var y = 2;", blocks[1].Source.Trim());
            Assert.Equal("var z = \"```\";\n```", blocks[2].Source.Trim());
            Assert.Equal(["Title"], MarkdownCode.Headings(file, level: 1));
            Assert.Equal(["Heading after the blocks"], MarkdownCode.Headings(file, level: 2));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Compiler_reports_errors_with_block_relative_lines()
    {
        // The block's first line is the line after its fence (10 here), so the call on the block's second line is line 12.
        var errors = SnippetCompiler.Compile("var client = new MlflowClient(\"http://localhost:5000\");\nclient.NoSuchMethod();\n", "sample.md", fenceLine: 10);
        var error = Assert.Single(errors);
        Assert.Contains("NoSuchMethod", error, StringComparison.Ordinal);
        Assert.StartsWith("sample.md:12:8: CS1061", error, StringComparison.Ordinal);
        Assert.Empty(SnippetCompiler.Compile("using var client = new MlflowClient(\"http://localhost:5000\");\nawait client.Experiments.GetOrCreateAsync(\"x\");\n", "ok.md", fenceLine: 1));
        Assert.Empty(SnippetCompiler.Compile("public sealed class OnlyTypes { public int X { get; init; } }\n", "types.md", fenceLine: 1));
    }
}

/// <summary>The READMEs whose C# blocks are compiled.</summary>
internal static class ReadmeFiles
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>The folder holding MLOpsDemo.sln, found by walking up from the test's output folder.</summary>
    public static string RepositoryRoot => s_root.Value;

    public static IEnumerable<(string FullPath, string RelativePath)> All()
    {
        var root = RepositoryRoot;
        var files = new List<string> { Path.Combine(root, "README.md") };
        files.AddRange(Directory.GetDirectories(Path.Combine(root, "src"))
            .Select(dir => Path.Combine(dir, "README.md"))
            .Where(File.Exists));
        var samples = Path.Combine(root, "samples");
        if (Directory.Exists(samples))
        {
            files.AddRange(Directory.EnumerateFiles(samples, "README.md", SearchOption.AllDirectories)
                .Where(f => !IsBuildOutput(Path.GetRelativePath(samples, f))));
        }

        return files
            .Where(File.Exists)
            .Select(f => (f, Path.GetRelativePath(root, f).Replace('\\', '/')))
            .OrderBy(f => f.Item2, StringComparer.Ordinal);
    }

    private static bool IsBuildOutput(string relative) =>
        relative.Split('/', '\\').Any(segment => segment is "bin" or "obj");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MLOpsDemo.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException(
            $"No MLOpsDemo.sln above {AppContext.BaseDirectory}: the README tests must run from a build inside the repository.");
    }
}

/// <summary>A fenced code block: the 1-based line of its opening fence and its text.</summary>
/// <summary>A ```csharp block: the line of its opening fence, its text, and whether it is tagged <c>continued</c>.</summary>
internal sealed record CodeBlock(int Line, string Source, bool Continued = false);

/// <summary>Finds fenced code blocks in Markdown (``` fences, up to three spaces of indentation).</summary>
internal static class MarkdownCode
{
    private static readonly string[] s_csharpTags = ["csharp", "cs", "c#"];

    public static IReadOnlyList<CodeBlock> CSharpBlocks(string path)
    {
        var lines = File.ReadAllLines(path);
        var blocks = new List<CodeBlock>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (!TryOpenFence(lines[i], out var tag, out var fence, out var info))
            {
                continue;
            }

            var start = i;
            var body = new StringBuilder();
            for (i++; i < lines.Length && !IsClosingFence(lines[i], fence); i++)
            {
                body.Append(lines[i]).Append('\n');
            }

            if (s_csharpTags.Contains(tag, StringComparer.OrdinalIgnoreCase))
            {
                blocks.Add(new CodeBlock(start + 1, body.ToString(), Continued: info.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Contains("continued", StringComparer.Ordinal)));
            }
        }

        return blocks;
    }

    /// <summary>The blocks a continued block goes on from: back to the last plain block, then the block itself.</summary>
    public static IReadOnlyList<CodeBlock> Chain(IReadOnlyList<CodeBlock> blocks, CodeBlock last)
    {
        var index = blocks.ToList().IndexOf(last);
        var start = index;
        while (start > 0 && blocks[start].Continued)
        {
            start--;
        }

        Assert.False(blocks[start].Continued, $"The ```csharp continued block at line {last.Line} has no plain ```csharp block before it.");
        return blocks.Skip(start).Take(index - start + 1).ToList();
    }

    /// <summary>The titles of the headings of one level outside code blocks, in order.</summary>
    public static List<string> Headings(string path, int level)
    {
        var prefix = new string('#', level) + " ";
        var headings = new List<string>();
        var fence = 0; // length of the open fence, 0 outside code blocks
        foreach (var line in File.ReadLines(path))
        {
            if (fence > 0)
            {
                fence = IsClosingFence(line, fence) ? 0 : fence;
            }
            else if (TryOpenFence(line, out _, out var opened))
            {
                fence = opened;
            }
            else if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                headings.Add(line[prefix.Length..].Trim());
            }
        }

        return headings;
    }

    /// <summary>
    /// A backtick fence as CommonMark defines it: up to three spaces, three or more backticks, and an info string
    /// without backticks (so inline code such as <c>```` ```csharp ````</c> at the start of a line is not a fence).
    /// </summary>
    private static bool TryOpenFence(string line, out string tag, out int length) => TryOpenFence(line, out tag, out length, out _);

    private static bool TryOpenFence(string line, out string tag, out int length, out string info)
    {
        tag = "";
        info = "";
        var trimmed = line.TrimStart(' ');
        length = trimmed.Length - trimmed.TrimStart('`').Length;
        if (line.Length - trimmed.Length > 3 || length < 3)
        {
            length = 0;
            return false;
        }

        info = trimmed[length..].Trim();
        if (info.Contains('`', StringComparison.Ordinal))
        {
            length = 0;
            return false;
        }

        tag = info.Split(' ', 2)[0];
        return true;
    }

    /// <summary>A closing fence: up to three spaces and at least as many backticks as the opening one, nothing else.</summary>
    private static bool IsClosingFence(string line, int openingLength)
    {
        var trimmed = line.TrimStart(' ').TrimEnd();
        return line.Length - line.TrimStart(' ').Length <= 3
            && trimmed.Length >= openingLength
            && trimmed.All(c => c == '`');
    }
}

/// <summary>Compiles one snippet with Roslyn against the platform and the test's output folder.</summary>
internal static class SnippetCompiler
{
    private static readonly Lazy<(CSharpCompilation Exe, CSharpCompilation Library)> s_bases = new(CreateBases);

    /// <summary>
    /// The snippet's errors as "file:line:column: id: message" with the line counted in the README (the block starts on
    /// the line after its fence), empty when it compiles.
    /// </summary>
    public static IReadOnlyList<string> Compile(string source, string file, int fenceLine)
    {
        var tree = CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest), path: file);
        var hasStatements = tree.GetCompilationUnitRoot().Members.OfType<GlobalStatementSyntax>().Any();
        var (exe, library) = s_bases.Value;
        var compilation = (hasStatements ? exe : library).AddSyntaxTrees(tree);
        return compilation.GetDiagnostics()
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d =>
            {
                var span = d.Location.GetMappedLineSpan();
                var where = d.Location.IsInSource
                    ? $"{file}:{fenceLine + span.StartLinePosition.Line + 1}:{span.StartLinePosition.Character + 1}"
                    : file;
                return $"{where}: {d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
            })
            .ToList();
    }

    /// <summary>
    /// Compiles blocks as one program: their using directives first, then their statements in order, then their type
    /// declarations (C# wants top-level statements before types), each piece under a <c>#line</c> directive so that
    /// errors name the README's own line.
    /// </summary>
    public static IReadOnlyList<string> CompileChain(IReadOnlyList<CodeBlock> chain, string file)
    {
        var usings = new StringBuilder();
        var statements = new StringBuilder();
        var types = new StringBuilder();
        foreach (var block in chain)
        {
            var root = CSharpSyntaxTree.ParseText(block.Source, new CSharpParseOptions(LanguageVersion.Latest)).GetCompilationUnitRoot();
            foreach (var node in root.Usings.Cast<SyntaxNode>().Concat(root.Members))
            {
                var target = node is UsingDirectiveSyntax ? usings : node is GlobalStatementSyntax ? statements : types;
                var line = block.Line + 1 + node.GetLocation().GetLineSpan().StartLinePosition.Line;
                target.Append(System.Globalization.CultureInfo.InvariantCulture, $"#line {line} \"{file}\"\n").Append(node.ToString()).Append('\n');
            }
        }

        var tree = CSharpSyntaxTree.ParseText(usings.Append(statements).Append(types).ToString(), new CSharpParseOptions(LanguageVersion.Latest), path: file);
        var (exe, _) = s_bases.Value;
        return exe.AddSyntaxTrees(tree).GetDiagnostics()
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d =>
            {
                var span = d.Location.GetMappedLineSpan();
                return $"{file}:{span.StartLinePosition.Line + 1}:{span.StartLinePosition.Character + 1}: {d.Id}: {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}";
            })
            .ToList();
    }

    private static (CSharpCompilation, CSharpCompilation) CreateBases()
    {
        var references = References();
        var globalUsings = new[]
            {
                "System", "System.IO", "System.Linq", "System.Threading", "System.Threading.Tasks", "System.Collections.Generic",
            }
            .Concat(LibraryNamespaces())
            .Select(ns => $"global using {ns};");
        var usingsTree = CSharpSyntaxTree.ParseText(
            string.Join('\n', globalUsings), new CSharpParseOptions(LanguageVersion.Latest), path: "GlobalUsings.g.cs");

        CSharpCompilation Create(OutputKind kind) => CSharpCompilation.Create(
            $"ReadmeSnippet{kind}",
            [usingsTree],
            references,
            new CSharpCompilationOptions(kind, nullableContextOptions: NullableContextOptions.Enable));

        return (Create(OutputKind.ConsoleApplication), Create(OutputKind.DynamicallyLinkedLibrary));
    }

    /// <summary>The trusted platform assemblies, then every managed .dll of the output folder not already among them.</summary>
    private static ImmutableArray<MetadataReference> References()
    {
        var byName = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var platform = ((string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        foreach (var path in platform.Concat(Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll")))
        {
            var name = Path.GetFileName(path);
            if (!byName.ContainsKey(name) && IsManagedAssembly(path))
            {
                byName[name] = path;
            }
        }

        return [.. byName.Values.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
    }

    private static bool IsManagedAssembly(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            using var pe = new PEReader(stream);
            return pe.HasMetadata && pe.GetMetadataReader().IsAssembly;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }

    /// <summary>The namespaces of the public types of the MLOpsDemo.Mlflow* assemblies beside the test.</summary>
    private static IEnumerable<string> LibraryNamespaces()
    {
        var namespaces = new SortedSet<string>(StringComparer.Ordinal);
        var self = Path.GetFileName(typeof(SnippetCompiler).Assembly.Location);
        foreach (var path in Directory.EnumerateFiles(AppContext.BaseDirectory, "MLOpsDemo.Mlflow*.dll"))
        {
            if (string.Equals(Path.GetFileName(path), self, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            using var stream = File.OpenRead(path);
            using var pe = new PEReader(stream);
            var reader = pe.GetMetadataReader();
            foreach (var handle in reader.TypeDefinitions)
            {
                var type = reader.GetTypeDefinition(handle);
                var ns = reader.GetString(type.Namespace);
                if ((type.Attributes & TypeAttributes.VisibilityMask) == TypeAttributes.Public
                    && ns.StartsWith("MLOpsDemo.", StringComparison.Ordinal))
                {
                    namespaces.Add(ns);
                }
            }
        }

        return namespaces;
    }
}
