using System.Globalization;
using System.Text;

namespace MLOpsDemo.Mlflow.Sqlite;

/// <summary>One released MLflow database schema: the releases that create it, its alembic head and its DDL resource.</summary>
/// <param name="Label">The releases as users name them, e.g. <c>3.5–3.7</c>.</param>
/// <param name="Major">The major version of every release in <see cref="Label"/>.</param>
/// <param name="FirstMinor">The first minor version.</param>
/// <param name="LastMinor">The last minor version.</param>
/// <param name="Patch">For a schema that differs between patch releases (3.11.x): the patch, else <see langword="null"/>.</param>
/// <param name="Revision">The alembic head revision MLflow stamps into <c>alembic_version</c>.</param>
/// <param name="Resource">The file name of the embedded dump under <c>Sqlite/Schemas/</c>.</param>
internal sealed record SqliteSchemaRelease(string Label, int Major, int FirstMinor, int LastMinor, int? Patch, string Revision, string Resource)
{
    /// <summary>The oldest release of the range, e.g. <c>3.5</c>, for "needs MLflow ≥ …" messages.</summary>
    public string FirstVersion => Patch is { } patch
        ? string.Create(CultureInfo.InvariantCulture, $"{Major}.{FirstMinor}.{patch}")
        : string.Create(CultureInfo.InvariantCulture, $"{Major}.{FirstMinor}");
}

/// <summary>
/// The schema of every MLflow release since 2.0 that this library can create, and the names users give them.
/// </summary>
/// <remarks>
/// Each schema is kept as MLflow's own dump of the fresh database that release creates (<c>Sqlite/Schemas/*.sql</c>,
/// embedded resources, byte-identical to <c>TestData/mlflow-golden/sqlite/releases/</c>): a file is created by running
/// that dump, so <c>sqlite_master</c> holds exactly the text MLflow's migrations leave behind (including the
/// <c>ALTER TABLE … ADD COLUMN</c> splices and batch-rebuilt tables), which a "newest schema minus differences" rewrite
/// would have to reproduce statement by statement. The dumps stay plain SQL that <c>diff</c> compares between releases;
/// this table is the only place that names them. Seed rows come from the dump as well (<c>alembic_version</c>,
/// <c>workspaces</c>), except the Default experiment, whose artifact location and time the store fills in.
/// </remarks>
internal static class SqliteSchemaCatalog
{
    /// <summary>The schemas, oldest first. Releases that share a head share a row.</summary>
    /// <remarks>
    /// MLflow 2.12 is not in the dumps; its head is <c>acf3f17fdcc7</c> like 2.8–2.11: the next migration
    /// (<c>867495a8f9d4</c>, trace tables) was created on 2024-04-27, after 2.12.0 was released, and shipped in 2.13.
    /// </remarks>
    public static IReadOnlyList<SqliteSchemaRelease> Releases { get; } =
    [
        new("2.0–2.2", 2, 0, 2, null, "97727af70f4d", "2.0-2.2.sql"),
        new("2.3", 2, 3, 3, null, "3500859a5d39", "2.3.sql"),
        new("2.4–2.7", 2, 4, 7, null, "7f2a7d5fae7d", "2.4-2.7.sql"),
        new("2.8–2.12", 2, 8, 12, null, "acf3f17fdcc7", "2.8-2.11.sql"),
        new("2.13", 2, 13, 13, null, "867495a8f9d4", "2.13.sql"),
        new("2.14", 2, 14, 14, null, "5b0e9adcef9c", "2.14.sql"),
        new("2.15–2.16", 2, 15, 16, null, "4465047574b1", "2.15-2.16.sql"),
        new("2.17", 2, 17, 17, null, "f5a4f2784254", "2.17.sql"),
        new("2.18–2.22", 2, 18, 22, null, "0584bdc529eb", "2.18-2.22.sql"),
        new("3.0–3.1", 3, 0, 1, null, "6953534de441", "3.0-3.1.sql"),
        new("3.2", 3, 2, 2, null, "770bee3ae1dd", "3.2.sql"),
        new("3.3", 3, 3, 3, null, "1a0cddfcaa16", "3.3.sql"),
        new("3.4", 3, 4, 4, null, "71994744cf8e", "3.4.sql"),
        new("3.5–3.7", 3, 5, 7, null, "bf29a5ff90ea", "3.5-3.7.sql"),
        new("3.8", 3, 8, 8, null, "1bd49d398cd23", "3.8.sql"),
        new("3.9", 3, 9, 9, null, "2c33131f4dae", "3.9.sql"),
        new("3.10", 3, 10, 10, null, "1b5f0d9ad7c1", "3.10.sql"),
        new("3.11.0", 3, 11, 11, 0, "76601a5f987d", "3.11.0.sql"),
        new("3.11.1", 3, 11, 11, 1, "ae8bbe7743c9", "3.11.1.sql"),
        new("3.11.2", 3, 11, 11, 2, "7d34483879f0", "3.11.2.dev0.sql"),
    ];

    /// <summary>The schema new files get by default: the newest one (MLflow 3.11.2.dev0, master).</summary>
    public static SqliteSchemaRelease Newest => Releases[^1];

    /// <summary>The names <see cref="MlflowClientOptions.SqliteSchemaVersion"/> accepts, for error messages.</summary>
    public static string SupportedVersions => string.Join(", ", Releases.Select(r => r.Label));

    /// <summary>The release whose head is <paramref name="revision"/>, or <see langword="null"/> for a revision this library does not know.</summary>
    public static SqliteSchemaRelease? FindByRevision(string? revision) =>
        Releases.FirstOrDefault(r => string.Equals(r.Revision, revision, StringComparison.Ordinal));

    /// <summary>
    /// The schema of the MLflow version <paramref name="version"/> (<c>2.22</c>, <c>3.5.1</c>, <c>3.11.1</c>), or
    /// <see langword="null"/> with <paramref name="error"/> saying why.
    /// </summary>
    public static SqliteSchemaRelease? TryResolve(string version, out string? error)
    {
        error = null;
        var parts = version.Trim().TrimStart('v', 'V').Split('.');
        if (parts.Length < 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var minor))
        {
            error = $"'{version}' is not an MLflow version; write it as major.minor or major.minor.patch (for example 2.22, 3.5 or 3.11.1). Supported: {SupportedVersions}.";
            return null;
        }

        var matches = Releases.Where(r => r.Major == major && minor >= r.FirstMinor && minor <= r.LastMinor).ToList();
        if (matches.Count == 1 && matches[0].Patch is null)
        {
            return matches[0];
        }

        if (matches.Count > 1)
        {
            // 3.11.0, 3.11.1 and 3.11.2 have different heads: the patch decides which one MLflow accepts.
            var patchDigits = parts.Length > 2 ? new string(parts[2].TakeWhile(char.IsAsciiDigit).ToArray()) : "";
            if (patchDigits.Length > 0 && int.TryParse(patchDigits, NumberStyles.None, CultureInfo.InvariantCulture, out var patch)
                && matches.FirstOrDefault(r => r.Patch == patch) is { } exact)
            {
                return exact;
            }

            error = $"MLflow {major}.{minor} releases differ in their database schema; give the patch release you run ({string.Join(", ", matches.Select(m => m.Label))}).";
            return null;
        }

        error = $"This library has no database schema for MLflow {version}. Supported: {SupportedVersions} (a newer MLflow opens a file of the newest of these after 'mlflow db upgrade').";
        return null;
    }

    /// <summary>The statements that create a fresh database of <paramref name="release"/>: the dump without its transaction and its Default experiment row.</summary>
    public static string ReadDdl(SqliteSchemaRelease release)
    {
        var name = "MLOpsDemo.Mlflow.Sqlite.Schemas." + release.Resource;
        using var stream = typeof(SqliteSchemaCatalog).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The embedded schema '{name}' is missing from {typeof(SqliteSchemaCatalog).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var ddl = new StringBuilder();
        while (reader.ReadLine() is { } line)
        {
            if (line is "BEGIN TRANSACTION;" or "COMMIT;" || line.StartsWith("INSERT INTO \"experiments\"", StringComparison.Ordinal))
            {
                continue;
            }

            ddl.Append(line).Append('\n');
        }

        return ddl.ToString();
    }
}
