using System.Globalization;
using System.Text.Json;
using MLOpsDemo.Mlflow.TestSupport;

namespace MLOpsDemo.Mlflow.InteropTests;

/// <summary>
/// The library's local store (<c>mlflow.db</c> + artifact folders) and the real Python MLflow 3.11 client on the same
/// files: Python reads what the library wrote, the library reads what Python wrote, and a real 3.11 server serves a
/// store the library wrote. Skipped, naming the variable, where Python MLflow or the server kit is not configured.
/// </summary>
public sealed class LocalStoreInteropTests : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("interop-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string DatabaseUri => "sqlite:///" + Path.Combine(_work.FullName, "mlflow.db");

    public void Dispose() => _work.Delete(recursive: true);

    [Fact]
    public async Task Python_reads_runs_metric_histories_params_tags_and_inputs_the_library_wrote()
    {
        var python = RealMlflow.SkipUnlessPython(3);
        var (experimentId, parentId, childId) = await WriteRunsAsync();

        var answer = await PythonJson.RunAsync(python, """
            import json, sys, mlflow
            c = mlflow.MlflowClient(tracking_uri=sys.argv[1])
            exp = c.get_experiment_by_name("interop")
            runs = c.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"])
            out = {"experiment_id": exp.experiment_id, "experiment_tags": exp.tags, "runs": []}
            for r in runs:
                hist = c.get_metric_history(r.info.run_id, "loss")
                special = c.get_metric_history(r.info.run_id, "special")
                out["runs"].append({
                    "run_id": r.info.run_id, "name": r.info.run_name, "status": r.info.status,
                    "params": r.data.params, "tags": r.data.tags,
                    "loss_steps": sorted(m.step for m in hist),
                    "loss_values": {str(m.step): repr(m.value) for m in hist},
                    "special": [repr(m.value) for m in sorted(special, key=lambda m: m.step)],
                    "inputs": [{"name": d.dataset.name, "digest": d.dataset.digest, "source": d.dataset.source,
                                "tags": {t.key: t.value for t in d.tags}} for d in r.inputs.dataset_inputs],
                })
            print(json.dumps(out))
            """, DatabaseUri);

        Assert.Equal(experimentId, answer.GetProperty("experiment_id").GetString());
        Assert.Equal("laptop", answer.GetProperty("experiment_tags").GetProperty("origin").GetString());
        var runs = answer.GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal([parentId, childId], runs.Select(r => r.GetProperty("run_id").GetString()));
        var parent = runs[0];
        Assert.Equal(("parent", "FINISHED"), (parent.GetProperty("name").GetString(), parent.GetProperty("status").GetString()));
        Assert.Equal("0.01", parent.GetProperty("params").GetProperty("lr").GetString());
        Assert.Equal("unicode ✓", parent.GetProperty("params").GetProperty("note").GetString());
        Assert.Equal("vision", parent.GetProperty("tags").GetProperty("team").GetString());
        Assert.Equal(Enumerable.Range(0, 500), parent.GetProperty("loss_steps").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal((1.0 / 8).ToString("R", CultureInfo.InvariantCulture), parent.GetProperty("loss_values").GetProperty("7").GetString());
        // NaN stays NaN; ±Infinity is stored clamped to ±max double, exactly as MLflow's own SQL store does.
        Assert.Equal(["nan", "1.7976931348623157e+308", "-1.7976931348623157e+308", "0.25"], parent.GetProperty("special").EnumerateArray().Select(e => e.GetString()));
        var input = Assert.Single(parent.GetProperty("inputs").EnumerateArray());
        Assert.Equal(("iris", "d1g35t"), (input.GetProperty("name").GetString(), input.GetProperty("digest").GetString()));
        Assert.Equal("training", input.GetProperty("tags").GetProperty("mlflow.data.context").GetString());
        var child = runs[1];
        Assert.Equal(parentId, child.GetProperty("tags").GetProperty("mlflow.parentRunId").GetString());
        Assert.Equal("FAILED", child.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Python_downloads_the_artifacts_the_library_wrote()
    {
        var python = RealMlflow.SkipUnlessPython(3);
        var (_, parentId, _) = await WriteRunsAsync();

        var answer = await PythonJson.RunAsync(python, """
            import json, os, sys, mlflow
            c = mlflow.MlflowClient(tracking_uri=sys.argv[1])
            run_id, dst = sys.argv[2], sys.argv[3]
            local = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="reports", dst_path=dst, tracking_uri=sys.argv[1])
            files = {}
            for root, _, names in os.walk(local):
                for n in names:
                    p = os.path.join(root, n)
                    files[os.path.relpath(p, local)] = open(p, encoding="utf-8").read()
            listed = [f.path for f in c.list_artifacts(run_id, "reports")]
            print(json.dumps({"files": files, "listed": sorted(listed)}))
            """, DatabaseUri, parentId, Path.Combine(_work.FullName, "py-download"));

        var files = answer.GetProperty("files");
        Assert.Equal("accuracy 0.93\n", files.GetProperty("summary.txt").GetString());
        Assert.Equal("{\"w0\":0.5}", files.GetProperty(Path.Combine("nested", "données.json")).GetString());
        Assert.Equal(["reports/nested", "reports/summary.txt"], answer.GetProperty("listed").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Python_reads_registered_models_aliases_and_logged_models_the_library_wrote()
    {
        var python = RealMlflow.SkipUnlessPython(3);
        using var client = new MlflowClient(DatabaseUri);
        var experimentId = await client.Experiments.CreateAsync("models", Path.Combine(_work.FullName, "artifacts", "models"), cancellationToken: Ct);
        var run = await client.Runs.CreateAsync(experimentId, cancellationToken: Ct);
        await client.Runs.LogMetricAsync(run.Info.RunId, "accuracy", 0.875, cancellationToken: Ct);
        var onnx = Path.Combine(_work.FullName, "model.onnx");
        await File.WriteAllBytesAsync(onnx, Samples.OnnxLogisticRegression.Write([0.5f, -0.25f], 0.1f), Ct);
        var logged = await client.Models.LogModelAsync(run.Info.RunId, new LogModelOptions { ArtifactPath = "model", Flavor = new OnnxFlavor(), ModelFile = onnx, RegisteredModelName = "iris" }, Ct);
        await client.ModelRegistry.SetAliasAsync("iris", "champion", logged.RegisteredVersion!.Version, Ct);
        await client.ModelRegistry.SetTagAsync("iris", "team", "vision", Ct);
        await client.Runs.SetTerminatedAsync(run.Info.RunId, cancellationToken: Ct);

        var answer = await PythonJson.RunAsync(python, """
            import json, sys, mlflow
            uri = sys.argv[1]
            mlflow.set_tracking_uri(uri); mlflow.set_registry_uri(uri)
            c = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
            rm = c.get_registered_model("iris")
            mv = c.get_model_version_by_alias("iris", "champion")
            lm = c.get_logged_model(mv.model_id or sys.argv[2])
            found = c.search_logged_models(experiment_ids=[lm.experiment_id])
            m = mlflow.models.Model.load("models:/iris@champion")
            print(json.dumps({
                "aliases": rm.aliases, "tags": rm.tags, "version": str(mv.version), "source": mv.source,
                "model_id": lm.model_id, "status": str(lm.status), "name": lm.name, "source_run_id": lm.source_run_id,
                "found": [x.model_id for x in found], "flavors": sorted(m.flavors.keys()),
                "onnx_data": m.flavors["onnx"]["data"], "loader": m.flavors["python_function"]["loader_module"],
                "mlmodel_model_id": m.model_id, "run_id": m.run_id,
                "env": m.flavors["python_function"].get("env"), "python_version": m.flavors["python_function"].get("python_version"),
                "requirements": open(mlflow.pyfunc.get_model_dependencies("models:/iris@champion")).read().split("\n"),
                "lm_tags": lm.tags, "lm_metrics": [[x.key, x.value, x.step] for x in lm.metrics or []],
                "model_versions": json.loads(lm.tags["mlflow.modelVersions"]),
            }))
            """, DatabaseUri, logged.ModelId!);

        Assert.Equal("1", answer.GetProperty("aliases").GetProperty("champion").ToString());
        Assert.Equal("vision", answer.GetProperty("tags").GetProperty("team").GetString());
        Assert.Equal(("1", $"models:/{logged.ModelId}"), (answer.GetProperty("version").GetString(), answer.GetProperty("source").GetString()));
        Assert.Equal((logged.ModelId, "READY", "model", run.Info.RunId), (answer.GetProperty("model_id").GetString(), answer.GetProperty("status").GetString(), answer.GetProperty("name").GetString(), answer.GetProperty("source_run_id").GetString()));
        Assert.Equal([logged.ModelId], answer.GetProperty("found").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["onnx", "python_function"], answer.GetProperty("flavors").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(("model.onnx", "mlflow.onnx"), (answer.GetProperty("onnx_data").GetString(), answer.GetProperty("loader").GetString()));
        Assert.Equal((logged.ModelId, run.Info.RunId), (answer.GetProperty("mlmodel_model_id").GetString(), answer.GetProperty("run_id").GetString()));
        // python_function carries env and python_version as mlflow.onnx.save_model writes them; Python finds the requirements.
        Assert.Equal(("conda.yaml", "python_env.yaml"), (answer.GetProperty("env").GetProperty("conda").GetString(), answer.GetProperty("env").GetProperty("virtualenv").GetString()));
        Assert.Equal(PythonEnvironment.DefaultPythonVersion, answer.GetProperty("python_version").GetString());
        Assert.Equal(["mlflow", "onnx", "onnxruntime"], answer.GetProperty("requirements").EnumerateArray().Select(e => e.GetString()!.Split("==")[0]));
        // As mlflow.onnx.log_model on sqlite:///: context tags, the run's step-0 metrics linked, the version as a number.
        Assert.Equal("LOCAL", answer.GetProperty("lm_tags").GetProperty("mlflow.source.type").GetString());
        Assert.False(string.IsNullOrEmpty(answer.GetProperty("lm_tags").GetProperty("mlflow.user").GetString()));
        Assert.Equal("""[["accuracy",0.875,0]]""", answer.GetProperty("lm_metrics").GetRawText().Replace(" ", "", StringComparison.Ordinal));
        var registration = Assert.Single(answer.GetProperty("model_versions").EnumerateArray());
        Assert.Equal(("iris", JsonValueKind.Number, 1), (registration.GetProperty("name").GetString(), registration.GetProperty("version").ValueKind, registration.GetProperty("version").GetInt32()));
    }

    [Fact]
    public async Task The_library_reads_what_Python_wrote_into_the_same_database()
    {
        var python = RealMlflow.SkipUnlessPython(3);
        var (experimentId, parentId, _) = await WriteRunsAsync(); // the library creates the database first

        var written = await PythonJson.RunAsync(python, """
            import json, os, sys, mlflow
            from mlflow.entities import LoggedModelStatus
            uri, folder = sys.argv[1], sys.argv[2]
            mlflow.set_tracking_uri(uri); mlflow.set_registry_uri(uri)
            c = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
            eid = c.create_experiment("from-python", artifact_location=os.path.join(folder, "py-artifacts"), tags={"origin": "python"})
            with mlflow.start_run(experiment_id=eid, run_name="py-run") as run:
                mlflow.log_param("alpha", "0.5")
                mlflow.log_metrics({"loss": 0.5, "acc": 0.75}, step=0)
                for i in range(1, 300):
                    mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
                mlflow.log_metric("nan", float("nan"))
                mlflow.set_tag("team", "py")
                mlflow.log_text("hello from python", "notes/hello.txt")
            lm = c.create_logged_model(experiment_id=eid, name="py-model", source_run_id=run.info.run_id, params={"depth": "3"}, model_type="onnx")
            c.finalize_logged_model(lm.model_id, LoggedModelStatus.READY)
            c.create_registered_model("py-registered", tags={"k": "v"})
            mv = c.create_model_version("py-registered", source=run.info.artifact_uri + "/model", run_id=run.info.run_id)
            c.set_registered_model_alias("py-registered", "champion", mv.version)
            # Python also appends to a run the library created.
            c.log_metric(sys.argv[3], "loss", 0.001, step=500)
            print(json.dumps({"experiment_id": eid, "run_id": run.info.run_id, "model_id": lm.model_id}))
            """, DatabaseUri, _work.FullName, parentId);

        using var client = new MlflowClient(DatabaseUri);
        var experiment = await client.Experiments.GetByNameAsync("from-python", Ct);
        Assert.Equal(written.GetProperty("experiment_id").GetString(), experiment!.ExperimentId);
        Assert.Equal("python", experiment.Tags["origin"]);
        var runId = written.GetProperty("run_id").GetString()!;
        var run = await client.Runs.GetAsync(runId, Ct);
        Assert.Equal(("py-run", RunStatus.Finished), (run.Info.RunName, run.Info.Status));
        Assert.Equal("0.5", run.Data.Params["alpha"]);
        Assert.Equal("py", run.Data.Tags["team"]);
        Assert.True(double.IsNaN(run.Data.Metrics.Single(m => m.Key == "nan").Value));
        Assert.Equal(0.75, run.Data.Metrics.Single(m => m.Key == "acc").Value);
        var history = await client.Runs.GetMetricHistoryAsync(runId, "loss", cancellationToken: Ct).ToListAsync(Ct);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => (long)i), history.Select(m => m.Step).Order());
        Assert.Equal("hello from python", await client.Artifacts.ReadTextAsync(runId, "notes/hello.txt", Ct));

        var model = await client.LoggedModels.GetAsync(written.GetProperty("model_id").GetString()!, Ct);
        Assert.Equal(("py-model", LoggedModelStatus.Ready, runId, "3"), (model.Info.Name, model.Info.Status, model.Info.SourceRunId, model.Data.Params["depth"]));
        var champion = await client.ModelRegistry.GetVersionByAliasAsync("py-registered", "champion", Ct);
        Assert.Equal(("1", runId), (champion.Version, champion.RunId));
        Assert.Equal("v", (await client.ModelRegistry.GetAsync("py-registered", Ct)).Tags["k"]);

        var appended = await client.Runs.GetMetricHistoryAsync(parentId, "loss", cancellationToken: Ct).ToListAsync(Ct);
        Assert.Equal(501, appended.Count);
        Assert.Equal(0.001, appended.Single(m => m.Step == 500).Value);
        Assert.Equal(2, (await client.Experiments.SearchAsync(cancellationToken: Ct).ToListAsync(Ct)).Count(e => e.ExperimentId == experimentId || e.Name == "from-python"));
    }

    [Fact]
    public async Task A_real_MLflow_3_11_server_starts_on_a_store_the_library_wrote_and_serves_it()
    {
        RealMlflow.SkipUnlessServerKit();
        var data = Path.Combine(_work.FullName, "server");
        Directory.CreateDirectory(data);
        var databaseUri = "sqlite:///" + Path.Combine(data, "mlflow.db");
        string runId;
        string modelId;
        using (var local = new MlflowClient(databaseUri))
        {
            var experimentId = await local.Experiments.CreateAsync("served", Path.Combine(data, "runs-artifacts"), cancellationToken: Ct);
            await using (var run = await local.StartRunAsync(new StartRunOptions { ExperimentId = experimentId, RunName = "served-run" }, Ct))
            {
                runId = run.RunId;
                for (var step = 0; step < 100; step++)
                {
                    run.LogMetric("loss", 1.0 / (step + 1), step);
                }

                run.LogParam("alpha", 0.5);
                await run.LogTextAsync("served text", "notes/served.txt", Ct);
            }

            var onnx = Path.Combine(_work.FullName, "served.onnx");
            await File.WriteAllBytesAsync(onnx, Samples.OnnxLogisticRegression.Write([1f, 2f, 3f], 0f), Ct);
            var logged = await local.Models.LogModelAsync(runId, new LogModelOptions { Flavor = new OnnxFlavor(), ModelFile = onnx, RegisteredModelName = "served-model" }, Ct);
            modelId = logged.ModelId!;
            await local.ModelRegistry.SetAliasAsync("served-model", "prod", logged.RegisteredVersion!.Version, Ct);
        }

        await using var server = await RealMlflow.StartPrivateServerAsync(3, data, Ct);
        using var client = new MlflowClient(server.Uri);
        Assert.StartsWith("3.", await client.GetServerVersionAsync(Ct));
        var experiment = await client.Experiments.GetByNameAsync("served", Ct);
        var runs = await client.Runs.SearchAsync(new SearchRunsOptions { ExperimentIds = [experiment!.ExperimentId] }, Ct).ToListAsync(Ct);
        var served = Assert.Single(runs);
        Assert.Equal((runId, "served-run", "0.5"), (served.Info.RunId, served.Info.RunName, served.Data.Params["alpha"]));
        Assert.Equal(100, (await client.Runs.GetMetricHistoryAsync(runId, "loss", cancellationToken: Ct).ToListAsync(Ct)).Count);
        Assert.Contains(await client.Artifacts.ListAsync(runId, "notes", cancellationToken: Ct).ToListAsync(Ct), f => f.Path == "notes/served.txt");
        var champion = await client.ModelRegistry.GetVersionByAliasAsync("served-model", "prod", Ct);
        Assert.Equal($"models:/{modelId}", champion.Source);
        var model = await client.LoggedModels.GetAsync(modelId, Ct);
        Assert.Equal((LoggedModelStatus.Ready, runId), (model.Info.Status, model.Info.SourceRunId));
    }

    /// <summary>A parent run (params, tags, 500-step history, NaN/±Inf, an input, artifacts) and a failed child.</summary>
    private async Task<(string ExperimentId, string ParentId, string ChildId)> WriteRunsAsync()
    {
        using var client = new MlflowClient(DatabaseUri);
        var experimentId = await client.Experiments.CreateAsync("interop", Path.Combine(_work.FullName, "artifacts", "interop"), new Dictionary<string, string> { ["origin"] = "laptop" }, Ct);
        string parentId;
        string childId;
        await using (var parent = await client.StartRunAsync(new StartRunOptions { ExperimentId = experimentId, RunName = "parent", Tags = new Dictionary<string, string> { ["team"] = "vision" } }, Ct))
        {
            parentId = parent.RunId;
            parent.LogParams(new Dictionary<string, string> { ["lr"] = "0.01", ["note"] = "unicode ✓" });
            for (var step = 0; step < 500; step++)
            {
                parent.LogMetric("loss", 1.0 / (step + 1), step);
            }

            parent.LogMetric("special", double.NaN, 0);
            parent.LogMetric("special", double.PositiveInfinity, 1);
            parent.LogMetric("special", double.NegativeInfinity, 2);
            parent.LogMetric("special", 0.25, 3);
            await parent.LogInputAsync(new Dataset { Name = "iris", Digest = "d1g35t", SourceType = "local", Source = """{"uri": "file:///iris.csv"}""" }, "training", Ct);
            await parent.LogTextAsync("accuracy 0.93\n", "reports/summary.txt", Ct);
            await parent.LogTextAsync("{\"w0\":0.5}", "reports/nested/données.json", Ct);
            await using var child = await client.StartRunAsync(new StartRunOptions { RunName = "child" }, Ct);
            childId = child.RunId;
            child.LogMetric("acc", 0.5);
            await child.EndAsync(RunStatus.Failed, Ct);
        }

        return (experimentId, parentId, childId);
    }
}
