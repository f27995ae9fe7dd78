using System.Text;
using k8s;
using k8s.Models;
using MLOpsDemo.Mlflow.Projects;
using MLOpsDemo.Mlflow.TestSupport;
using Testcontainers.K3s;

namespace MLOpsDemo.Mlflow.Kubernetes.Tests;

/// <summary>
/// The backend on a real single-node cluster (Testcontainers K3s) when a Docker engine answers; skipped with
/// "Docker not available" otherwise. The project runs from a prebuilt image (busybox), so no registry is needed.
/// </summary>
public sealed class K3sClusterTests
{
    private const string SkipReason = "Docker not available";

    [Fact]
    public async Task Project_runs_as_a_job_on_k3s_and_a_second_one_is_cancelled()
    {
        Assert.SkipUnless(await DockerDetection.IsAvailableAsync(), SkipReason);
        var ct = TestContext.Current.CancellationToken;
        await using var k3s = new K3sBuilder("rancher/k3s:v1.31.4-k3s1").Build();
        await k3s.StartAsync(ct);
        var kubeconfig = await k3s.GetKubeconfigAsync();
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(kubeconfig));
        var configuration = KubernetesClientConfiguration.BuildConfigFromConfigFile(stream);
        using (var kubernetes = new k8s.Kubernetes(configuration))
        {
            await kubernetes.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "mlflow" } }, cancellationToken: ct);
        }

        using var folder = new TestFolder();
        var template = Path.Combine(folder.Path, "job.yaml");
        await File.WriteAllTextAsync(template, """
            apiVersion: batch/v1
            kind: Job
            metadata: {name: placeholder, namespace: mlflow}
            spec:
              backoffLimit: 0
              template:
                spec:
                  containers:
                  - {name: placeholder, image: placeholder, command: [placeholder]}
                  restartPolicy: Never
            """, ct);
        var project = folder.Project("""
            name: k3s-echo
            docker_env: {image: "busybox:1.36"}
            entry_points:
              main:
                parameters: {who: {type: string, default: k3s}}
                command: "echo hello {who}"
              slow:
                command: "sleep 600"
            """);
        var backend = new KubernetesProjectBackend(new KubernetesBackendConfig { JobTemplatePath = template, Image = "busybox:1.36", PendingTimeout = TimeSpan.FromMinutes(3) })
        {
            ClientConfiguration = configuration,
        };
        using var client = folder.Client();
        var output = new List<string>();
        var options = new ProjectRunOptions
        {
            Backend = backend,
            ExperimentName = "k3s",
            WriteOutputToConsole = false,
            OutputReceived = line => { lock (output) { output.Add(line.Text); } },
        };

        var result = await client.Projects.RunAsync(project, options, ct);

        Assert.True(result.Succeeded, $"{result.Status} {result.FailureReason}: {string.Join('\n', output)}");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("hello k3s", output);
        var run = await client.Runs.GetAsync(result.RunId, ct);
        Assert.Equal(RunStatus.Finished, run.Info.Status);
        Assert.Equal("kubernetes", run.Data.Tags["mlflow.project.backend"]);
        Assert.StartsWith("k3s-echo-", run.Data.Tags["mlflow.kubernetes.job.name"], StringComparison.Ordinal);

        // Cancelling a running Job deletes it (foreground) and ends the run KILLED.
        var submitted = await client.Projects.SubmitAsync(project, options with { EntryPoint = "slow" }, ct);
        for (var i = 0; i < 600 && submitted.Status != RunStatus.Running; i++)
        {
            await Task.Delay(100, ct);
        }

        var killed = await submitted.CancelAsync(ct);
        Assert.Equal(RunStatus.Killed, killed.Status);
        Assert.Equal(RunStatus.Killed, (await client.Runs.GetAsync(killed.RunId, ct)).Info.Status);
    }
}
