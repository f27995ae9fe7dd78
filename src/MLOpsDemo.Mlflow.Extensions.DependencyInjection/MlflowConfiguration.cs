using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace MLOpsDemo.Mlflow.Extensions.DependencyInjection;

/// <summary>
/// Reads the simple settings of <see cref="MlflowClientOptions"/> from a configuration section without reflection
/// (trimming- and AOT-safe). Keys are the property names; time spans accept <c>hh:mm:ss</c> or a number of seconds.
/// </summary>
internal static class MlflowConfiguration
{
    public static void Apply(IConfiguration section, MlflowClientOptions options, string sectionPath)
    {
        options.TrackingUri = String(section, nameof(MlflowClientOptions.TrackingUri)) ?? options.TrackingUri;
        options.Username = String(section, nameof(MlflowClientOptions.Username)) ?? options.Username;
        options.Password = String(section, nameof(MlflowClientOptions.Password)) ?? options.Password;
        options.Token = String(section, nameof(MlflowClientOptions.Token)) ?? options.Token;
        options.Workspace = String(section, nameof(MlflowClientOptions.Workspace)) ?? options.Workspace;
        options.SqliteSchemaVersion = String(section, nameof(MlflowClientOptions.SqliteSchemaVersion)) ?? options.SqliteSchemaVersion;
        options.InsecureTls = Bool(section, sectionPath, nameof(MlflowClientOptions.InsecureTls)) ?? options.InsecureTls;
        options.RespectRetryAfter = Bool(section, sectionPath, nameof(MlflowClientOptions.RespectRetryAfter)) ?? options.RespectRetryAfter;
        options.TruncateLongValues = Bool(section, sectionPath, nameof(MlflowClientOptions.TruncateLongValues)) ?? options.TruncateLongValues;
        options.MaxRetries = Int(section, sectionPath, nameof(MlflowClientOptions.MaxRetries)) ?? options.MaxRetries;
        options.DefaultPageSize = Int(section, sectionPath, nameof(MlflowClientOptions.DefaultPageSize)) ?? options.DefaultPageSize;
        options.BackoffFactor = Time(section, sectionPath, nameof(MlflowClientOptions.BackoffFactor)) ?? options.BackoffFactor;
        options.BackoffJitter = Time(section, sectionPath, nameof(MlflowClientOptions.BackoffJitter)) ?? options.BackoffJitter;
        options.MaxBackoff = Time(section, sectionPath, nameof(MlflowClientOptions.MaxBackoff)) ?? options.MaxBackoff;
        options.Timeout = Time(section, sectionPath, nameof(MlflowClientOptions.Timeout)) ?? options.Timeout;
    }

    /// <summary>Copies every setting of <paramref name="source"/> into <paramref name="target"/>.</summary>
    public static void Copy(MlflowClientOptions source, MlflowClientOptions target)
    {
        target.TrackingUri = source.TrackingUri;
        target.Username = source.Username;
        target.Password = source.Password;
        target.Token = source.Token;
        target.Credential = source.Credential;
        target.Workspace = source.Workspace;
        target.SqliteSchemaVersion = source.SqliteSchemaVersion;
        target.InsecureTls = source.InsecureTls;
        target.RespectRetryAfter = source.RespectRetryAfter;
        target.TruncateLongValues = source.TruncateLongValues;
        target.MaxRetries = source.MaxRetries;
        target.DefaultPageSize = source.DefaultPageSize;
        target.BackoffFactor = source.BackoffFactor;
        target.BackoffJitter = source.BackoffJitter;
        target.MaxBackoff = source.MaxBackoff;
        target.Timeout = source.Timeout;
        target.Logging = source.Logging;
        target.TimeProvider = source.TimeProvider;
        target.LoggerFactory = source.LoggerFactory;
    }

    private static string? String(IConfiguration section, string key) =>
        section[key] is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    private static bool? Bool(IConfiguration section, string path, string key) =>
        String(section, key) is not { } raw ? null
        : bool.TryParse(raw, out var value) ? value
        : raw == "1" ? true
        : raw == "0" ? false
        : throw new InvalidOperationException($"Configuration setting {Path(path, key)} must be true or false; it is '{raw}'.");

    private static int? Int(IConfiguration section, string path, string key) =>
        String(section, key) is not { } raw ? null
        : int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value
        : throw new InvalidOperationException($"Configuration setting {Path(path, key)} must be a whole number; it is '{raw}'.");

    private static TimeSpan? Time(IConfiguration section, string path, string key)
    {
        if (String(section, key) is not { } raw)
        {
            return null;
        }

        if (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds))
        {
            return TimeSpan.FromSeconds(seconds);
        }

        if (TimeSpan.TryParse(raw, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        throw new InvalidOperationException($"Configuration setting {Path(path, key)} must be a time span (hh:mm:ss) or a number of seconds; it is '{raw}'.");
    }

    private static string Path(string sectionPath, string key) => sectionPath.Length == 0 ? key : sectionPath + ":" + key;
}
