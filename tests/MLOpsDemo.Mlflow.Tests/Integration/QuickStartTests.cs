using System.Text.Json.Nodes;
using QuickStart;

namespace MLOpsDemo.Mlflow.Tests.Integration;

/// <summary>
/// The QuickStart sample's training code (linked from samples/QuickStart) on the zero-config local store: a run in
/// <c>./mlflow.db</c> with params, metric history, a dataset input and the weights artifact under <c>./mlruns</c>.
/// </summary>
[Collection(nameof(WorkingDirectoryCollection))]
public class QuickStartTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Training_logs_params_metric_history_and_the_weights_artifact_into_the_local_store()
    {
        using var cwd = new TempWorkingDirectory();
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = "sqlite:///mlflow.db" });

        var result = await QuickStartTraining.TrainAsync(client, epochs: 20, Ct);

        var run = await client.Runs.GetAsync(result.RunId, Ct);
        Assert.Equal(RunStatus.Finished, run.Info.Status);
        Assert.Equal(QuickStartTraining.ExperimentName, (await client.Experiments.GetAsync(result.ExperimentId, Ct)).Name);
        Assert.Equal("0.2", run.Data.Params["learning_rate"]);
        Assert.Equal("20", run.Data.Params["epochs"]);
        Assert.Equal("batch-gd", run.Data.Params["optimizer"]);
        Assert.Equal("logistic-regression", run.Data.Tags["model.family"]);
        Assert.Equal("two-blobs", Assert.Single(run.Inputs.DatasetInputs).Dataset.Name);

        var loss = new List<Metric>();
        await foreach (var point in client.Runs.GetMetricHistoryAsync(result.RunId, "train/loss", cancellationToken: Ct))
        {
            loss.Add(point);
        }

        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), loss.Select(m => m.Step).Order());
        var ordered = loss.OrderBy(m => m.Step).Select(m => m.Value).ToList();
        Assert.True(ordered[^1] < ordered[0], $"loss did not fall: {ordered[0]} → {ordered[^1]}");
        Assert.Equal(result.Loss, ordered[^1]);

        var weightsFile = Path.Combine(cwd.Path, "mlruns", result.ExperimentId, result.RunId, "artifacts", "model", "weights.json");
        var weights = JsonNode.Parse(await File.ReadAllTextAsync(weightsFile, Ct))!;
        Assert.Equal((double)result.Weights["w0"]!, (double)weights["w0"]!);
        Assert.Equal((double)result.Weights["b"]!, (double)weights["b"]!);
        Assert.True(File.Exists(Path.Combine(cwd.Path, "mlflow.db")));
    }

    [Fact]
    public void Without_a_tracking_uri_the_client_uses_mlflow_db_of_the_working_directory()
    {
        Assert.SkipWhen(
            !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MLFLOW_TRACKING_URI")),
            "MLFLOW_TRACKING_URI is set in this environment, so the zero-config default is not in effect.");

        using var client = new MlflowClient();

        Assert.Equal("sqlite:///mlflow.db", client.TrackingUri);
    }
}
