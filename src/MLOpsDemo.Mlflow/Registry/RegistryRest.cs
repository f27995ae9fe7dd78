using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using MLOpsDemo.Mlflow.Serialization;
using Refit;

namespace MLOpsDemo.Mlflow.Registry;

/// <summary>Creates the Refit clients of the registry and logged models, serializing with both JSON contexts.</summary>
internal static class RegistryRest
{
    public static readonly JsonSerializerOptions JsonOptions = new(MlflowRegistryJsonContext.Default.Options)
    {
        TypeInfoResolver = JsonTypeInfoResolver.Combine(MlflowRegistryJsonContext.Default, MlflowJsonContext.Default),
    };

    private static readonly RefitSettings s_settings = new()
    {
        ContentSerializer = new SystemTextJsonContentSerializer(JsonOptions),
        Buffered = true,
    };

    public static T Create<T>(HttpClient httpClient, Uri baseUri)
    {
        // Same base-address rule as Rest.RestApi.Create: Refit joins paths to a base address without a trailing '/'.
        var wanted = new Uri(baseUri.GetLeftPart(UriPartial.Path).TrimEnd('/'));
        if (httpClient.BaseAddress != wanted)
        {
            lock (httpClient)
            {
                if (httpClient.BaseAddress != wanted)
                {
                    httpClient.BaseAddress = wanted;
                }
            }
        }

        return RestService.ForGenerated<T>(httpClient, s_settings);
    }
}
