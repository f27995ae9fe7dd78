using System.Text.Json;
using Microsoft.Data.Sqlite;
using MLOpsDemo.Mlflow.TestSupport;

namespace MLOpsDemo.Mlflow.Tests.Sqlite;

/// <summary>
/// Real Python MLflow reads what the library wrote into each release's database: MLflow 3.11 after its own upgrade
/// of a copy (<c>mlflow.store.db.utils._upgrade_db</c>), MLflow 2.22 directly on a file the library created at the
/// 2.22 schema, and a 2.22 server starts on that file. Skips visibly without <c>MLFLOW_TEST_PYTHONPATH_3/_2</c>.
/// </summary>
public class SqlitePythonInteropTests
{
    /// <summary>Prints, per database argument, what MlflowClient reads back (optionally after upgrading it to the head).</summary>
    private const string ReadBackScript = """
        import json, sys
        import sqlalchemy
        from mlflow import MlflowClient

        upgrade = sys.argv[1] == "upgrade"
        result = {}
        for path in sys.argv[2:]:
            uri = "sqlite:///" + path
            if upgrade:
                from mlflow.store.db.utils import _upgrade_db
                engine = sqlalchemy.create_engine(uri)
                _upgrade_db(engine)
                engine.dispose()
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            exp = client.get_experiment_by_name("release-exp")
            runs = {}
            for run in client.search_runs([exp.experiment_id]):
                runs[run.info.run_name] = {
                    "status": run.info.status,
                    "metrics": {k: repr(v) for k, v in run.data.metrics.items()},
                    "params": run.data.params,
                    "tags": {k: v for k, v in run.data.tags.items() if k in ("stage", "owner", "mlflow.parentRunId", "mlflow.note.content")},
                    "datasets": [f"{d.dataset.name}:{d.dataset.digest}:" + ",".join(f"{t.key}={t.value}" for t in d.tags) for d in run.inputs.dataset_inputs],
                    "loss_history": [repr(m.value) for m in sorted(client.get_metric_history(run.info.run_id, "loss"), key=lambda m: (m.timestamp, m.step))],
                }
            model = client.get_registered_model("release-model")
            versions = {}
            for v in ("1", "2"):
                mv = client.get_model_version("release-model", v)
                versions[v] = {"stage": mv.current_stage, "tags": mv.tags, "source": mv.source, "run_id": mv.run_id, "status": mv.status}
            logged = []
            if hasattr(client, "search_logged_models"):
                for m in client.search_logged_models(experiment_ids=[exp.experiment_id]):
                    logged.append({"name": m.name, "status": str(m.status), "params": m.params, "tags": {k: v for k, v in m.tags.items() if not k.startswith("mlflow.")}, "metrics": [f"{x.key}={x.value}@{x.step}" for x in (m.metrics or [])]})
            with sqlalchemy.create_engine(uri).connect() as c:
                revision = c.execute(sqlalchemy.text("SELECT version_num FROM alembic_version")).scalar()
            result[path] = {
                "revision": revision,
                "experiment_tags": {k: v for k, v in exp.tags.items()},
                "runs": runs,
                "model": {"description": model.description, "tags": model.tags, "aliases": dict(getattr(model, "aliases", {}) or {})},
                "versions": versions,
                "logged_models": logged,
            }
        print(json.dumps(result))
        """;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Mlflow_3_11_upgrades_a_copy_of_every_release_database_the_library_wrote_and_reads_everything_back()
    {
        var python = RealMlflow.SkipUnlessPython(3);
        using var folder = new TempFolder();
        var copies = new Dictionary<string, (ReleaseDump Release, ReleaseScenario.Written Written, string Original)>();
        foreach (var release in ReleaseDump.All)
        {
            var directory = Path.Combine(folder.Path, release.Name);
            Directory.CreateDirectory(directory);
            var original = Path.Combine(directory, "mlflow.db");
            release.Build(original);
            using (var client = new MlflowClient("sqlite:///" + original))
            {
                var written = await ReleaseScenario.WriteAsync(client, release, Path.Combine(directory, "artifacts"), Ct);
                copies[Path.Combine(directory, "upgraded.db")] = (release, written, original);
            }

            SqliteConnection.ClearAllPools();
            File.Copy(original, Path.Combine(directory, "upgraded.db"));
        }

        var result = await python.RunAsync(ReadBackScript, ["upgrade", .. copies.Keys], cancellationToken: Ct);
        using var json = JsonDocument.Parse(result.EnsureSuccess().LastLine);
        var head = ReleaseDump.All[^1].Revision;
        foreach (var (copy, (release, written, original)) in copies)
        {
            var read = json.RootElement.GetProperty(copy);
            Assert.Equal(head, read.GetProperty("revision").GetString());
            Assert.Equal(release.Revision, ReleaseScenario.ReadRevision(original)); // the library's file keeps its revision
            AssertReadBack(read, release, written);
        }
    }

    [Fact]
    public async Task Mlflow_2_22_reads_a_file_the_library_created_at_schema_2_22_and_a_2_22_server_starts_on_it()
    {
        var python = RealMlflow.SkipUnlessPython(2);
        using var folder = new TempFolder();
        var release = ReleaseDump.Get("2.18-2.22");
        ReleaseScenario.Written written;
        using (var client = new MlflowClient(new MlflowClientOptions { TrackingUri = folder.Uri, SqliteSchemaVersion = "2.22" }))
        {
            written = await ReleaseScenario.WriteAsync(client, release, Path.Combine(folder.Path, "store"), Ct);
        }

        SqliteConnection.ClearAllPools();
        var result = await python.RunAsync(ReadBackScript, ["direct", folder.DatabasePath], cancellationToken: Ct);
        using var json = JsonDocument.Parse(result.EnsureSuccess().LastLine);
        var read = json.RootElement.GetProperty(folder.DatabasePath);
        Assert.Equal(release.Revision, read.GetProperty("revision").GetString());
        AssertReadBack(read, release, written);
        Assert.Equal(release.Revision, ReleaseScenario.ReadRevision(folder.DatabasePath));

        // The server of that release starts on the file (it refuses a schema that is not its head) and serves it.
        await using var server = await RealMlflow.StartPrivateServerAsync(2, folder.Path, Ct);
        using var rest = new MlflowClient(server.Uri);
        var experiment = await rest.Experiments.GetByNameAsync(ReleaseScenario.ExperimentName, Ct);
        Assert.Equal(written.ExperimentId, experiment!.ExperimentId);
        var runs = await ReleaseScenario.ToListAsync(rest.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = [written.ExperimentId] }, Ct));
        Assert.Equal(["child", "parent"], runs.Select(r => r.Info.RunName).Order(StringComparer.Ordinal));
        Assert.Equal("2", (await rest.ModelRegistry.GetVersionByAliasAsync(ReleaseScenario.ModelName, "champion", Ct)).Version);
    }

    private static void AssertReadBack(JsonElement read, ReleaseDump release, ReleaseScenario.Written written)
    {
        var context = $"release {release.Name}";
        Assert.True(read.GetProperty("experiment_tags").GetProperty("team").GetString() == "vision", context);
        Assert.Equal("release notes", read.GetProperty("experiment_tags").GetProperty("mlflow.note.content").GetString());

        var parent = read.GetProperty("runs").GetProperty("parent");
        Assert.Equal("FINISHED", parent.GetProperty("status").GetString());
        var metrics = parent.GetProperty("metrics");
        Assert.Equal(
            ("0.25", "nan", "1.7976931348623157e+308", "-1.7976931348623157e+308"),
            (metrics.GetProperty("loss").GetString(), metrics.GetProperty("nan_metric").GetString(), metrics.GetProperty("pos_inf").GetString(), metrics.GetProperty("neg_inf").GetString()));
        Assert.Equal(["1.0", "0.5", "0.25", "9.0"], parent.GetProperty("loss_history").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(
            new Dictionary<string, string> { ["epochs"] = "3", ["lr"] = "0.01", ["optimizer"] = "adam" },
            parent.GetProperty("params").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!));
        Assert.Equal(("train", "golden", "parent run"), (parent.GetProperty("tags").GetProperty("stage").GetString(), parent.GetProperty("tags").GetProperty("owner").GetString(), parent.GetProperty("tags").GetProperty("mlflow.note.content").GetString()));
        Assert.Equal(
            release.HasDatasets ? ["train-set:a1b2c3d4:mlflow.data.context=training"] : [],
            parent.GetProperty("datasets").EnumerateArray().Select(d => d.GetString()));

        var child = read.GetProperty("runs").GetProperty("child");
        Assert.Equal(("FAILED", written.ParentRunId, "0.75"), (child.GetProperty("status").GetString(), child.GetProperty("tags").GetProperty("mlflow.parentRunId").GetString(), child.GetProperty("metrics").GetProperty("loss").GetString()));

        var model = read.GetProperty("model");
        Assert.Equal(("release model", "vision"), (model.GetProperty("description").GetString(), model.GetProperty("tags").GetProperty("domain").GetString()));
        Assert.Equal(
            release.HasAliases ? ["champion=2"] : [],
            model.GetProperty("aliases").EnumerateObject().Select(a => $"{a.Name}={a.Value}"));
        var v1 = read.GetProperty("versions").GetProperty("1");
        var v2 = read.GetProperty("versions").GetProperty("2");
        Assert.Equal(("Staging", "true", written.ParentRunId, "READY"), (v1.GetProperty("stage").GetString(), v1.GetProperty("tags").GetProperty("validated").GetString(), v1.GetProperty("run_id").GetString(), v1.GetProperty("status").GetString()));
        Assert.Equal(("None", "yes"), (v2.GetProperty("stage").GetString(), v2.GetProperty("tags").GetProperty("candidate").GetString()));
        Assert.EndsWith("/artifacts/model", v2.GetProperty("source").GetString(), StringComparison.Ordinal);

        var logged = read.GetProperty("logged_models").EnumerateArray().ToList();
        if (release.HasLoggedModels)
        {
            var m = Assert.Single(logged);
            Assert.Equal((ReleaseScenario.LoggedModelName, "READY", "0.5", "onnx"), (m.GetProperty("name").GetString(), m.GetProperty("status").GetString(), m.GetProperty("params").GetProperty("alpha").GetString(), m.GetProperty("tags").GetProperty("flavor").GetString()));
            Assert.Equal(["val_acc=0.9@3"], m.GetProperty("metrics").EnumerateArray().Select(x => x.GetString()));
        }
        else
        {
            Assert.Empty(logged);
        }
    }
}
