using System.Net;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using MLOpsDemo.Mlflow.Serialization;
using Refit;

namespace MLOpsDemo.Mlflow.Rest;

/// <summary>Creates Refit clients over a shared <see cref="HttpClient"/> and maps their failures to <see cref="MlflowException"/>.</summary>
internal static class RestApi
{
    private static readonly RefitSettings s_settings = new()
    {
        ContentSerializer = new SystemTextJsonContentSerializer(MlflowJsonContext.Default.Options),
        Buffered = true,
    };

    /// <summary>Creates a Refit implementation of <typeparamref name="T"/> that sends through <paramref name="httpClient"/>.</summary>
    public static T Create<T>(HttpClient httpClient, Uri baseUri)
    {
        EnsureBaseAddress(httpClient, baseUri);
        return RestService.ForGenerated<T>(httpClient, s_settings);
    }

    /// <summary>Refit joins paths to the base address's path, which must not end in '/'.</summary>
    private static void EnsureBaseAddress(HttpClient httpClient, Uri baseUri)
    {
        var wanted = new Uri(baseUri.GetLeftPart(UriPartial.Path).TrimEnd('/'));
        if (httpClient.BaseAddress == wanted)
        {
            return;
        }

        lock (httpClient)
        {
            if (httpClient.BaseAddress != wanted)
            {
                httpClient.BaseAddress = wanted;
            }
        }
    }

    /// <summary>Runs a call and converts Refit and JSON failures into <see cref="MlflowException"/>.</summary>
    public static async Task<T> CallAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (ApiException ex)
        {
            throw MlflowErrors.FromResponse(ex.StatusCode, ex.Content, ex);
        }
        catch (ApiRequestException ex) when (ex.InnerException is { } transport)
        {
            // Refit wraps transport failures (no response); surface the original HttpRequestException,
            // TimeoutException or OperationCanceledException so callers and the create dedupe logic see what happened.
            ExceptionDispatchInfo.Capture(transport).Throw();
            throw;
        }
        catch (JsonException ex)
        {
            throw new MlflowException(HttpStatusCode.OK, MlflowErrorCodes.InternalError, $"The server's answer could not be read as MLflow JSON: {ex.Message}", null, ex);
        }
    }
}
