using MLOpsDemo.Mlflow.Sqlite;

namespace MLOpsDemo.Mlflow.Stores;

/// <summary>Creates the stores that are not REST.</summary>
internal static class StoreFactory
{
    /// <summary>
    /// Creates the store of a <c>sqlite:///…</c> URI: <c>sqlite:///relative.db</c> is relative to the current directory,
    /// <c>sqlite:////absolute.db</c> (four slashes) is absolute. The file is opened on first use.
    /// </summary>
    public static ITrackingStore CreateSqliteTrackingStore(string uri, MlflowClientOptions options) =>
        new SqliteTrackingStore(GetDatabasePath(uri), options);

    /// <summary>The absolute file path of a <c>sqlite:///</c> URI (query string ignored).</summary>
    public static string GetDatabasePath(string uri)
    {
        const string prefix = "sqlite:///";
        if (!uri.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) || uri.Length <= prefix.Length)
        {
            throw new ArgumentException($"'{uri}' is not a valid SQLite URI. Use sqlite:///relative/path.db or sqlite:////absolute/path.db.", nameof(uri));
        }

        var path = uri[prefix.Length..];
        var query = path.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            path = path[..query];
        }

        if (path.Length == 0 || path == ":memory:")
        {
            throw new ArgumentException($"'{uri}' does not name a database file. Use sqlite:///mlflow.db or sqlite:////absolute/path.db.", nameof(uri));
        }

        return Path.GetFullPath(Uri.UnescapeDataString(path));
    }
}
