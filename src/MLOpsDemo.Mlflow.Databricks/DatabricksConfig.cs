namespace MLOpsDemo.Mlflow.Databricks;

/// <summary>Where a Databricks workspace is and how to authenticate to it. <see cref="ToString"/> never shows secrets.</summary>
public sealed record DatabricksConfig
{
    /// <summary>The workspace URL, e.g. <c>https://adb-123.4.azuredatabricks.net</c> (no trailing slash).</summary>
    public required string Host { get; init; }

    /// <summary>A personal access token (<c>DATABRICKS_TOKEN</c> or <c>token</c> in the profile).</summary>
    public string? Token { get; init; }

    /// <summary>The OAuth service principal's client id (<c>DATABRICKS_CLIENT_ID</c> or <c>client_id</c>).</summary>
    public string? ClientId { get; init; }

    /// <summary>The OAuth service principal's secret (<c>DATABRICKS_CLIENT_SECRET</c> or <c>client_secret</c>).</summary>
    public string? ClientSecret { get; init; }

    /// <summary>The profile of <c>~/.databrickscfg</c> the settings came from, or <see langword="null"/> for the environment.</summary>
    public string? Profile { get; init; }

    /// <summary>Whether OAuth machine-to-machine is used (client id and secret set, no token).</summary>
    public bool UsesOAuth => Token is null && ClientId is not null && ClientSecret is not null;

    /// <summary>A description without secrets.</summary>
    /// <returns>The description.</returns>
    public override string ToString() =>
        $"DatabricksConfig {{ Host = {Host}, Profile = {Profile ?? "(environment)"}, Auth = {(Token is not null ? "token (***)" : UsesOAuth ? "OAuth M2M (***)" : "none")} }}";
}
