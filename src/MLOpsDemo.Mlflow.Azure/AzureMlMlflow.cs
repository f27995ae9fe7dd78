using Azure.Core;
using Azure.Identity;

namespace MLOpsDemo.Mlflow.Azure;

/// <summary>
/// Configures MLflow clients for Azure Machine Learning workspaces: an <c>azureml://&lt;region&gt;.api.azureml.ms/mlflow/v1.0/subscriptions/…/workspaces/&lt;ws&gt;</c>
/// tracking URI becomes the same URI with <c>https://</c> (the usual <c>/api/2.0/mlflow/…</c> paths follow), and every
/// request carries a Microsoft Entra bearer token for <see cref="Scope"/>, refreshed 5 minutes before it expires and
/// after a 401. Experiment ids on Azure ML are GUIDs; the client treats ids as opaque strings.
/// </summary>
public static class AzureMlMlflow
{
    /// <summary>The token scope: <c>https://management.azure.com/.default</c>.</summary>
    public const string Scope = "https://management.azure.com/.default";

    /// <summary>Whether <paramref name="trackingUri"/> is an <c>azureml://</c> URI.</summary>
    /// <param name="trackingUri">A tracking URI.</param>
    /// <returns><see langword="true"/> for <c>azureml://…</c>.</returns>
    public static bool IsAzureMlUri(string? trackingUri) =>
        trackingUri is not null && trackingUri.TrimStart().StartsWith("azureml://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Maps an <c>azureml://host/path</c> tracking URI to <c>https://host/path</c>.</summary>
    /// <param name="trackingUri">The azureml URI.</param>
    /// <returns>The https URI.</returns>
    /// <exception cref="ArgumentException">The URI is not <c>azureml://</c> or has no host.</exception>
    public static Uri ToHttpsUri(string trackingUri)
    {
        ArgumentNullException.ThrowIfNull(trackingUri);
        var trimmed = trackingUri.Trim();
        if (!IsAzureMlUri(trimmed))
        {
            throw new ArgumentException($"'{trimmed}' is not an Azure ML tracking URI; expected azureml://<region>.api.azureml.ms/mlflow/v1.0/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices/workspaces/<ws>.", nameof(trackingUri));
        }

        var https = "https://" + trimmed["azureml://".Length..];
        if (!Uri.TryCreate(https, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host) || trimmed.Length == "azureml://".Length)
        {
            throw new ArgumentException($"'{trimmed}' has no host; expected azureml://<region>.api.azureml.ms/mlflow/v1.0/subscriptions/….", nameof(trackingUri));
        }

        return new UriBuilder(uri) { Query = "", Fragment = "" }.Uri;
    }

    /// <summary>A bearer credential that takes tokens for <see cref="Scope"/> from <paramref name="credential"/>.</summary>
    /// <param name="credential">For example <see cref="DefaultAzureCredential"/> or a managed identity.</param>
    /// <param name="timeProvider">The clock used to decide when a token is about to expire.</param>
    /// <returns>The credential.</returns>
    public static MlflowCredential CreateCredential(TokenCredential credential, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(credential);
        var context = new TokenRequestContext([Scope]);
        return MlflowCredential.FromTokenProvider(
            async ct =>
            {
                var token = await credential.GetTokenAsync(context, ct).ConfigureAwait(false);
                return new MlflowAccessToken(token.Token, token.ExpiresOn);
            },
            TimeSpan.FromMinutes(5),
            timeProvider);
    }

    /// <summary>
    /// When <see cref="MlflowClientOptions.TrackingUri"/> is <c>azureml://…</c>: rewrites it to https and sets the
    /// bearer credential. Other options are returned unchanged.
    /// </summary>
    /// <param name="options">The client options; changed in place.</param>
    /// <param name="credential">The token source; <see langword="null"/> for a new <see cref="DefaultAzureCredential"/>.</param>
    /// <returns><paramref name="options"/>.</returns>
    public static MlflowClientOptions Configure(MlflowClientOptions options, TokenCredential? credential = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!IsAzureMlUri(options.TrackingUri))
        {
            return options;
        }

        options.TrackingUri = ToHttpsUri(options.TrackingUri!).ToString();
        options.Credential = CreateCredential(credential ?? new DefaultAzureCredential(), options.TimeProvider);
        return options;
    }

    /// <summary>Creates a client for an Azure ML workspace; retry settings come from the <c>MLFLOW_*</c> environment variables.</summary>
    /// <param name="trackingUri">The workspace's <c>azureml://</c> tracking URI.</param>
    /// <param name="credential">The token source; <see langword="null"/> for <see cref="DefaultAzureCredential"/>.</param>
    /// <returns>The client.</returns>
    public static MlflowClient CreateClient(string trackingUri, TokenCredential? credential = null)
    {
        var options = MlflowClientOptions.FromEnvironment();
        _ = ToHttpsUri(trackingUri);
        options.TrackingUri = trackingUri.Trim();
        return new MlflowClient(Configure(options, credential));
    }
}
