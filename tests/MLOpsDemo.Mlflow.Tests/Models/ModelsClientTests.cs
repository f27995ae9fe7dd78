using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;
using WireMock.Server;
using static MLOpsDemo.Mlflow.Tests.Registry.RegistryStubs;

namespace MLOpsDemo.Mlflow.Tests.Models;

public sealed class ModelsClientTests : IDisposable
{
    private const string ModelId = "m-0123456789abcdef0123456789abcdef";
    private const string ModelArtifacts = "mlflow-artifacts:/1/models/" + ModelId + "/artifacts";
    private static readonly DateTimeOffset s_now = new(2026, 1, 1, 12, 30, 15, TimeSpan.Zero);
    private readonly string _work = Directory.CreateTempSubdirectory("registry-tests-").FullName;
    private readonly WireMockServer _server = WireMockServer.Start();
    private readonly FakeArtifacts _artifacts = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        _server.Dispose();
        Directory.Delete(_work, recursive: true);
    }

    private ClientWithArtifacts Client() =>
        new(new MlflowClientOptions { TrackingUri = _server.Url!, MaxRetries = 0, TimeProvider = new FakeTimeProvider(s_now.AddTicks(1234560)) }, _artifacts);

    private LogModelOptions OnnxOptions(string? register = null)
    {
        var file = Path.Combine(_work, "trained.onnx");
        File.WriteAllBytes(file, [1, 2, 3, 4]);
        return new LogModelOptions
        {
            Flavor = new OnnxFlavor(),
            ModelFile = file,
            Signature = new ModelSignature { Inputs = [new TensorSpec("float32", [-1, 4], "input")], Outputs = [new TensorSpec("float32", [-1, 3], "probabilities")] },
            InputExample = new ModelInputExample("[[5.1, 3.5, 1.4, 0.2]]"),
            RegisteredModelName = register,
            ModelType = "classifier",
            Step = 7,
        };
    }

    private void StubMlflow3(bool uploadFails = false, string? run = null, string? modelTags = null)
    {
        Json(_server, "GET", MlflowApi + "/runs/get", run ?? Run("r1", parameters: """{"key": "lr", "value": "0.01"}"""), query: [("run_id", "r1")]);
        Json(_server, "POST", MlflowApi + "/logged-models", "{\"model\": " + LoggedModelJson("LOGGED_MODEL_PENDING") + "}");
        Json(_server, "POST", MlflowApi + "/runs/outputs", "{}");
        Json(_server, "PATCH", MlflowApi + "/logged-models/" + ModelId, "{\"model\": " + LoggedModelJson(uploadFails ? "LOGGED_MODEL_UPLOAD_FAILED" : "LOGGED_MODEL_READY") + "}");
        Json(_server, "POST", MlflowApi + "/registered-models/create", """{"registered_model": {"name": "iris"}}""");
        Json(_server, "POST", MlflowApi + "/model-versions/create", $$"""{"model_version": {{Version("iris", "1", "r1", source: "models:/" + ModelId)}}}""");
        Json(_server, "PATCH", MlflowApi + "/logged-models/" + ModelId + "/tags", "{}");
        Json(_server, "GET", MlflowApi + "/logged-models/" + ModelId, "{\"model\": " + LoggedModelJson("LOGGED_MODEL_READY", modelTags) + "}");
    }

    private static string LoggedModelJson(string status, string? tags = null) =>
        $$"""{"info": {"model_id": "{{ModelId}}", "experiment_id": "1", "name": "model", "artifact_uri": "{{ModelArtifacts}}", "status": "{{status}}", "source_run_id": "r1", "tags": [{{tags}}]}""" + "}";

    private void StubMlflow2()
    {
        Json(_server, "GET", MlflowApi + "/runs/get", Run("r1"), query: [("run_id", "r1")]);
        Html404(_server, "POST", MlflowApi + "/logged-models");
        Json(_server, "POST", MlflowApi + "/runs/log-model", "{}");
        Json(_server, "POST", MlflowApi + "/registered-models/create", """{"error_code": "RESOURCE_ALREADY_EXISTS", "message": "Registered Model (name=iris) already exists."}""", 400);
        Json(_server, "POST", MlflowApi + "/model-versions/create", $$"""{"model_version": {{Version("iris", "4", "r1")}}}""");
    }

    private IEnumerable<string> Requests() => _server.LogEntries.Select(e => $"{e.RequestMessage.Method} {e.RequestMessage.Path[MlflowApi.Length..]}");

    [Fact]
    public async Task On_mlflow_3_logs_a_logged_model_uploads_finalizes_links_and_registers()
    {
        StubMlflow3();
        using var client = Client();

        var result = await client.Models.LogModelAsync("r1", OnnxOptions(register: "iris"), Ct);

        Assert.Equal(
            ["GET /runs/get", "POST /logged-models", "POST /runs/outputs", $"PATCH /logged-models/{ModelId}", "POST /registered-models/create", "POST /model-versions/create", $"GET /logged-models/{ModelId}", $"PATCH /logged-models/{ModelId}/tags"],
            Requests());
        var create = Body(Calls(_server, "POST", "/logged-models").Single());
        create.AsObject().Remove("tags"); // the context tags: see On_mlflow_3_the_logged_model_gets_Pythons_context_tags_and_the_runs_metrics_of_its_step
        Assert.Equal("""{"experiment_id":"1","name":"model","model_type":"classifier","source_run_id":"r1","params":[{"key":"lr","value":"0.01"}]}""", create.ToJsonString());
        Assert.Equal($$"""{"run_id":"r1","models":[{"model_id":"{{ModelId}}","step":7}]}""", Body(Calls(_server, "POST", "/runs/outputs").Single()).ToJsonString());
        Assert.Equal($$"""{"model_id":"{{ModelId}}","status":"LOGGED_MODEL_READY"}""", Body(Calls(_server, "PATCH", ModelId).Single()).ToJsonString());
        Assert.Equal($$"""{"name":"iris","source":"models:/{{ModelId}}","run_id":"r1","model_id":"{{ModelId}}"}""", Body(Calls(_server, "POST", "/model-versions/create").Single()).ToJsonString());
        var tags = Body(Calls(_server, "PATCH", "/tags").Single());
        Assert.Equal("mlflow.modelVersions", (string?)tags["tags"]![0]!["key"]);
        Assert.Equal("[{\"name\": \"iris\", \"version\": 1}]", (string?)tags["tags"]![0]!["value"]); // a number, as MLflow's stores write it

        var upload = Assert.Single(_artifacts.Uploads);
        Assert.Equal(ModelArtifacts, upload.Uri);
        Assert.Equal(["MLmodel", "conda.yaml", "input_example.json", "model.onnx", "python_env.yaml", "requirements.txt", "serving_input_example.json"], upload.Files.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, upload.Files["model.onnx"]);
        Assert.Equal("{\"inputs\": [[5.1, 3.5, 1.4, 0.2]]}", System.Text.Encoding.UTF8.GetString(upload.Files["serving_input_example.json"]));
        Assert.False(Directory.Exists(upload.Directory), "the temporary model directory is removed after the upload");

        var mlmodel = MlflowModel.Parse(System.Text.Encoding.UTF8.GetString(upload.Files["MLmodel"]));
        Assert.Equal(ModelArtifacts, mlmodel.ArtifactPath);
        Assert.Equal(ModelId, mlmodel.ModelId);
        Assert.Equal(ModelId, mlmodel.ModelUuid);
        Assert.Equal("r1", mlmodel.RunId);
        Assert.Equal("2026-01-01 12:30:15.123456", MlflowModel.FormatTime(mlmodel.UtcTimeCreated));
        Assert.Equal("mlflow.onnx", mlmodel.Flavors["python_function"].GetString("loader_module"));
        Assert.Equal("model.onnx", mlmodel.Flavors["onnx"].GetString("data"));
        Assert.Equal("ndarray", mlmodel.SavedInputExampleInfo!.Type);
        Assert.Equal(4, mlmodel.ModelSizeBytes - upload.Files.Where(f => f.Key is not "MLmodel" and not "model.onnx").Sum(f => f.Value.Length));

        Assert.Equal("models:/" + ModelId, result.ModelUri);
        Assert.Equal(ModelId, result.ModelId);
        Assert.Equal(LoggedModelStatus.Ready, result.LoggedModel!.Info.Status);
        Assert.Equal("1", result.RegisteredVersion!.Version);
    }

    [Fact]
    public async Task On_mlflow_3_the_logged_model_gets_Pythons_context_tags_and_the_runs_metrics_of_its_step()
    {
        const string Sha = "0123456789abcdef0123456789abcdef01234567";
        var repo = Directory.CreateDirectory(Path.Combine(_work, "repo", ".git")).FullName;
        await File.WriteAllTextAsync(Path.Combine(repo, "HEAD"), Sha + "\n", Ct);
        await File.WriteAllTextAsync(Path.Combine(repo, "config"), "[remote \"origin\"]\n\turl = https://example.com/team/repo.git\n", Ct);
        StubMlflow3(run: Run("r1", metrics: """{"key": "acc", "value": 0.95, "timestamp": 2, "step": 1}, {"key": "loss", "value": 0.3, "timestamp": 3, "step": 7}"""));
        Json(_server, "GET", MlflowApi + "/metrics/get-history", """{"metrics": [{"key": "acc", "value": 0.9, "timestamp": 1, "step": 7}, {"key": "acc", "value": 0.95, "timestamp": 2, "step": 1}]}""", query: [("run_id", "r1"), ("metric_key", "acc")]);
        Json(_server, "GET", MlflowApi + "/metrics/get-history", """{"metrics": [{"key": "loss", "value": 0.3, "timestamp": 3, "step": 7, "dataset_name": "iris", "dataset_digest": "d1"}, {"key": "loss", "value": 0.2, "timestamp": 4, "step": 7, "model_id": "m-other"}]}""", query: [("run_id", "r1"), ("metric_key", "loss")]);
        Json(_server, "POST", MlflowApi + "/runs/log-batch", "{}");
        using var client = new ClientWithArtifacts(new MlflowClientOptions { TrackingUri = _server.Url!, MaxRetries = 0, Username = "alice", TimeProvider = new FakeTimeProvider(s_now) }, _artifacts)
        {
            SourceNameOverride = "/app/train.dll",
            SourceDirectoryOverride = Path.GetDirectoryName(repo),
            EnvironmentReader = name => name == "MLFLOW_RUN_CONTEXT" ? "{\"pipeline\": \"nightly\"}" : null,
        };

        await client.Models.LogModelAsync("r1", OnnxOptions() with { Tags = new Dictionary<string, string> { ["team"] = "vision", ["mlflow.source.type"] = "JOB" } }, Ct);

        // mlflow.<flavor>.log_model: context_registry.resolve_tags(tags): user, source, git commit (no branch/origin), run context; the caller's win.
        var tags = Body(Calls(_server, "POST", "/logged-models").Single())["tags"]!.AsArray().ToDictionary(t => (string)t!["key"]!, t => (string?)t!["value"]);
        Assert.Equal(
            new Dictionary<string, string?>
            {
                ["mlflow.user"] = "alice", ["mlflow.source.name"] = "/app/train.dll", ["mlflow.source.type"] = "JOB",
                ["mlflow.source.git.commit"] = Sha, ["pipeline"] = "nightly", ["team"] = "vision",
            },
            tags);

        // Model.log: the run's history points at the model's step (7) that belong to no model, logged again with the model id.
        var batch = Body(Calls(_server, "POST", "/runs/log-batch").Single());
        Assert.Equal(
            $$"""{"run_id":"r1","metrics":[{"key":"acc","value":0.9,"timestamp":1,"step":7,"model_id":"{{ModelId}}"},{"key":"loss","value":0.3,"timestamp":3,"step":7,"model_id":"{{ModelId}}","dataset_name":"iris","dataset_digest":"d1"}]}""",
            batch.ToJsonString());
        Assert.True(_server.LogEntries.ToList().FindIndex(e => e.RequestMessage.Path.EndsWith("/runs/log-batch", StringComparison.Ordinal))
            < _server.LogEntries.ToList().FindIndex(e => e.RequestMessage.Method == "PATCH"), "the metrics are linked before the model is finalized, as Python does");
    }

    [Theory]
    [InlineData(null, "[{\"name\": \"iris\", \"version\": 2}]")]
    [InlineData("[{\"name\": \"other\", \"version\": 5}]", "[{\"name\": \"other\", \"version\": 5}, {\"name\": \"iris\", \"version\": 2}]")]
    [InlineData("[{\"name\": \"iris\", \"version\": 1}]", "[{\"name\": \"iris\", \"version\": 1}, {\"name\": \"iris\", \"version\": 2}]")]
    [InlineData("[{\"name\": \"iris\", \"version\": 2}]", null)] // an MLflow 3 server recorded it when the version was created
    [InlineData("[{\"name\": \"iris\", \"version\": \"2\"}]", null)]
    [InlineData("not json", "[{\"name\": \"iris\", \"version\": 2}]")]
    public void Model_versions_tag_appends_the_version_as_a_number_once(string? existing, string? expected) =>
        Assert.Equal(expected, ModelsClient.AppendModelVersion(existing, "iris", "2"));

    [Fact]
    public async Task On_mlflow_3_a_version_the_server_already_recorded_is_not_written_again()
    {
        StubMlflow3(modelTags: """{"key": "mlflow.modelVersions", "value": "[{\"name\": \"iris\", \"version\": 1}]"}""");
        using var client = Client();

        await client.Models.LogModelAsync("r1", OnnxOptions(register: "iris"), Ct);

        Assert.Single(Calls(_server, "GET", "/logged-models/" + ModelId));
        Assert.Empty(Calls(_server, "PATCH", "/tags"));
    }

    [Fact]
    public async Task On_mlflow_3_a_failed_upload_marks_the_logged_model_upload_failed()
    {
        StubMlflow3(uploadFails: true);
        _artifacts.UploadFailure = new IOException("disk full");
        using var client = Client();

        var error = await Assert.ThrowsAsync<IOException>(() => client.Models.LogModelAsync("r1", OnnxOptions(register: "iris"), Ct));

        Assert.Equal("disk full", error.Message);
        var finalize = Body(Calls(_server, "PATCH", ModelId).Single());
        Assert.Equal("LOGGED_MODEL_UPLOAD_FAILED", (string?)finalize["status"]);
        Assert.Empty(Calls(_server, "POST", "/model-versions/create"));
    }

    [Fact]
    public async Task On_mlflow_2_logs_run_artifacts_history_tag_and_registers_the_resolved_uri()
    {
        StubMlflow2();
        using var client = Client();

        var result = await client.Models.LogModelAsync("r1", OnnxOptions(register: "iris"), Ct);
        await client.Models.LogModelAsync("r1", OnnxOptions() with { ArtifactPath = "models/onnx" }, Ct);

        Assert.Single(Calls(_server, "POST", "/logged-models"));
        Assert.Equal(MLOpsDemo.Mlflow.Http.ServerSupport.Unsupported, client.Capabilities.LoggedModels); // detected once, kept per client
        Assert.Equal(["mlflow-artifacts:/1/r1/artifacts/model", "mlflow-artifacts:/1/r1/artifacts/models/onnx"], _artifacts.Uploads.Select(u => u.Uri));
        var mlmodel = MlflowModel.Parse(System.Text.Encoding.UTF8.GetString(_artifacts.Uploads[0].Files["MLmodel"]));
        Assert.Equal("model", mlmodel.ArtifactPath);
        Assert.Null(mlmodel.ModelId);
        Assert.Matches("^[0-9a-f]{32}$", mlmodel.ModelUuid);

        var logModel = Body(Calls(_server, "POST", "/runs/log-model").First());
        Assert.Equal("r1", (string?)logModel["run_id"]);
        var history = (string)logModel["model_json"]!;
        Assert.StartsWith("{\"run_id\": \"r1\", \"artifact_path\": \"model\", \"utc_time_created\": \"2026-01-01 12:30:15.123456\", \"model_uuid\": \"" + mlmodel.ModelUuid + "\", \"flavors\": {\"onnx\": {", history, StringComparison.Ordinal);
        using (var parsed = JsonDocument.Parse(history))
        {
            Assert.Equal("mlflow.onnx", parsed.RootElement.GetProperty("flavors").GetProperty("python_function").GetProperty("loader_module").GetString());
        }

        var version = Body(Calls(_server, "POST", "/model-versions/create").Single());
        Assert.Equal("""{"name":"iris","source":"mlflow-artifacts:/1/r1/artifacts/model","run_id":"r1"}""", version.ToJsonString());
        Assert.Equal("runs:/r1/model", result.ModelUri);
        Assert.Null(result.ModelId);
        Assert.Equal("4", result.RegisteredVersion!.Version);
    }

    [Fact]
    public async Task Logged_model_search_passes_dataset_filters_to_the_server()
    {
        Json(_server, "POST", MlflowApi + "/logged-models/search", "{\"models\": [" + LoggedModelJson("LOGGED_MODEL_READY") + "]}");
        using var client = Client();

        var page = await client.LoggedModels.SearchPageAsync(
            new SearchLoggedModelsOptions
            {
                ExperimentIds = ["1"],
                Filter = "metrics.acc > 0.8",
                Datasets = [new LoggedModelDatasetFilter("train"), new LoggedModelDatasetFilter("test", "d2")],
                OrderBy = [new LoggedModelOrderBy("metrics.acc", Ascending: false) { DatasetName = "test" }],
            },
            Ct);

        Assert.Equal(ModelId, Assert.Single(page.Items).Info.ModelId);
        Assert.Equal(
            """{"experiment_ids":["1"],"filter":"metrics.acc \u003E 0.8","datasets":[{"dataset_name":"train"},{"dataset_name":"test","dataset_digest":"d2"}],"max_results":50,"order_by":[{"field_name":"metrics.acc","ascending":false,"dataset_name":"test"}]}""",
            Body(Calls(_server, "POST", "/logged-models/search").Single()).ToJsonString());
        await Assert.ThrowsAsync<ArgumentException>(() => client.LoggedModels.SearchPageAsync(new SearchLoggedModelsOptions { ExperimentIds = ["1"], Datasets = [new LoggedModelDatasetFilter("")] }, Ct));
        Assert.Single(_server.LogEntries);
    }

    [Fact]
    public async Task Invalid_options_are_refused_before_any_request()
    {
        using var client = Client();

        await Assert.ThrowsAsync<ArgumentException>(() => client.Models.LogModelAsync("r1", new LogModelOptions { Flavor = new OnnxFlavor(), ModelFile = Path.Combine(_work, "missing.onnx") }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => client.Models.LogModelAsync("r1", new LogModelOptions { Flavor = new OnnxFlavor() }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => client.Models.LogModelAsync("r1", OnnxOptions() with { ArtifactPath = "../model" }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => client.Models.LogModelAsync("r1", OnnxOptions() with { InputExample = new ModelInputExample("[1, 2") }, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => client.Models.LogModelAsync("bad run id", OnnxOptions(), Ct));
        Assert.Empty(_server.LogEntries);
    }

    [Fact]
    public async Task Onnx_python_function_entry_and_env_files_are_the_ones_Python_writes()
    {
        using var client = Client();
        var reference = Path.Combine(AppContext.BaseDirectory, "TestData", "python-onnx-reference");
        var python = await MlflowModel.LoadAsync(Path.Combine(reference, "MLmodel"), Ct);
        var directory = Path.Combine(_work, "saved");

        var ours = await client.Models.SaveModelAsync(directory, OnnxOptions() with { Flavor = new OnnxFlavor { OnnxVersion = "1.12.0", PythonVersion = "3.11.2" } }, Ct);

        // python_function: the same keys (data, env, loader_module, python_version) and values as mlflow.onnx.save_model.
        var (pyFunc, ourFunc) = (python.GetFlavor("python_function")!, ours.GetFlavor("python_function")!);
        Assert.Equal(pyFunc.Config.Keys.Order(StringComparer.Ordinal), ourFunc.Config.Keys.Order(StringComparer.Ordinal));
        foreach (var key in new[] { "data", "loader_module", "python_version" })
        {
            Assert.Equal(pyFunc.GetString(key), ourFunc.GetString(key));
        }

        Assert.Equal(((IReadOnlyDictionary<string, object?>)pyFunc.Config["env"]!).OrderBy(e => e.Key), ((IReadOnlyDictionary<string, object?>)ourFunc.Config["env"]!).OrderBy(e => e.Key));
        Assert.Equal(ours.ToYaml(), (await MlflowModel.LoadAsync(directory, Ct)).ToYaml());

        // The env files: same top-level keys, the requirements in Python's order, the versions asked for.
        foreach (var file in new[] { "conda.yaml", "python_env.yaml" })
        {
            Assert.Equal(TopLevelKeys(Path.Combine(reference, file)), TopLevelKeys(Path.Combine(directory, file)));
        }

        var requirements = await File.ReadAllTextAsync(Path.Combine(directory, "requirements.txt"), Ct);
        Assert.Equal(
            (await File.ReadAllLinesAsync(Path.Combine(reference, "requirements.txt"), Ct)).Select(l => l.Split("==")[0]),
            requirements.Split('\n').Select(l => l.Split("==")[0]));
        Assert.Equal("mlflow==2.21.3\nonnx==1.12.0\nonnxruntime==1.19.2", requirements);
        var conda = await File.ReadAllTextAsync(Path.Combine(directory, "conda.yaml"), Ct);
        Assert.Contains("- python=3.11.2\n", conda, StringComparison.Ordinal);
        Assert.Contains("  - onnxruntime==1.19.2\n", conda, StringComparison.Ordinal);
        Assert.StartsWith("python: 3.11.2\n", await File.ReadAllTextAsync(Path.Combine(directory, "python_env.yaml"), Ct), StringComparison.Ordinal);
        Assert.Equal(new DirectoryInfo(directory).EnumerateFiles().Where(f => f.Name != "MLmodel").Sum(f => f.Length), ours.ModelSizeBytes);
    }

    [Fact]
    public async Task Onnx_env_files_are_left_out_on_request_and_a_callers_own_file_wins()
    {
        using var client = Client();
        var own = Path.Combine(_work, "requirements.txt");
        await File.WriteAllTextAsync(own, "mlflow\nonnxruntime-gpu==1.20.0\n", Ct);

        var without = await client.Models.SaveModelAsync(Path.Combine(_work, "plain"), OnnxOptions() with { Flavor = new OnnxFlavor { IncludeEnv = false, PythonVersion = null } }, Ct);
        await client.Models.SaveModelAsync(Path.Combine(_work, "own"), OnnxOptions() with { AdditionalFiles = [own] }, Ct);

        Assert.Equal(["data", "loader_module"], without.GetFlavor("python_function")!.Config.Keys.Order(StringComparer.Ordinal));
        Assert.False(File.Exists(Path.Combine(_work, "plain", "conda.yaml")));
        Assert.False(File.Exists(Path.Combine(_work, "plain", "requirements.txt")));
        Assert.Equal("mlflow\nonnxruntime-gpu==1.20.0\n", await File.ReadAllTextAsync(Path.Combine(_work, "own", "requirements.txt"), Ct));
        Assert.StartsWith("python: 3.11.7\n", await File.ReadAllTextAsync(Path.Combine(_work, "own", "python_env.yaml"), Ct), StringComparison.Ordinal);
    }

    private static List<string> TopLevelKeys(string yamlFile) =>
        File.ReadAllLines(yamlFile).Where(l => l.Length > 0 && char.IsLetter(l[0]) && l.Contains(':', StringComparison.Ordinal)).Select(l => l[..l.IndexOf(':', StringComparison.Ordinal)]).ToList();

    [Fact]
    public async Task Custom_flavor_writes_its_own_entry_and_file()
    {
        using var client = Client();
        var zip = Path.Combine(_work, "model.zip");
        await File.WriteAllBytesAsync(zip, [9, 9], Ct);
        var directory = Path.Combine(_work, "saved");

        var model = await client.Models.SaveModelAsync(directory, new LogModelOptions { Flavor = new CustomFlavor("mlnet", "model.zip", new Dictionary<string, object?> { ["mlnet_version"] = "4.0.0" }), ModelFile = zip }, Ct);

        Assert.Equal(["mlnet"], model.Flavors.Keys);
        Assert.True(File.Exists(Path.Combine(directory, "model.zip")));
        var yaml = await File.ReadAllTextAsync(Path.Combine(directory, "MLmodel"), Ct);
        Assert.Contains("flavors:\n  mlnet:\n    data: model.zip\n    mlnet_version: 4.0.0\n", yaml, StringComparison.Ordinal);
        Assert.DoesNotContain("artifact_path", yaml, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Download_resolves_the_alias_downloads_and_parses_MLmodel()
    {
        using var client = Client();
        var source = Path.Combine(_work, "source");
        await client.Models.SaveModelAsync(source, OnnxOptions(), Ct);
        _artifacts.DownloadSource = source;
        Json(_server, "GET", MlflowApi + "/registered-models/alias", $$"""{"model_version": {{Version("iris", "3", "r1", aliases: "champion")}}}""", query: [("name", "iris"), ("alias", "champion")]);
        Json(_server, "GET", MlflowApi + "/model-versions/get-download-uri", """{"artifact_uri": "mlflow-artifacts:/1/r1/artifacts/model"}""", query: [("name", "iris"), ("version", "3")]);
        var target = Path.Combine(_work, "download");

        var downloaded = await client.Models.DownloadModelAsync("models:/iris@champion", target, Ct);

        Assert.Equal(["mlflow-artifacts:/1/r1/artifacts/model"], _artifacts.Downloads);
        Assert.Equal("3", downloaded.Source.Version);
        Assert.Equal("model.onnx", downloaded.Model.GetOnnxFlavor()!.Data);
        Assert.Equal("input", downloaded.Model.Signature!.Inputs![0].Name);
        Assert.Equal(Path.Combine(downloaded.LocalPath, "model.onnx"), downloaded.GetDataPath());
        Assert.True(File.Exists(downloaded.GetDataPath()));
    }

    [Fact]
    public async Task With_the_real_artifacts_client_uploads_by_put_and_downloads_by_get()
    {
        StubMlflow2();
        const string Proxy = "/api/2.0/mlflow-artifacts/artifacts";
        _server.Given(WireMock.RequestBuilders.Request.Create().WithPath(new WireMock.Matchers.WildcardMatcher(Proxy + "/1/r1/artifacts/model/*")).UsingPut())
            .RespondWith(WireMock.ResponseBuilders.Response.Create().WithHeader("Content-Type", "application/json").WithBody("{}"));
        using var client = new MlflowClient(new MlflowClientOptions { TrackingUri = _server.Url!, MaxRetries = 0 });

        var logged = await client.Models.LogModelAsync("r1", OnnxOptions(), Ct);

        var puts = _server.LogEntries.Where(e => e.RequestMessage.Method == "PUT").ToDictionary(e => e.RequestMessage.Path[(Proxy.Length + 1)..], e => e.RequestMessage.BodyAsBytes ?? System.Text.Encoding.UTF8.GetBytes(e.RequestMessage.Body ?? ""));
        Assert.Equal(
            ["MLmodel", "conda.yaml", "input_example.json", "model.onnx", "python_env.yaml", "requirements.txt", "serving_input_example.json"],
            puts.Keys.Order(StringComparer.Ordinal).Select(k => k["1/r1/artifacts/model/".Length..]));
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, puts["1/r1/artifacts/model/model.onnx"]);

        // Serve what was uploaded back to the download.
        var mlmodel = System.Text.Encoding.UTF8.GetString(puts["1/r1/artifacts/model/MLmodel"]);
        Json(_server, "GET", Proxy, $$"""{"files": [{"path": "MLmodel", "is_dir": false, "file_size": {{puts["1/r1/artifacts/model/MLmodel"].Length}}}, {"path": "model.onnx", "is_dir": false, "file_size": 4}]}""", query: [("path", "1/r1/artifacts/model")]);
        _server.Given(WireMock.RequestBuilders.Request.Create().WithPath(Proxy + "/1/r1/artifacts/model/MLmodel").UsingGet()).RespondWith(WireMock.ResponseBuilders.Response.Create().WithHeader("Content-Type", "text/plain").WithBody(mlmodel));
        _server.Given(WireMock.RequestBuilders.Request.Create().WithPath(Proxy + "/1/r1/artifacts/model/model.onnx").UsingGet()).RespondWith(WireMock.ResponseBuilders.Response.Create().WithHeader("Content-Type", "application/octet-stream").WithBody(new byte[] { 1, 2, 3, 4 }));
        Json(_server, "GET", MlflowApi + "/model-versions/get-download-uri", """{"artifact_uri": "mlflow-artifacts:/1/r1/artifacts/model"}""", query: [("name", "iris"), ("version", "4")]);

        var downloaded = await client.Models.DownloadModelAsync("models:/iris/4", Path.Combine(_work, "dl"), Ct);

        Assert.Equal(logged.Model.ModelUuid, downloaded.Model.ModelUuid);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, await File.ReadAllBytesAsync(downloaded.GetDataPath()!, Ct));
    }

    private sealed class ClientWithArtifacts(MlflowClientOptions options, ArtifactsClient artifacts) : MlflowClient(options)
    {
        public override ArtifactsClient Artifacts => artifacts;
    }

    private sealed class FakeArtifacts : ArtifactsClient
    {
        public List<(string Uri, string Directory, Dictionary<string, byte[]> Files)> Uploads { get; } = [];

        public List<string> Downloads { get; } = [];

        public Exception? UploadFailure { get; set; }

        public string? DownloadSource { get; set; }

        public override Task UploadDirectoryAsync(string artifactUri, string localDirectory, CancellationToken cancellationToken = default)
        {
            if (UploadFailure is not null)
            {
                throw UploadFailure;
            }

            var files = Directory.EnumerateFiles(localDirectory, "*", SearchOption.AllDirectories)
                .ToDictionary(f => Path.GetRelativePath(localDirectory, f).Replace('\\', '/'), File.ReadAllBytes);
            Uploads.Add((artifactUri, localDirectory, files));
            return Task.CompletedTask;
        }

        public override Task<string> DownloadUriAsync(string artifactUri, string destinationDirectory, CancellationToken cancellationToken = default)
        {
            Downloads.Add(artifactUri);
            var target = Path.Combine(destinationDirectory, "model");
            Directory.CreateDirectory(target);
            foreach (var file in Directory.EnumerateFiles(DownloadSource!))
            {
                File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
            }

            return Task.FromResult(target);
        }
    }
}
