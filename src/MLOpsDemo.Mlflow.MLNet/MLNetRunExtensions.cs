using Microsoft.ML;

namespace MLOpsDemo.Mlflow.MLNet;

/// <summary>ML.NET model logging on the fluent <see cref="MlflowRun"/>.</summary>
public static class MLNetRunExtensions
{
    /// <summary>Logs an ML.NET model for this run (see <see cref="MLNetModels.LogMLNetModelAsync(ModelsClient, string, MLContext, ITransformer, MLNetModelOptions, CancellationToken)"/>).</summary>
    /// <param name="run">The run.</param>
    /// <param name="mlContext">The ML.NET context that fitted the model.</param>
    /// <param name="model">The fitted model.</param>
    /// <param name="options">The input data, path, registration and export choices.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>Where the model went and whether ONNX was exported.</returns>
    public static async Task<MLNetModelLogResult> LogMLNetModelAsync(this MlflowRun run, MLContext mlContext, ITransformer model, MLNetModelOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);

        // The logged model copies the run's params (MLflow 3): send the queued ones first.
        await run.FlushAsync(cancellationToken).ConfigureAwait(false);
        return await run.Client.Models.LogMLNetModelAsync(run.RunId, mlContext, model, options, cancellationToken).ConfigureAwait(false);
    }
}
