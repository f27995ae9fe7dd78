using System.Text.Json.Nodes;

namespace MLOpsDemo.Mlflow.Cli.Tests;

/// <summary>
/// Every command end to end, in-process, on the local store and on the real MLflow 3.11 and 2.22 servers
/// (<c>MLFLOW_TEST_TRACKING_URI_3/_2</c>; skipped visibly when unset): JSON parsed and checked, exit codes.
/// </summary>
public class CommandTests
{
    [Theory]
    [InlineData("local")]
    [InlineData("3")]
    [InlineData("2")]
    public async Task Experiments_create_list_delete_restore(string store)
    {
        using var target = CliTarget.Open(store);
        var name = await target.CreateExperimentAsync("exp");

        var again = (await target.RunAsync("experiments", "create", name, "--if-not-exists", "--output", "json")).Ok().Json;
        Assert.False(again["created"]!.GetValue<bool>());
        Assert.Equal(name, again["name"]!.GetValue<string>());
        var id = again["experiment_id"]!.GetValue<string>();

        var listed = (await target.RunAsync("experiments", "list", "--filter", $"name = '{name}'", "-o", "json")).Ok().Json["experiments"]!.AsArray();
        var single = Assert.Single(listed);
        Assert.Equal(id, single!["experiment_id"]!.GetValue<string>());
        Assert.Equal("active", single["lifecycle_stage"]!.GetValue<string>());

        var deleted = (await target.RunAsync("experiments", "delete", name, "-o", "json")).Ok().Json;
        Assert.Equal("deleted", deleted["lifecycle_stage"]!.GetValue<string>());
        var active = (await target.RunAsync("experiments", "list", "--filter", $"name = '{name}'", "-o", "json")).Ok().Json["experiments"]!.AsArray();
        Assert.Empty(active);

        var restored = (await target.RunAsync("experiments", "restore", name, "-o", "json")).Ok().Json;
        Assert.Equal("active", restored["lifecycle_stage"]!.GetValue<string>());

        var plain = (await target.RunAsync("experiments", "list")).Ok().Out;
        Assert.Contains(name, plain, StringComparison.Ordinal);
        Assert.StartsWith("ID", plain, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("local")]
    [InlineData("3")]
    [InlineData("2")]
    public async Task Runs_create_log_show_list_compare_end(string store)
    {
        using var target = CliTarget.Open(store);
        var experiment = await target.CreateExperimentAsync("runs");
        var created = (await target.RunAsync("runs", "create", "-x", experiment, "--name", "candidate", "--tag", "team=fraud", "-o", "json")).Ok().Json;
        var runId = created["run_id"]!.GetValue<string>();
        Assert.Equal("RUNNING", created["status"]!.GetValue<string>());
        Assert.Equal("fraud", created["tags"]!["team"]!.GetValue<string>());

        var metricsFile = Path.Combine(target.Folder, "metrics.json");
        await File.WriteAllTextAsync(metricsFile, """{"metrics": {"f1": 0.81}, "params": {"dataset": "v3"}, "tags": {"stage": "ci"}}""", TestContext.Current.CancellationToken);
        var csvFile = Path.Combine(target.Folder, "loss.csv");
        await File.WriteAllTextAsync(csvFile, "key,value,step\nloss,0.5,0\nloss,0.25,1\nloss,0.3,2\n", TestContext.Current.CancellationToken);
        var logged = (await target.RunAsync("runs", "log", runId, "--metric", "accuracy=0.8@1", "--metric", "accuracy=0.93@2", "--param", "lr=0.1", "--from-file", metricsFile, "--from-file", csvFile, "-o", "json")).Ok().Json;
        Assert.Equal(6, logged["metrics"]!.AsArray().Count);
        Assert.Equal("v3", logged["params"]!["dataset"]!.GetValue<string>());

        var ended = (await target.RunAsync("runs", "end", runId, "--status", "FAILED", "-o", "json")).Ok().Json;
        Assert.Equal("FAILED", ended["status"]!.GetValue<string>());
        Assert.NotNull(ended["end_time"]);

        var shown = (await target.RunAsync("runs", "show", runId, "-o", "json")).Ok().Json;
        Assert.Equal("candidate", shown["run_name"]!.GetValue<string>());
        Assert.Equal(0.93, shown["metrics"]!["accuracy"]!.GetValue<double>());
        Assert.Equal(0.3, shown["metrics"]!["loss"]!.GetValue<double>());
        Assert.Equal(0.81, shown["metrics"]!["f1"]!.GetValue<double>());
        Assert.Equal("0.1", shown["params"]!["lr"]!.GetValue<string>());
        Assert.Equal("ci", shown["tags"]!["stage"]!.GetValue<string>());

        var other = await target.CreateRunAsync(experiment, "baseline", "--metric", "accuracy=0.9", "--param", "lr=0.1", "--param", "dataset=v2");
        var listed = (await target.RunAsync("runs", "list", "-x", experiment, "--filter", "metrics.accuracy > 0.91", "-o", "json")).Ok().Json["runs"]!.AsArray();
        Assert.Equal(runId, Assert.Single(listed)!["run_id"]!.GetValue<string>());
        var ordered = (await target.RunAsync("runs", "list", "-x", experiment, "--order-by", "metrics.accuracy ASC", "--max", "1", "-o", "json")).Ok().Json["runs"]!.AsArray();
        Assert.Equal(other, Assert.Single(ordered)!["run_id"]!.GetValue<string>());

        var compared = (await target.RunAsync("runs", "compare", runId, other, "-o", "json")).Ok().Json;
        var lr = compared["params"]!.AsArray().Single(p => p!["key"]!.GetValue<string>() == "lr")!;
        Assert.False(lr["differs"]!.GetValue<bool>());
        var dataset = compared["params"]!.AsArray().Single(p => p!["key"]!.GetValue<string>() == "dataset")!;
        Assert.True(dataset["differs"]!.GetValue<bool>());
        Assert.Equal(["v3", "v2"], dataset["values"]!.AsArray().Select(v => v!.GetValue<string>()));
        var accuracy = compared["metrics"]!.AsArray().Single(p => p!["key"]!.GetValue<string>() == "accuracy")!;
        Assert.Equal([0.93, 0.9], accuracy["values"]!.AsArray().Select(v => v!.GetValue<double>()));
        var loss = compared["metrics"]!.AsArray().Single(p => p!["key"]!.GetValue<string>() == "loss")!;
        Assert.Null(loss["values"]![1]);

        var table = (await target.RunAsync("runs", "compare", runId, other)).Ok().Out;
        Assert.Contains(table.Split('\n'), line => line.StartsWith('*') && line.Contains("dataset", StringComparison.Ordinal) && line.Contains("v3", StringComparison.Ordinal) && line.Contains("v2", StringComparison.Ordinal));
        Assert.Contains(table.Split('\n'), line => line.StartsWith("   lr", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("local")]
    [InlineData("3")]
    [InlineData("2")]
    public async Task Artifacts_upload_list_download_by_run_id_and_uri(string store)
    {
        using var target = CliTarget.Open(store);
        var experiment = await target.CreateExperimentAsync("art");
        var runId = await target.CreateRunAsync(experiment, "art-run");
        var source = Directory.CreateDirectory(Path.Combine(target.Folder, "upload")).FullName;
        Directory.CreateDirectory(Path.Combine(source, "sub"));
        await File.WriteAllTextAsync(Path.Combine(source, "a.txt"), "alpha", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(source, "sub", "b.txt"), "bravo!", TestContext.Current.CancellationToken);
        var single = Path.Combine(target.Folder, "single.txt");
        await File.WriteAllTextAsync(single, "one", TestContext.Current.CancellationToken);

        var uploaded = await target.RunAsync("artifacts", "upload", runId, source, "--artifact-path", "data");
        uploaded.Ok();
        Assert.Contains("data/sub/b.txt", uploaded.Error, StringComparison.Ordinal); // plain progress lines on stderr
        (await target.RunAsync("artifacts", "upload", runId, single)).Ok();

        var tree = (await target.RunAsync("artifacts", "list", runId, "--recursive", "-o", "json")).Ok().Json["artifacts"]!.AsArray();
        var files = tree.Where(f => !f!["is_dir"]!.GetValue<bool>()).ToDictionary(f => f!["path"]!.GetValue<string>(), f => f!["file_size"]!.GetValue<long>());
        Assert.Equal(5, files["data/a.txt"]);
        Assert.Equal(6, files["data/sub/b.txt"]);
        Assert.Equal(3, files["single.txt"]);

        var underData = (await target.RunAsync("artifacts", "list", $"runs:/{runId}/data", "-o", "json")).Ok().Json["artifacts"]!.AsArray();
        Assert.Equal(["data/a.txt", "data/sub"], underData.Select(f => f!["path"]!.GetValue<string>()).Order(StringComparer.Ordinal));

        var dest = Path.Combine(target.Folder, "download");
        var downloaded = (await target.RunAsync("artifacts", "download", runId, "data", "--dest", dest, "-o", "json")).Ok().Json;
        var local = downloaded["local_path"]!.GetValue<string>();
        Assert.Equal("bravo!", await File.ReadAllTextAsync(Path.Combine(local, "sub", "b.txt"), TestContext.Current.CancellationToken));

        var dest2 = Path.Combine(target.Folder, "download2");
        var byUri = (await target.RunAsync("artifacts", "download", $"runs:/{runId}/single.txt", "--dest", dest2, "-o", "json")).Ok().Json;
        Assert.Equal("one", await File.ReadAllTextAsync(byUri["local_path"]!.GetValue<string>(), TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("local")]
    [InlineData("3")]
    [InlineData("2")]
    public async Task Models_register_list_show_download(string store)
    {
        using var target = CliTarget.Open(store);
        var experiment = await target.CreateExperimentAsync("models");
        var model = CliTarget.Unique("cli-model");
        var (runId, version) = await target.CreateRegisteredRunAsync(experiment, model, "champion", "--metric", "accuracy=0.9");
        Assert.Equal("1", version);

        var listed = (await target.RunAsync("models", "list", "--filter", $"name = '{model}'", "-o", "json")).Ok().Json["models"]!.AsArray();
        var entry = Assert.Single(listed)!;
        Assert.Equal(model, entry["name"]!.GetValue<string>());
        Assert.Equal("1", entry["aliases"]!["champion"]!.GetValue<string>());

        var shown = (await target.RunAsync("models", "show", model, "-o", "json")).Ok().Json;
        var v1 = Assert.Single(shown["versions"]!.AsArray())!;
        Assert.Equal(runId, v1["run_id"]!.GetValue<string>());
        Assert.Equal(["champion"], v1["aliases"]!.AsArray().Select(a => a!.GetValue<string>()));

        // Aliases without a gate: set (latest), get, delete.
        var (_, second) = await target.CreateRegisteredRunAsync(experiment, model, null, "--metric", "accuracy=0.8");
        Assert.Equal("2", (await target.RunAsync("models", "alias", "set", model, "challenger", "latest")).Ok().Out.Trim());
        Assert.Equal(second, (await target.RunAsync("models", "alias", "get", model, "challenger")).Ok().Out.Trim());
        var removed = (await target.RunAsync("models", "alias", "delete", model, "challenger", "-o", "json")).Ok().Json;
        Assert.Equal("2", removed["previous_version"]!.GetValue<string>());
        (await target.RunAsync("models", "alias", "get", model, "challenger")).Expect(4);

        var dest = Path.Combine(target.Folder, "champion");
        var downloaded = (await target.RunAsync("models", "download", $"models:/{model}@champion", dest, "-o", "json")).Ok().Json;
        Assert.Equal("1", downloaded["version"]!.GetValue<string>());
        Assert.Equal(["python_function"], downloaded["flavors"]!.AsArray().Select(f => f!.GetValue<string>()));
        var localPath = downloaded["local_path"]!.GetValue<string>();
        Assert.Equal("0.5 0.25", await File.ReadAllTextAsync(Path.Combine(localPath, "weights.txt"), TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("local")]
    [InlineData("3")]
    [InlineData("2")]
    public async Task Promote_gate_refuses_a_worse_candidate_and_leaves_the_alias(string store)
    {
        using var target = CliTarget.Open(store);
        var experiment = await target.CreateExperimentAsync("gate");
        var model = CliTarget.Unique("gate-model");
        await target.CreateRegisteredRunAsync(experiment, model, "champion", "--metric", "accuracy=0.9", "--param", "dataset=v3");
        await target.CreateRegisteredRunAsync(experiment, model, "challenger", "--metric", "accuracy=0.85", "--param", "dataset=v3");

        var refused = (await target.RunAsync("models", "promote", model, "--from-alias", "challenger", "--to-alias", "champion",
            "--require", "metrics.accuracy >= 0.8 and params.dataset = 'v3'", "--must-beat", "champion", "--metric", "accuracy", "-o", "json")).Expect(1).Json;
        Assert.False(refused["passed"]!.GetValue<bool>());
        Assert.False(refused["promoted"]!.GetValue<bool>());
        Assert.Equal("refused", refused["decision"]!.GetValue<string>());
        Assert.Equal("2", refused["candidate_version"]!.GetValue<string>());
        Assert.Equal("1", refused["previous_version"]!.GetValue<string>());
        var checks = refused["checks"]!.AsArray();
        Assert.Equal([true, true, false], checks.Select(c => c!["passed"]!.GetValue<bool>()));
        var mustBeat = checks[2]!;
        Assert.Equal("must_beat", mustBeat["check"]!.GetValue<string>());
        Assert.Equal(0.85, mustBeat["candidate_value"]!.GetValue<double>());
        Assert.Equal(0.9, mustBeat["opponent_value"]!.GetValue<double>());
        Assert.Equal("1", mustBeat["opponent_version"]!.GetValue<string>());
        Assert.Equal("1", await target.AliasVersionAsync(model, "champion"));

        // The table form says why, with the numbers.
        var text = (await target.RunAsync("models", "promote", model, "--from-alias", "challenger", "--to-alias", "champion", "--must-beat", "champion", "--metric", "accuracy")).Expect(1).Out;
        Assert.Contains("FAIL must-beat", text, StringComparison.Ordinal);
        Assert.Contains("0.85", text, StringComparison.Ordinal);
        Assert.Contains("0.9", text, StringComparison.Ordinal);
        Assert.Contains("'champion' stays on version 1", text, StringComparison.Ordinal);

        // A failed requirement refuses even when the candidate would beat the holder with lower-is-better.
        var requirement = (await target.RunAsync("models", "promote", model, "--version", "2", "--to-alias", "champion",
            "--require", "params.dataset = 'v4'", "--must-beat", "champion", "--metric", "accuracy", "--lower-is-better", "-o", "json")).Expect(1).Json;
        Assert.Equal([false, true], requirement["checks"]!.AsArray().Select(c => c!["passed"]!.GetValue<bool>()));
        Assert.Equal("v3", requirement["checks"]![0]!["candidate_value"]!.GetValue<string>());
        Assert.Equal("1", await target.AliasVersionAsync(model, "champion"));
    }

    [Theory]
    [InlineData("local")]
    [InlineData("3")]
    [InlineData("2")]
    public async Task Promote_gate_moves_the_alias_when_every_check_passes_and_dry_run_does_not(string store)
    {
        using var target = CliTarget.Open(store);
        var experiment = await target.CreateExperimentAsync("gate");
        var model = CliTarget.Unique("gate-model");
        await target.CreateRegisteredRunAsync(experiment, model, "champion", "--metric", "accuracy=0.9", "--metric", "loss=0.4");
        var (candidateRun, _) = await target.CreateRegisteredRunAsync(experiment, model, null, "--metric", "accuracy=0.95", "--metric", "loss=0.3", "--param", "dataset=v3");

        // --version latest names the candidate; a promotion without checks just sets the challenger alias.
        var plain = (await target.RunAsync("models", "promote", model, "--version", "latest", "--to-alias", "challenger", "-o", "json")).Ok().Json;
        Assert.Empty(plain["checks"]!.AsArray());
        Assert.Equal("promoted", plain["decision"]!.GetValue<string>());
        Assert.Equal("2", await target.AliasVersionAsync(model, "challenger"));

        var dry = (await target.RunAsync("models", "promote", model, "--from-alias", "challenger", "--to-alias", "champion",
            "--require", "metrics.accuracy >= 0.9 and params.dataset = 'v3'", "--must-beat", "champion", "--metric", "accuracy", "--dry-run", "-o", "json")).Ok().Json;
        Assert.Equal("would_promote", dry["decision"]!.GetValue<string>());
        Assert.True(dry["dry_run"]!.GetValue<bool>());
        Assert.Equal("1", await target.AliasVersionAsync(model, "champion"));

        var promoted = (await target.RunAsync("models", "promote", model, "--from-alias", "challenger", "--to-alias", "champion",
            "--require", "metrics.accuracy >= 0.9 and params.dataset = 'v3'", "--must-beat", "champion", "--metric", "loss", "--lower-is-better", "-o", "json")).Ok().Json;
        Assert.True(promoted["promoted"]!.GetValue<bool>());
        Assert.Equal(candidateRun, promoted["candidate_run_id"]!.GetValue<string>());
        var mustBeat = promoted["checks"]![2]!;
        Assert.False(mustBeat["higher_is_better"]!.GetValue<bool>());
        Assert.Equal(0.3, mustBeat["candidate_value"]!.GetValue<double>());
        Assert.Equal(0.4, mustBeat["opponent_value"]!.GetValue<double>());
        Assert.Equal("2", await target.AliasVersionAsync(model, "champion"));

        // Promoting the holder again is a pass with nothing to move.
        var again = (await target.RunAsync("models", "promote", model, "--from-alias", "challenger", "--to-alias", "champion", "--must-beat", "champion", "--metric", "accuracy", "-o", "json")).Ok().Json;
        Assert.Equal("already_holder", again["decision"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("local")]
    [InlineData("3")]
    [InlineData("2")]
    public async Task Report_renders_markdown_with_params_best_metrics_versions_and_link(string store)
    {
        using var target = CliTarget.Open(store);
        var experiment = await target.CreateExperimentAsync("report");
        var model = CliTarget.Unique("report-model");
        var (runId, _) = await target.CreateRegisteredRunAsync(experiment, model, "champion",
            "--metric", "accuracy=0.7@0", "--metric", "accuracy=0.95@1", "--metric", "accuracy=0.9@2",
            "--metric", "val_loss=0.5@0", "--metric", "val_loss=0.2@1", "--metric", "val_loss=0.3@2", "--param", "lr=0.05");

        var markdown = (await target.RunAsync("report", runId, "--output", "markdown")).Ok().Out;
        Assert.StartsWith("## MLflow run `", markdown, StringComparison.Ordinal);
        Assert.Contains("| Status | FINISHED |", markdown, StringComparison.Ordinal);
        Assert.Contains("| lr | 0.05 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| accuracy | 0.9 | 2 | 0.95 | 1 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| val_loss | 0.3 | 2 | 0.2 | 1 |", markdown, StringComparison.Ordinal);
        Assert.Contains($"| {model} | 1 | champion | READY |", markdown, StringComparison.Ordinal);
        if (target.IsLocal)
        {
            Assert.Contains($"| Run | `{runId}` |", markdown, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains($"({target.TrackingUri.TrimEnd('/')}/#/experiments/", markdown, StringComparison.Ordinal);
            Assert.Contains($"/runs/{runId})", markdown, StringComparison.Ordinal);
        }

        // The model URI form reports the version's source run; JSON carries the same numbers.
        var json = (await target.RunAsync("report", $"models:/{model}@champion", "-o", "json")).Ok().Json;
        Assert.Equal(runId, json["run"]!["run_id"]!.GetValue<string>());
        var accuracy = json["metrics"]!.AsArray().Single(m => m!["key"]!.GetValue<string>() == "accuracy")!;
        Assert.Equal(0.95, accuracy["best"]!.GetValue<double>());
        Assert.Equal(1, accuracy["best_step"]!.GetValue<long>());
        Assert.Equal(3, accuracy["points"]!.GetValue<int>());
        Assert.Equal(markdown, json["markdown"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("local")]
    [InlineData("3")]
    [InlineData("2")]
    public async Task Sync_copies_an_offline_store_once(string store)
    {
        using var target = CliTarget.Open(store);
        using var offline = CliTarget.Open("local");
        var experiment = await offline.CreateExperimentAsync("sync");
        var runId = await offline.CreateRunAsync(experiment, "offline-run", "--metric", "accuracy=0.5@0", "--metric", "accuracy=0.6@1", "--param", "p=1");
        var destination = target.IsLocal ? "sqlite:///" + Path.Combine(target.Folder, "copy.db") : target.TrackingUri;

        var first = (await offline.RunRawAsync("sync", offline.TrackingUri, destination, "--experiment-name", experiment, "--no-artifacts", "-o", "json")).Ok().Json;
        Assert.Equal(1, first["runs_copied"]!.GetValue<int>());
        Assert.Equal(2, first["metric_points_copied"]!.GetValue<long>());
        var copiedId = first["run_id_map"]![runId]!.GetValue<string>();

        var second = (await offline.RunRawAsync("sync", offline.TrackingUri, destination, "--experiment-name", experiment, "--no-artifacts", "-o", "json")).Ok().Json;
        Assert.Equal(0, second["runs_copied"]!.GetValue<int>());
        Assert.Equal(1, second["runs_skipped"]!.GetValue<int>());

        var copied = (await offline.RunRawAsync("--tracking-uri", destination, "runs", "show", copiedId, "-o", "json")).Ok().Json;
        Assert.Equal(0.6, copied["metrics"]!["accuracy"]!.GetValue<double>());
        Assert.Equal("1", copied["params"]!["p"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("local")]
    [InlineData("3")]
    [InlineData("2")]
    public async Task Projects_run_streams_output_and_exit_code_follows_the_run(string store)
    {
        Assert.SkipUnless(File.Exists("/bin/bash"), "The local project backend needs /bin/bash.");
        using var target = CliTarget.Open(store);
        var experiment = await target.CreateExperimentAsync("proj");
        var project = Directory.CreateDirectory(Path.Combine(target.Folder, "project")).FullName;
        await File.WriteAllTextAsync(Path.Combine(project, "MLproject"), """
            name: cli-project
            entry_points:
              main:
                parameters:
                  greeting: {type: string, default: hello}
                command: "echo project-says-{greeting}"
              broken:
                command: "echo about-to-fail && exit 3"
            """, TestContext.Current.CancellationToken);

        var ok = (await target.RunAsync("projects", "run", project, "-P", "greeting=bonjour", "--experiment-name", experiment)).Ok();
        Assert.Contains("project-says-bonjour", ok.Out, StringComparison.Ordinal);

        var failed = (await target.RunAsync("projects", "run", project, "-e", "broken", "--experiment-name", experiment, "-o", "json")).Expect(1);
        Assert.Contains("about-to-fail", failed.Error, StringComparison.Ordinal); // child output goes to stderr with JSON output
        var json = failed.Json;
        Assert.Equal("FAILED", json["status"]!.GetValue<string>());
        Assert.Equal(3, json["exit_code"]!.GetValue<int>());
        var run = (await target.RunAsync("runs", "show", json["run_id"]!.GetValue<string>(), "-o", "json")).Ok().Json;
        Assert.Equal("FAILED", run["status"]!.GetValue<string>());
    }
}
