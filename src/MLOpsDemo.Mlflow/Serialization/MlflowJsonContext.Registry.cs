using System.Text.Json.Serialization;
using MLOpsDemo.Mlflow.LoggedModels;
using MLOpsDemo.Mlflow.Registry;

namespace MLOpsDemo.Mlflow.Serialization;

/// <summary>
/// The registry's and logged models' wire types. A separate context because System.Text.Json's source generator does not
/// support [JsonSerializable] attributes spread over several partial declarations of one context (it emits duplicate
/// hint names and then nothing); <see cref="Registry.RegistryRest"/> combines it with <see cref="MlflowJsonContext"/>.
/// Same options as <see cref="MlflowJsonContext"/>.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowReadingFromString | JsonNumberHandling.AllowNamedFloatingPointLiterals,
    PropertyNameCaseInsensitive = false)]
[JsonSerializable(typeof(RegisteredModel))]
[JsonSerializable(typeof(ModelVersion))]
[JsonSerializable(typeof(CreateRegisteredModelBody))]
[JsonSerializable(typeof(RegisteredModelResponse))]
[JsonSerializable(typeof(RenameRegisteredModelBody))]
[JsonSerializable(typeof(UpdateRegisteredModelBody))]
[JsonSerializable(typeof(NameBody))]
[JsonSerializable(typeof(SearchRegisteredModelsResponse))]
[JsonSerializable(typeof(RegisteredModelTagBody))]
[JsonSerializable(typeof(GetLatestVersionsBody))]
[JsonSerializable(typeof(ModelVersionsResponse))]
[JsonSerializable(typeof(CreateModelVersionBody))]
[JsonSerializable(typeof(ModelVersionResponse))]
[JsonSerializable(typeof(UpdateModelVersionBody))]
[JsonSerializable(typeof(NameVersionBody))]
[JsonSerializable(typeof(SearchModelVersionsResponse))]
[JsonSerializable(typeof(DownloadUriResponse))]
[JsonSerializable(typeof(ModelVersionTagBody))]
[JsonSerializable(typeof(TransitionStageBody))]
[JsonSerializable(typeof(SetAliasBody))]
[JsonSerializable(typeof(AliasBody))]
[JsonSerializable(typeof(LogModelBody))]
[JsonSerializable(typeof(LoggedModel))]
[JsonSerializable(typeof(CreateLoggedModelBody))]
[JsonSerializable(typeof(LoggedModelResponse))]
[JsonSerializable(typeof(FinalizeLoggedModelBody))]
[JsonSerializable(typeof(ModelIdBody))]
[JsonSerializable(typeof(SetLoggedModelTagsBody))]
[JsonSerializable(typeof(SearchLoggedModelsBody))]
[JsonSerializable(typeof(SearchLoggedModelsResponse))]
internal sealed partial class MlflowRegistryJsonContext : JsonSerializerContext
{
}
