using MLOpsDemo.Mlflow.LoggedModels;

namespace MLOpsDemo.Mlflow.Tests.Sqlite;

/// <summary>MLflow 3 logged models on the embedded store: the golden 103–113 flow, the golden database, and 2.22 files.</summary>
public class SqliteLoggedModelTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Logged_model_lifecycle_matches_the_server()
    {
        using var folder = new TempFolder();
        using var client = folder.Client();
        var experimentId = await client.Experiments.CreateAsync("logged", artifactLocation: Path.Combine(folder.Path, "store"), cancellationToken: Ct);
        var run = await client.Runs.CreateAsync(experimentId, cancellationToken: Ct);

        var created = await client.LoggedModels.CreateAsync(experimentId, new CreateLoggedModelOptions
        {
            Name = "golden-logged-model",
            ModelType = "demo",
            SourceRunId = run.Info.RunId,
            Params = new Dictionary<string, string> { ["alpha"] = "0.5" },
            Tags = new Dictionary<string, string> { ["framework"] = "none", ["scratch"] = "x" },
        }, Ct);
        Assert.Matches("^m-[0-9a-f]{32}$", created.Info.ModelId);
        Assert.Equal(LoggedModelStatus.Pending, created.Info.Status);
        Assert.Equal(Path.Combine(folder.Path, "store") + "/models/" + created.Info.ModelId + "/artifacts", created.Info.ArtifactUri);
        Assert.Equal("0.5", created.Data.Params["alpha"]);

        var ready = await client.LoggedModels.FinalizeAsync(created.Info.ModelId, LoggedModelStatus.Ready, Ct);
        Assert.Equal(LoggedModelStatus.Ready, ready.Info.Status);
        await client.LoggedModels.SetTagsAsync(created.Info.ModelId, new Dictionary<string, string> { ["stage"] = "candidate" }, Ct);
        await client.LoggedModels.DeleteTagAsync(created.Info.ModelId, "scratch", Ct);
        await client.LoggedModels.LogMetricAsync(created.Info.ModelId, run.Info.RunId, "val_acc", 0.93, step: 1, cancellationToken: Ct);
        var read = await client.LoggedModels.GetAsync(created.Info.ModelId, Ct);
        Assert.Equal(["framework", "stage"], read.Info.Tags.Keys.Order());
        var metric = Assert.Single(read.Data.Metrics);
        Assert.Equal(("val_acc", 0.93, run.Info.RunId), (metric.Key, metric.Value, metric.RunId));

        var found = await client.LoggedModels.SearchPageAsync(new SearchLoggedModelsOptions { ExperimentIds = [experimentId], Filter = "name = 'golden-logged-model' AND tags.stage = 'candidate'" }, Ct);
        Assert.Equal(created.Info.ModelId, Assert.Single(found.Items).Info.ModelId);
        var none = await client.LoggedModels.SearchPageAsync(new SearchLoggedModelsOptions { ExperimentIds = [experimentId], Filter = "model_type = 'other'" }, Ct);
        Assert.Empty(none.Items);

        await client.LoggedModels.DeleteAsync(created.Info.ModelId, Ct);
        var gone = await Assert.ThrowsAsync<MlflowException>(() => client.LoggedModels.GetAsync(created.Info.ModelId, Ct));
        Assert.Equal(MlflowErrorCodes.ResourceDoesNotExist, gone.ErrorCode);
    }

    [Fact]
    public async Task The_logged_model_written_by_python_mlflow_3_11_reads_back()
    {
        using var folder = new TempFolder();
        File.Copy(Path.Combine(SqliteGolden.Directory, "populated-3.11.db"), folder.DatabasePath);
        using var client = folder.Client();

        var model = await client.LoggedModels.GetAsync("m-c83f21ef64d84b38b34f1cd96da7b644", Ct);

        Assert.Equal("golden-logged-model", model.Info.Name);
        Assert.Equal(LoggedModelStatus.Ready, model.Info.Status);
        Assert.Equal("demo", model.Info.ModelType);
        Assert.Equal("c8884c635d404593bdc902531877b267", model.Info.SourceRunId);
        Assert.Equal("/srv/golden-3.11/mlruns/1/models/m-c83f21ef64d84b38b34f1cd96da7b644/artifacts", model.Info.ArtifactUri);
        Assert.Equal("none", model.Info.Tags["framework"]);
        Assert.Equal("0.5", model.Data.Params["alpha"]);
        Assert.Contains(model.Data.Metrics, m => m.Key == "val_acc" && m.Value == 0.93);
    }

    [Fact]
    public async Task An_mlflow_2_22_database_answers_like_a_2x_server_and_log_model_falls_back()
    {
        using var folder = new TempFolder();
        File.Copy(Path.Combine(SqliteGolden.Directory, "populated-2.22.db"), folder.DatabasePath);
        using var client = folder.Client();

        var ex = await Assert.ThrowsAsync<MlflowException>(() => client.LoggedModels.CreateAsync("1", cancellationToken: Ct));

        Assert.Equal(MlflowErrorCodes.EndpointNotFound, ex.ErrorCode);
        Assert.Contains("2.22", ex.Message, StringComparison.Ordinal);
    }
}
