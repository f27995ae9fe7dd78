using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using MLOpsDemo.Mlflow.Registry;

namespace MLOpsDemo.Mlflow.Tests.Sqlite;

/// <summary>
/// The registry and logged-model rows of the databases written by Python MLflow read back as the JSON describes them,
/// and the registry rows this library writes keep MLflow's invariants (SQLSTORE.md §6.9).
/// </summary>
public class SqliteRegistryGoldenTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("3.11")]
    [InlineData("2.22")]
    public async Task Registry_rows_written_by_python_read_back_as_described(string mlflowVersion)
    {
        using var folder = new TempFolder();
        var (root, original) = CopyGolden(folder, mlflowVersion);
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(SqliteGolden.Directory, $"populated-{mlflowVersion}.json"), Ct));
        string? Relocate(string? s) => s?.Replace(original, root, StringComparison.Ordinal);
        using var client = folder.Client();

        var expectedModels = json.RootElement.GetProperty("registered_models").EnumerateArray().ToList();
        var models = await client.ModelRegistry.SearchPageAsync(cancellationToken: Ct);
        Assert.Equal(expectedModels.Select(m => m.GetProperty("name").GetString()), models.Items.Select(m => m.Name));
        foreach (var expected in expectedModels)
        {
            var model = await client.ModelRegistry.GetAsync(expected.GetProperty("name").GetString()!, Ct);
            Assert.Equal(expected.GetProperty("creation_timestamp").GetInt64(), model.CreationTimestamp);
            Assert.Equal(expected.GetProperty("last_updated_timestamp").GetInt64(), model.LastUpdatedTimestamp);
            Assert.Equal(expected.GetProperty("description").GetString(), model.Description);
            Assert.Equal(expected.GetProperty("tags").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!), model.Tags);
            Assert.Equal(
                expected.GetProperty("aliases").EnumerateObject().Select(p => (p.Name, p.Value.GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture))),
                model.Aliases.Select(a => (a.Alias, a.Version)));
            Assert.Equal(
                expected.GetProperty("latest_versions").EnumerateArray().Select(v => (v.GetProperty("version").GetInt64(), v.GetProperty("current_stage").GetString())).Order(),
                model.LatestVersions.Select(v => (long.Parse(v.Version, System.Globalization.CultureInfo.InvariantCulture), (string?)v.CurrentStage)).Order());
        }

        foreach (var expected in json.RootElement.GetProperty("model_versions").EnumerateArray())
        {
            var name = expected.GetProperty("name").GetString()!;
            var number = expected.GetProperty("version").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);
            var version = await client.ModelRegistry.GetVersionAsync(name, number, Ct);
            Assert.Equal(expected.GetProperty("creation_timestamp").GetInt64(), version.CreationTimestamp);
            Assert.Equal(expected.GetProperty("last_updated_timestamp").GetInt64(), version.LastUpdatedTimestamp);
            Assert.Equal(expected.GetProperty("description").GetString(), version.Description);
            Assert.Equal(expected.GetProperty("user_id").GetString(), version.UserId);
            Assert.Equal(expected.GetProperty("current_stage").GetString(), version.CurrentStage);
            Assert.Equal(Relocate(expected.GetProperty("source").GetString()), version.Source);
            Assert.Equal(expected.GetProperty("run_id").GetString(), version.RunId);
            Assert.Equal(expected.GetProperty("run_link").GetString(), version.RunLink);
            Assert.Equal(expected.GetProperty("status").GetString(), version.Status);
            Assert.Equal(expected.GetProperty("status_message").GetString(), version.StatusMessage);
            Assert.Equal(expected.GetProperty("tags").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!), version.Tags);
            Assert.Equal(expected.GetProperty("aliases").EnumerateArray().Select(a => a.GetString()), version.Aliases);
            Assert.Null(version.ModelId); // the SQL store leaves it null
            foreach (var alias in version.Aliases)
            {
                Assert.Equal(number, (await client.ModelRegistry.GetVersionByAliasAsync(name, alias, Ct)).Version);
            }
        }

        // The download URI is the stored storage_location (the logged model's files for a models:/m-… source).
        var rows = json.RootElement.GetProperty("tables").GetProperty("model_versions");
        var columns = rows.GetProperty("columns").EnumerateArray().Select(c => c.GetString()).ToList();
        foreach (var row in rows.GetProperty("rows").EnumerateArray())
        {
            var cells = row.EnumerateArray().ToList();
            var uri = await client.ModelRegistry.GetVersionDownloadUriAsync(cells[columns.IndexOf("name")].GetString()!, cells[columns.IndexOf("version")].GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture), Ct);
            Assert.Equal(Relocate(cells[columns.IndexOf("storage_location")].GetString()), uri);
        }

        var searched = await client.ModelRegistry.SearchVersionsPageAsync(new SearchModelVersionsOptions { Filter = "name = 'golden-model' AND tags.candidate = 'true'" }, Ct);
        Assert.Equal(["2"], searched.Items.Select(v => v.Version));
    }

    [Fact]
    public async Task Logged_model_written_by_python_reads_back_and_downloads_through_the_alias()
    {
        using var folder = new TempFolder();
        var (root, original) = CopyGolden(folder, "3.11");
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(SqliteGolden.Directory, "populated-3.11.json"), Ct));
        using var client = folder.Client();

        var expected = Assert.Single(json.RootElement.GetProperty("logged_models").EnumerateArray().ToList());
        var modelId = expected.GetProperty("model_id").GetString()!;
        var model = await client.LoggedModels.GetAsync(modelId, Ct);
        Assert.Equal(expected.GetProperty("experiment_id").GetString(), model.Info.ExperimentId);
        Assert.Equal(expected.GetProperty("name").GetString(), model.Info.Name);
        Assert.Equal(expected.GetProperty("artifact_location").GetString()!.Replace(original, root, StringComparison.Ordinal), model.Info.ArtifactUri);
        Assert.Equal(expected.GetProperty("creation_timestamp").GetInt64(), model.Info.CreationTimestampMs);
        Assert.Equal(expected.GetProperty("last_updated_timestamp").GetInt64(), model.Info.LastUpdatedTimestampMs);
        Assert.Equal(LoggedModelStatus.Ready, model.Info.Status);
        Assert.Equal(expected.GetProperty("model_type").GetString(), model.Info.ModelType);
        Assert.Equal(expected.GetProperty("source_run_id").GetString(), model.Info.SourceRunId);
        Assert.Null(model.Info.StatusMessage);
        Assert.Equal(expected.GetProperty("tags").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!), model.Info.Tags);
        Assert.Equal(expected.GetProperty("params").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!), model.Data.Params);
        var expectedMetric = Assert.Single(expected.GetProperty("metrics").EnumerateArray().ToList());
        var metric = Assert.Single(model.Data.Metrics);
        Assert.Equal(
            (expectedMetric.GetProperty("key").GetString(), expectedMetric.GetProperty("value").GetDouble(), expectedMetric.GetProperty("timestamp").GetInt64(), expectedMetric.GetProperty("step").GetInt64(), expectedMetric.GetProperty("run_id").GetString()),
            (metric.Key, metric.Value, metric.Timestamp, metric.Step, metric.RunId));

        var found = await client.LoggedModels.SearchPageAsync(new SearchLoggedModelsOptions { ExperimentIds = ["1"], Filter = "name = 'golden-logged-model' AND metrics.val_acc > 0.9 AND tags.`mlflow.user` = 'golden'" }, Ct);
        Assert.Equal(modelId, Assert.Single(found.Items).Info.ModelId);

        var downloaded = await client.Models.DownloadModelAsync("models:/golden-model@champion", Path.Combine(folder.Path, "champion"), Ct);
        Assert.Equal(modelId, downloaded.Source.ModelId);
        Assert.Equal("model", downloaded.Model.ArtifactPath);
        Assert.True(File.Exists(Path.Combine(downloaded.LocalPath, "MLmodel")));

        // Registering the logged model again resolves storage_location and run_id from it, as MLflow does.
        var again = await client.ModelRegistry.CreateVersionAsync("golden-model", "models:/" + modelId, cancellationToken: Ct);
        Assert.Equal(("3", expected.GetProperty("source_run_id").GetString()), (again.Version, again.RunId));
        Assert.Equal(model.Info.ArtifactUri, await client.ModelRegistry.GetVersionDownloadUriAsync("golden-model", "3", Ct));
    }

    [Fact]
    public async Task Registry_writes_keep_mlflows_invariants()
    {
        using var folder = new TempFolder();
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeMilliseconds(1_767_225_600_000));
        using var client = folder.Client(time);
        var registry = client.ModelRegistry;
        long Clock() => time.GetUtcNow().ToUnixTimeMilliseconds();
        var created = await registry.CreateAsync("inv", new Dictionary<string, string> { ["k"] = "v" }, cancellationToken: Ct);
        using var db = SqliteGolden.Open(folder.DatabasePath); // after the store created the file
        long ModelUpdated(string name) => (long)SqliteGolden.Scalar(db, "SELECT last_updated_time FROM registered_models WHERE name = $n", ("$n", name))!;
        Assert.Equal((Clock(), Clock()), (created.CreationTimestamp!.Value, created.LastUpdatedTimestamp!.Value));

        time.Advance(TimeSpan.FromSeconds(1));
        var v1 = await registry.CreateVersionAsync("inv", "/tmp/model-a", cancellationToken: Ct);
        Assert.Equal(Clock(), ModelUpdated("inv")); // creating a version bumps the model
        Assert.Equal(("None", "READY", (string?)null), (v1.CurrentStage, v1.Status, v1.UserId));
        Assert.Equal("/tmp/model-a", SqliteGolden.Scalar(db, "SELECT storage_location FROM model_versions WHERE name = 'inv' AND version = 1"));
        Assert.Equal("default", SqliteGolden.Scalar(db, "SELECT workspace FROM model_versions WHERE name = 'inv' AND version = 1"));

        time.Advance(TimeSpan.FromSeconds(1));
        var v2 = await registry.CreateVersionAsync("inv", "models:/inv/1", cancellationToken: Ct);
        Assert.Equal("/tmp/model-a", await registry.GetVersionDownloadUriAsync("inv", v2.Version, Ct)); // models:/name/version resolves
        Assert.Equal("models:/inv/1", v2.Source);

        var beforeTags = ModelUpdated("inv");
        time.Advance(TimeSpan.FromSeconds(1));
        await registry.SetTagAsync("inv", "owner", "me", Ct);
        await registry.DeleteTagAsync("inv", "never-set", Ct); // not an error
        await registry.SetAliasAsync("inv", "champion", "1", Ct);
        await registry.SetVersionTagAsync("inv", "1", "ok", "yes", Ct);
        Assert.Equal(beforeTags, ModelUpdated("inv")); // tags and aliases do not touch it

        time.Advance(TimeSpan.FromSeconds(1));
        await registry.UpdateVersionAsync("inv", "1", "described", Ct);
        var searched = await registry.SearchVersionsPageAsync(new SearchModelVersionsOptions { Filter = "name = 'inv'" }, Ct);
        Assert.Equal(["1", "2"], searched.Items.Select(v => v.Version)); // default order: last_updated_timestamp DESC first
        var byVersion = await registry.SearchVersionsPageAsync(new SearchModelVersionsOptions { Filter = "name = 'inv'", OrderBy = ["version_number ASC"] }, Ct);
        Assert.Equal(["1", "2"], byVersion.Items.Select(v => v.Version));
        var byTime = await registry.SearchPageAsync(new SearchRegisteredModelsOptions { OrderBy = ["timestamp DESC"] }, Ct);
        Assert.Equal(["inv"], byTime.Items.Select(m => m.Name));

        time.Advance(TimeSpan.FromSeconds(1));
        await registry.TransitionStageAsync("inv", "2", "production", cancellationToken: Ct);
        Assert.Equal(Clock(), ModelUpdated("inv"));
        Assert.Equal("Production", SqliteGolden.Scalar(db, "SELECT current_stage FROM model_versions WHERE name = 'inv' AND version = 2"));

        time.Advance(TimeSpan.FromSeconds(1));
        await registry.DeleteVersionAsync("inv", "1", Ct);
        Assert.Equal(Clock(), ModelUpdated("inv"));
        Assert.Equal(
            "Deleted_Internal|REDACTED-SOURCE-PATH|REDACTED-RUN-ID|1",
            SqliteGolden.Scalar(db, "SELECT current_stage || '|' || source || '|' || run_id || '|' || (SELECT count(*) FROM model_version_tags t WHERE t.name = v.name AND t.version = v.version) FROM model_versions v WHERE name = 'inv' AND version = 1"));
        Assert.Equal(0L, SqliteGolden.Scalar(db, "SELECT count(*) FROM registered_model_aliases WHERE name = 'inv'")); // its alias went with it
        Assert.Equal(["2"], (await registry.GetAsync("inv", Ct)).LatestVersions.Select(v => v.Version));
        Assert.Equal("3", (await registry.CreateVersionAsync("inv", "/tmp/model-c", cancellationToken: Ct)).Version); // never reused

        time.Advance(TimeSpan.FromSeconds(1));
        await registry.RenameAsync("inv", "inv-renamed", Ct);
        Assert.Equal(Clock(), ModelUpdated("inv-renamed"));
        Assert.Equal(3L, SqliteGolden.Scalar(db, "SELECT count(*) FROM model_versions WHERE name = 'inv-renamed' AND last_updated_time = $t", ("$t", Clock())));
        Assert.Equal(1L, SqliteGolden.Scalar(db, "SELECT count(*) FROM model_version_tags WHERE name = 'inv-renamed'"));

        await registry.CreateAsync("a-prompt", new Dictionary<string, string> { ["mlflow.prompt.is_prompt"] = "true" }, cancellationToken: Ct);
        await registry.CreateVersionAsync("a-prompt", "/tmp/prompt", cancellationToken: Ct);
        Assert.Equal(["inv-renamed"], (await registry.SearchPageAsync(cancellationToken: Ct)).Items.Select(m => m.Name)); // prompts are hidden
        Assert.DoesNotContain((await registry.SearchVersionsPageAsync(cancellationToken: Ct)).Items, v => v.Name == "a-prompt");

        await registry.DeleteAsync("inv-renamed", Ct);
        foreach (var table in new[] { "registered_models", "registered_model_tags", "model_versions", "model_version_tags", "registered_model_aliases" })
        {
            Assert.Equal(0L, SqliteGolden.Scalar(db, $"SELECT count(*) FROM {table} WHERE name = 'inv-renamed'"));
        }

        Assert.Null(SqliteGolden.Scalar(db, "PRAGMA foreign_key_check")); // no dangling rows
    }

    private static (string Root, string Original) CopyGolden(TempFolder folder, string mlflowVersion)
    {
        File.Copy(Path.Combine(SqliteGolden.Directory, $"populated-{mlflowVersion}.db"), folder.DatabasePath);
        var root = Path.Combine(folder.Path, "mlruns");
        SqliteGolden.CopyDirectory(Path.Combine(SqliteGolden.Directory, $"populated-{mlflowVersion}-mlruns"), root);
        var original = $"/srv/golden-{mlflowVersion}/mlruns";
        using var c = SqliteGolden.Open(folder.DatabasePath);
        SqliteGolden.Execute(c, "UPDATE experiments SET artifact_location = replace(artifact_location, $o, $r)", ("$o", original), ("$r", root));
        SqliteGolden.Execute(c, "UPDATE runs SET artifact_uri = replace(artifact_uri, $o, $r)", ("$o", original), ("$r", root));
        SqliteGolden.Execute(c, "UPDATE model_versions SET source = replace(source, $o, $r), storage_location = replace(storage_location, $o, $r)", ("$o", original), ("$r", root));
        if (mlflowVersion != "2.22")
        {
            SqliteGolden.Execute(c, "UPDATE logged_models SET artifact_location = replace(artifact_location, $o, $r)", ("$o", original), ("$r", root));
        }

        return (root, original);
    }
}
