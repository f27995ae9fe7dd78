using Microsoft.Extensions.Options;

namespace MLOpsDemo.Mlflow.Extensions.DependencyInjection;

/// <summary>Validates the options of one named client with <see cref="MlflowClientOptions.Validate"/> (run at start-up).</summary>
internal sealed class MlflowOptionsValidator(string optionsName, string clientName) : IValidateOptions<MlflowClientOptions>
{
    public ValidateOptionsResult Validate(string? name, MlflowClientOptions options)
    {
        if (!string.Equals(name ?? Options.DefaultName, optionsName, StringComparison.Ordinal))
        {
            return ValidateOptionsResult.Skip;
        }

        var label = clientName.Length == 0 ? "the MLflow client" : $"the MLflow client '{clientName}'";
        try
        {
            options.Validate();
        }
        catch (ArgumentException ex)
        {
            return ValidateOptionsResult.Fail($"Invalid settings for {label}: {ex.Message}");
        }

        var uri = options.TrackingUri;
        if (uri is not null && !uri.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !uri.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
            && !uri.StartsWith("sqlite:", StringComparison.OrdinalIgnoreCase))
        {
            var hint = uri.StartsWith("arn:", StringComparison.OrdinalIgnoreCase) ? "add the MLOpsDemo.Mlflow.Aws package and call .AddSageMakerAuth() on the builder"
                : uri.StartsWith("databricks", StringComparison.OrdinalIgnoreCase) ? "add the MLOpsDemo.Mlflow.Databricks package and call .AddDatabricksAuth() on the builder"
                : uri.StartsWith("azureml:", StringComparison.OrdinalIgnoreCase) ? "add the MLOpsDemo.Mlflow.Azure package and call .AddAzureMlAuth() on the builder"
                : "use http(s)://host:port for an MLflow server or sqlite:///mlflow.db for a local store";
            return ValidateOptionsResult.Fail($"Invalid settings for {label}: MlflowClientOptions.TrackingUri '{uri.Split('@')[^1]}' is not supported as configured; {hint}.");
        }

        return ValidateOptionsResult.Success;
    }
}
