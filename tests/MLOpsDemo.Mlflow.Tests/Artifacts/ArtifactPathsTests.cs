using MLOpsDemo.Mlflow.Artifacts;

namespace MLOpsDemo.Mlflow.Tests.Artifacts;

public sealed class ArtifactPathsTests
{
    [Theory]
    [InlineData(null, "")]
    [InlineData("", "")]
    [InlineData(".", "")]
    [InlineData("model", "model")]
    [InlineData("model/", "model")]
    [InlineData("a b/ünï #1%.txt", "a b/ünï #1%.txt")]
    [InlineData("..hidden/x..y", "..hidden/x..y")]
    public void Caller_paths_are_normalized(string? input, string expected) =>
        Assert.Equal(expected, ArtifactPaths.NormalizeUserPath(input, "path"));

    [Theory]
    [InlineData("../x", "'..'")]
    [InlineData("a/../../b", "'..'")]
    [InlineData("a/..", "'..'")]
    [InlineData("/etc/passwd", "absolute")]
    [InlineData("C:\\x", "backslash")]
    [InlineData("C:/x", "drive letter")]
    [InlineData("a//b", "empty segment")]
    [InlineData("a/./b", "'.' segment")]
    [InlineData("a\0b", "control character")]
    public void Unsafe_caller_paths_are_refused_with_the_reason(string input, string reason)
    {
        var ex = Assert.Throws<ArgumentException>(() => ArtifactPaths.NormalizeUserPath(input, "path"));
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
        Assert.Equal("path", ex.ParamName);
    }

    [Fact]
    public void Segments_are_escaped_one_by_one() =>
        Assert.Equal("a%20b/%C3%BC%23%25%3F/c%2Bd", ArtifactPaths.EscapeSegments("a b/ü#%?/c+d"));

    [Theory]
    [InlineData("../../x")]
    [InlineData("/etc/passwd")]
    [InlineData("C:\\x")]
    [InlineData("a/../../b")]
    public void Local_targets_outside_the_destination_are_refused(string hostile)
    {
        using var temp = new TempDir();
        var ex = Assert.Throws<UnsafeArtifactPathException>(() => ArtifactPaths.ResolveLocalTarget(temp.Path, hostile));
        Assert.Equal(hostile, ex.ArtifactPath);
    }

    [Fact]
    public void Local_targets_inside_the_destination_are_resolved()
    {
        using var temp = new TempDir();
        Assert.Equal(Path.Combine(temp.Path, "a", "b c.txt"), ArtifactPaths.ResolveLocalTarget(temp.Path, "a/b c.txt"));
    }

    [Fact]
    public void A_symlink_inside_the_destination_that_stays_inside_is_allowed()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Creating symbolic links needs extra privileges on Windows.");
        using var temp = new TempDir();
        Directory.CreateDirectory(temp.Combine("real"));
        Directory.CreateSymbolicLink(temp.Combine("alias"), temp.Combine("real"));

        Assert.Equal(Path.Combine(temp.Path, "alias", "f.txt"), ArtifactPaths.ResolveLocalTarget(temp.Path, "alias/f.txt"));
    }
}
