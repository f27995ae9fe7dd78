using System.Text.Json;
using MLOpsDemo.Mlflow.TestSupport;

namespace MLOpsDemo.Mlflow.InteropTests;

/// <summary>
/// Python MLflow on models the library logged to real servers (<c>mlflow.onnx.load_model</c>,
/// <c>mlflow.models.Model.load</c> by <c>models:/name@alias</c>), and Python MLflow 2.22 on a 2.22-schema database the
/// library wrote into (a database Python 2.22 created, from the test data). Skipped, naming the variable, where the
/// servers or Python MLflow are not configured.
/// </summary>
public sealed class ServerAndMlflow2InteropTests : IDisposable
{
    private const string LoadOnnxScript = """
        import json, sys, mlflow, onnx
        from onnx import numpy_helper
        uri = sys.argv[1]
        mlflow.set_tracking_uri(sys.argv[2]); mlflow.set_registry_uri(sys.argv[2])
        model = mlflow.onnx.load_model(uri)
        onnx.checker.check_model(model)
        meta = mlflow.models.Model.load(uri)
        sig = meta.signature
        lm = mlflow.MlflowClient().get_logged_model(meta.model_id) if getattr(meta, "model_id", None) else None
        print(json.dumps({
            "logged_model_tags": lm.tags if lm else None,
            "logged_model_metrics": [[x.key, x.value, x.step] for x in lm.metrics or []] if lm else None,
            "model_versions": json.loads(lm.tags["mlflow.modelVersions"]) if lm else None,
            "inputs": [i.name for i in model.graph.input], "outputs": [o.name for o in model.graph.output],
            "initializers": {t.name: [float(v) for v in numpy_helper.to_array(t).flatten()] for t in model.graph.initializer},
            "flavors": sorted(meta.flavors.keys()), "loader": meta.flavors["python_function"]["loader_module"],
            "signature_inputs": json.dumps(sig.inputs.to_dict()) if sig else None, "model_id": getattr(meta, "model_id", None),
            "run_id": meta.run_id, "artifact_path": meta.artifact_path,
        }))
        """;

    private static readonly float[] s_weights = [0.75f, -1.5f, 0.125f, 2f];
    private const float Bias = -0.5f;
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("interop-srv-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _work.Delete(recursive: true);

    [Fact]
    public async Task Python_3_11_loads_with_mlflow_onnx_an_ONNX_model_the_library_logged_to_a_real_server()
    {
        var url = RealMlflow.SkipUnlessServer(3);
        var python = RealMlflow.SkipUnlessPython(3);
        var (name, result, runId) = await LogOnnxModelAsync(url, "interop-onnx-3");

        var answer = await PythonJson.RunAsync(python, LoadOnnxScript, $"models:/{name}@champion", url);

        AssertOnnxModel(answer);
        Assert.Equal(result.ModelId, answer.GetProperty("model_id").GetString());
        Assert.Equal(runId, answer.GetProperty("run_id").GetString());
        // As mlflow.onnx.log_model: context tags, the run's step-0 metrics linked, the version once and as a number.
        var tags = answer.GetProperty("logged_model_tags");
        Assert.Equal("LOCAL", tags.GetProperty("mlflow.source.type").GetString());
        Assert.False(string.IsNullOrEmpty(tags.GetProperty("mlflow.user").GetString()));
        Assert.False(string.IsNullOrEmpty(tags.GetProperty("mlflow.source.name").GetString()));
        Assert.Equal("""[["accuracy",0.875,0]]""", answer.GetProperty("logged_model_metrics").GetRawText().Replace(" ", "", StringComparison.Ordinal));
        var registration = Assert.Single(answer.GetProperty("model_versions").EnumerateArray());
        Assert.Equal((name, JsonValueKind.Number, 1), (registration.GetProperty("name").GetString(), registration.GetProperty("version").ValueKind, registration.GetProperty("version").GetInt32()));
    }

    [Fact]
    public async Task Python_2_22_loads_with_mlflow_onnx_an_ONNX_model_the_library_logged_to_a_real_2_22_server()
    {
        var url = RealMlflow.SkipUnlessServer(2);
        var python = RealMlflow.SkipUnlessPython(2);
        var (name, result, runId) = await LogOnnxModelAsync(url, "interop-onnx-2");
        Assert.Equal($"runs:/{runId}/model", result.ModelUri); // MLflow 2: the run-artifact layout

        var answer = await PythonJson.RunAsync(python, LoadOnnxScript, $"models:/{name}@champion", url);

        AssertOnnxModel(answer);
        Assert.Equal((runId, "model"), (answer.GetProperty("run_id").GetString(), answer.GetProperty("artifact_path").GetString()));
    }

    [Fact]
    public async Task Python_2_22_reads_a_2_22_database_the_library_wrote_into()
    {
        var python = RealMlflow.SkipUnlessPython(2);
        var database = Path.Combine(_work.FullName, "mlflow.db");
        var golden = Path.Combine(AppContext.BaseDirectory, "TestData", "populated-2.22.db");
        Assert.True(File.Exists(golden), $"Test data missing: {golden}");
        File.Copy(golden, database);
        var uri = "sqlite:///" + database;

        string runId;
        string version;
        using (var client = new MlflowClient(uri))
        {
            var experimentId = await client.Experiments.CreateAsync("dotnet-on-2.22", Path.Combine(_work.FullName, "artifacts"), new Dictionary<string, string> { ["writer"] = "dotnet" }, Ct);
            await using (var run = await client.StartRunAsync(new StartRunOptions { ExperimentId = experimentId, RunName = "dotnet-run" }, Ct))
            {
                runId = run.RunId;
                run.LogParam("alpha", 0.5);
                for (var step = 0; step < 200; step++)
                {
                    run.LogMetric("loss", 1.0 / (step + 1), step);
                }

                run.LogMetric("special", double.NaN, 0);
                run.LogMetric("special", double.NegativeInfinity, 1);
                await run.LogInputAsync(new Dataset { Name = "iris", Digest = "d1g35t", SourceType = "local", Source = """{"uri": "file:///iris.csv"}""" }, "training", Ct);
            }

            var onnx = Path.Combine(_work.FullName, "m.onnx");
            await File.WriteAllBytesAsync(onnx, Samples.OnnxLogisticRegression.Write(s_weights, Bias), Ct);
            var logged = await client.Models.LogModelAsync(runId, new LogModelOptions { ArtifactPath = "model", Flavor = new OnnxFlavor(), ModelFile = onnx, RegisteredModelName = "dotnet-model" }, Ct);
            version = logged.RegisteredVersion!.Version;
            await client.ModelRegistry.SetAliasAsync("dotnet-model", "champion", version, Ct);
            var absent = await Assert.ThrowsAsync<MlflowException>(() => client.LoggedModels.GetAsync("m-0123456789abcdef0123456789abcdef", Ct));
            Assert.Equal(MlflowErrorCodes.EndpointNotFound, absent.ErrorCode); // 2.22 schema: no logged models, as a 2.x server
        }

        var answer = await PythonJson.RunAsync(python, """
            import json, sys, mlflow
            uri = sys.argv[1]
            mlflow.set_tracking_uri(uri); mlflow.set_registry_uri(uri)
            c = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
            exps = {e.name: e for e in c.search_experiments()}
            exp = exps["dotnet-on-2.22"]
            run = c.get_run(sys.argv[2])
            hist = c.get_metric_history(run.info.run_id, "loss")
            special = sorted(c.get_metric_history(run.info.run_id, "special"), key=lambda m: m.step)
            mv = c.get_model_version_by_alias("dotnet-model", "champion")
            m = mlflow.models.Model.load("models:/dotnet-model@champion")
            print(json.dumps({
                "mlflow": mlflow.__version__, "experiments": sorted(exps.keys()), "tags": exp.tags,
                "status": run.info.status, "params": run.data.params, "steps": len(hist), "distinct_steps": len({h.step for h in hist}),
                "special": [repr(s.value) for s in special],
                "inputs": [d.dataset.name for d in run.inputs.dataset_inputs],
                "history": [h["artifact_path"] for h in json.loads(run.data.tags["mlflow.log-model.history"])],
                "history_as_python_writes_it": json.dumps(json.loads(run.data.tags["mlflow.log-model.history"])) == run.data.tags["mlflow.log-model.history"],
                "version": str(mv.version), "source": mv.source, "flavors": sorted(m.flavors.keys()),
            }))
            """, uri, runId);

        Assert.StartsWith("2.22", answer.GetProperty("mlflow").GetString());
        // The experiments Python 2.22 had written are still there, next to the new one.
        Assert.Equal(["Default", "dotnet-on-2.22", "golden-exp-a", "golden-exp-b"], answer.GetProperty("experiments").EnumerateArray().Select(e => e.GetString()).Where(n => n is "Default" or "dotnet-on-2.22" or "golden-exp-a" or "golden-exp-b"));
        Assert.Equal("dotnet", answer.GetProperty("tags").GetProperty("writer").GetString());
        Assert.Equal(("FINISHED", "0.5"), (answer.GetProperty("status").GetString(), answer.GetProperty("params").GetProperty("alpha").GetString()));
        Assert.Equal((200, 200), (answer.GetProperty("steps").GetInt32(), answer.GetProperty("distinct_steps").GetInt32()));
        Assert.Equal(["nan", "-1.7976931348623157e+308"], answer.GetProperty("special").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["iris"], answer.GetProperty("inputs").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["model"], answer.GetProperty("history").EnumerateArray().Select(e => e.GetString()));
        Assert.True(answer.GetProperty("history_as_python_writes_it").GetBoolean(), "mlflow.log-model.history is not in json.dumps form");
        Assert.Equal(version, answer.GetProperty("version").GetString());
        Assert.EndsWith("/model", answer.GetProperty("source").GetString());
        Assert.Equal(["onnx", "python_function"], answer.GetProperty("flavors").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Python_3_11_reads_over_REST_the_runs_the_library_logged_to_a_real_server()
    {
        var url = RealMlflow.SkipUnlessServer(3);
        var python = RealMlflow.SkipUnlessPython(3);
        using var client = new MlflowClient(url);
        var name = $"interop-rest-{Guid.NewGuid():N}";
        string runId;
        await using (var run = await client.StartRunAsync(new StartRunOptions { ExperimentName = name, RunName = "rest-run" }, Ct))
        {
            runId = run.RunId;
            run.LogParams(new Dictionary<string, string> { ["lr"] = "0.01" });
            for (var step = 0; step < 1200; step++)
            {
                run.LogMetric("loss", 1.0 / (step + 1), step);
            }

            run.LogMetric("nan", double.NaN);
            run.SetTag("team", "vision");
            await run.LogTextAsync("from .NET", "notes/hello.txt", Ct);
        }

        var answer = await PythonJson.RunAsync(python, """
            import json, sys, mlflow
            mlflow.set_tracking_uri(sys.argv[1])
            c = mlflow.MlflowClient(tracking_uri=sys.argv[1])
            exp = c.get_experiment_by_name(sys.argv[2])
            runs = c.search_runs([exp.experiment_id])
            r = runs[0]
            hist = c.get_metric_history(r.info.run_id, "loss")
            text = mlflow.artifacts.load_text(r.info.artifact_uri + "/notes/hello.txt")
            print(json.dumps({"count": len(runs), "run_id": r.info.run_id, "name": r.info.run_name, "status": r.info.status,
                              "params": r.data.params, "team": r.data.tags.get("team"), "nan": repr(r.data.metrics["nan"]),
                              "steps": sorted(m.step for m in hist), "text": text}))
            """, url, name);

        Assert.Equal((1, runId, "rest-run", "FINISHED"), (answer.GetProperty("count").GetInt32(), answer.GetProperty("run_id").GetString(), answer.GetProperty("name").GetString(), answer.GetProperty("status").GetString()));
        Assert.Equal(("0.01", "vision", "nan"), (answer.GetProperty("params").GetProperty("lr").GetString(), answer.GetProperty("team").GetString(), answer.GetProperty("nan").GetString()));
        Assert.Equal(Enumerable.Range(0, 1200), answer.GetProperty("steps").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("from .NET", answer.GetProperty("text").GetString());
    }

    private static void AssertOnnxModel(JsonElement answer)
    {
        Assert.Equal(["input"], answer.GetProperty("inputs").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["probability"], answer.GetProperty("outputs").EnumerateArray().Select(e => e.GetString()));
        var initializers = answer.GetProperty("initializers");
        Assert.Equal(s_weights.Select(w => (double)w), initializers.GetProperty("W").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal([(double)Bias], initializers.GetProperty("B").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal(["onnx", "python_function"], answer.GetProperty("flavors").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("mlflow.onnx", answer.GetProperty("loader").GetString());
        Assert.Contains("\"input\"", answer.GetProperty("signature_inputs").GetString());
    }

    private async Task<(string Name, ModelLogResult Result, string RunId)> LogOnnxModelAsync(string url, string prefix)
    {
        using var client = new MlflowClient(url);
        var name = $"{prefix}-{Guid.NewGuid():N}";
        var experimentId = await client.Experiments.CreateAsync(name, cancellationToken: Ct);
        var run = await client.Runs.CreateAsync(experimentId, cancellationToken: Ct);
        await client.Runs.LogMetricAsync(run.Info.RunId, "accuracy", 0.875, cancellationToken: Ct);
        var onnx = Path.Combine(_work.FullName, "logreg.onnx");
        await File.WriteAllBytesAsync(onnx, Samples.OnnxLogisticRegression.Write(s_weights, Bias), Ct);
        var result = await client.Models.LogModelAsync(run.Info.RunId, new LogModelOptions
        {
            ArtifactPath = "model",
            Flavor = new OnnxFlavor(),
            ModelFile = onnx,
            Signature = new ModelSignature
            {
                Inputs = [new TensorSpec("float32", [-1, s_weights.Length], "input")],
                Outputs = [new TensorSpec("float32", [-1, 1], "probability")],
            },
            RegisteredModelName = name,
        }, Ct);
        await client.ModelRegistry.SetAliasAsync(name, "champion", result.RegisteredVersion!.Version, Ct);
        await client.Runs.SetTerminatedAsync(run.Info.RunId, cancellationToken: Ct);
        return (name, result, run.Info.RunId);
    }
}
