using System.Net;
using System.Text.RegularExpressions;

namespace MLOpsDemo.Mlflow.Tests.Sqlite;

public class SqliteSchemaTests
{
    [Fact]
    public async Task A_new_database_has_exactly_the_MLflow_3_11_schema_revision_and_seed_rows()
    {
        using var folder = new TempFolder();
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        using (var client = folder.Client())
        {
            var experiment = await client.Experiments.GetAsync("0", TestContext.Current.CancellationToken);
            Assert.Equal("Default", experiment.Name);
            Assert.Equal(Path.GetFullPath("mlruns") + "/0", experiment.ArtifactLocation);
        }

        using var connection = SqliteGolden.Open(folder.DatabasePath);
        var actual = new List<string>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                actual.Add(Canonical(reader.GetString(0)));
            }
        }

        var expected = ReadStatements(Path.Combine(SqliteGolden.Directory, "schema-3.11.sql")).Select(Canonical).ToList();
        Assert.Equal(110, expected.Count);
        Assert.Equal(expected.Order(StringComparer.Ordinal), actual.Order(StringComparer.Ordinal));

        Assert.Equal("7d34483879f0", SqliteGolden.Scalar(connection, "SELECT version_num FROM alembic_version"));
        Assert.Equal(1L, SqliteGolden.Scalar(connection, "SELECT count(*) FROM alembic_version"));
        Assert.Equal("default|Default workspace for legacy resources|", SqliteGolden.Scalar(connection, "SELECT name || '|' || description || '|' || ifnull(default_artifact_root, '') FROM workspaces"));
        Assert.Equal(1L, SqliteGolden.Scalar(connection, "SELECT count(*) FROM experiments"));
        Assert.Equal(
            $"0|Default|{Path.GetFullPath("mlruns")}/0|active|default",
            SqliteGolden.Scalar(connection, "SELECT experiment_id || '|' || name || '|' || artifact_location || '|' || lifecycle_stage || '|' || workspace FROM experiments"));
        Assert.Equal(1L, SqliteGolden.Scalar(connection, "SELECT creation_time = last_update_time FROM experiments"));
        Assert.InRange((long)SqliteGolden.Scalar(connection, "SELECT creation_time FROM experiments")!, before, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Assert.Equal("delete", SqliteGolden.Scalar(connection, "PRAGMA journal_mode")); // MLflow's rollback journal, never WAL
        Assert.False(Directory.Exists(Path.Combine(folder.Path, "mlruns", "0")), "The store must not create mlruns/0 (a meta.yaml there would switch MLflow to the file store).");
    }

    [Theory]
    [InlineData("populated-3.11.db")]
    [InlineData("populated-2.22.db")]
    public async Task Known_revisions_open_without_changing_the_schema(string file)
    {
        using var folder = new TempFolder();
        File.Copy(Path.Combine(SqliteGolden.Directory, file), folder.DatabasePath);
        string Revision()
        {
            using var c = SqliteGolden.Open(folder.DatabasePath);
            return (string)SqliteGolden.Scalar(c, "SELECT version_num FROM alembic_version")!;
        }

        var revision = Revision();
        using (var client = folder.Client())
        {
            var id = await client.Experiments.CreateAsync("new-one", cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal("3", id);
        }

        Assert.Equal(revision, Revision());
    }

    [Theory]
    [InlineData(null, "no alembic_version table")]
    public async Task A_file_without_a_revision_is_refused_and_nothing_is_written(string? revision, string expected)
    {
        using var folder = new TempFolder();
        File.Copy(Path.Combine(SqliteGolden.Directory, "populated-3.11.db"), folder.DatabasePath);
        using (var c = SqliteGolden.Open(folder.DatabasePath))
        {
            SqliteGolden.Execute(c, revision is null ? "DROP TABLE alembic_version" : "UPDATE alembic_version SET version_num = $v", ("$v", revision));
        }

        var bytes = await File.ReadAllBytesAsync(folder.DatabasePath, TestContext.Current.CancellationToken);
        using var client = folder.Client();
        var ex = await Assert.ThrowsAsync<MlflowException>(() => client.Experiments.CreateAsync("x", cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(MlflowErrorCodes.InvalidState, ex.ErrorCode);
        Assert.Equal(HttpStatusCode.InternalServerError, ex.StatusCode);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Contains("mlflow db upgrade", ex.Message, StringComparison.Ordinal);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(folder.DatabasePath, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Sqlite_uris_resolve_relative_and_absolute_paths()
    {
        Assert.Equal(Path.GetFullPath("mlflow.db"), MLOpsDemo.Mlflow.Stores.StoreFactory.GetDatabasePath("sqlite:///mlflow.db"));
        Assert.Equal(Path.GetFullPath("sub/x.db"), MLOpsDemo.Mlflow.Stores.StoreFactory.GetDatabasePath("sqlite:///sub/x.db"));
        Assert.Equal("/tmp/abs/x.db", MLOpsDemo.Mlflow.Stores.StoreFactory.GetDatabasePath("sqlite:////tmp/abs/x.db"));
        Assert.Equal("/tmp/abs/x.db", MLOpsDemo.Mlflow.Stores.StoreFactory.GetDatabasePath("sqlite:////tmp/abs/x.db?mode=rwc"));
        Assert.Throws<ArgumentException>(() => MLOpsDemo.Mlflow.Stores.StoreFactory.GetDatabasePath("sqlite:///:memory:"));
    }

    [Fact]
    public void Constructing_a_client_does_not_create_the_file()
    {
        using var folder = new TempFolder();
        using var client = folder.Client();
        Assert.False(File.Exists(folder.DatabasePath));
        Assert.Equal(folder.Uri, client.TrackingUri);
    }

    /// <summary>README "Test 1" canonical form; CREATE TABLE constraints compared as a set.</summary>
    private static string Canonical(string sql)
    {
        var s = Regex.Replace(sql, @"\s+", " ").Trim().TrimEnd(';').Trim();
        s = Regex.Replace(s, @"\s*([(),])\s*", "$1");
        if (!s.StartsWith("CREATE TABLE", StringComparison.Ordinal))
        {
            return s;
        }

        var open = s.IndexOf('(', StringComparison.Ordinal);
        var inner = s[(open + 1)..^1];
        var items = SplitTopLevel(inner);
        var columns = items.TakeWhile(i => !i.StartsWith("CONSTRAINT", StringComparison.Ordinal) && !i.StartsWith("PRIMARY KEY", StringComparison.Ordinal) && !i.StartsWith("UNIQUE", StringComparison.Ordinal) && !i.StartsWith("FOREIGN KEY", StringComparison.Ordinal) && !i.StartsWith("CHECK", StringComparison.Ordinal)).ToList();
        var constraints = items.Skip(columns.Count).Order(StringComparer.Ordinal);
        return s[..(open + 1)] + string.Join(",", columns.Concat(constraints)) + ")";
    }

    private static List<string> SplitTopLevel(string text)
    {
        var items = new List<string>();
        var depth = 0;
        var quote = '\0';
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quote != '\0')
            {
                quote = c == quote ? '\0' : quote;
                continue;
            }

            switch (c)
            {
                case '\'' or '"':
                    quote = c;
                    break;
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    break;
                case ',' when depth == 0:
                    items.Add(text[start..i]);
                    start = i + 1;
                    break;
            }
        }

        items.Add(text[start..]);
        return items;
    }

    private static List<string> ReadStatements(string file)
    {
        var statements = new List<string>();
        var current = new List<string>();
        foreach (var line in File.ReadLines(file))
        {
            if (line.StartsWith("--", StringComparison.Ordinal))
            {
                continue;
            }

            current.Add(line);
            if (line.TrimEnd().EndsWith(';'))
            {
                statements.Add(string.Join("\n", current));
                current.Clear();
            }
        }

        return statements;
    }
}
