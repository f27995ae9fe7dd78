using System.Text.Json.Nodes;
using k8s;

namespace MLOpsDemo.Mlflow.Kubernetes.Tests;

/// <summary>The Job and the container command compared with what MLflow 3.11 renders for the same template (TestData).</summary>
public class KubernetesJobRendererTests
{
    private static readonly DateTimeOffset MlflowNow = new DateTimeOffset(2026, 12, 3, 9, 17, 27, TimeSpan.Zero).AddTicks(1_234_560);

    [Theory]
    [InlineData("basic")]
    [InlineData("sidecar")]
    public async Task Rendered_job_equals_what_mlflow_renders(string id)
    {
        var expectedCase = TestData.ExpectedCase(id);
        var template = await KubernetesJobRenderer.LoadTemplateAsync(TestData.PathOf((string)expectedCase["template"]!), TestContext.Current.CancellationToken);
        var env = expectedCase["env"]!.AsObject().ToDictionary(p => p.Key, p => (string)p.Value!);
        if ((string?)expectedCase["kube_uri"] is { } kubeUri)
        {
            env["MLFLOW_TRACKING_URI"] = kubeUri; // what KUBE_MLFLOW_TRACKING_URI does in MLflow
        }

        var job = KubernetesJobRenderer.Render(
            template,
            (string)expectedCase["project"]!,
            (string)expectedCase["image"]! + "@" + (string)expectedCase["digest"]!,
            KubernetesJobRenderer.RunCommand((string)expectedCase["command"]!),
            env,
            MlflowNow);

        var expected = expectedCase["job"]!.DeepClone().AsObject();
        // Beyond MLflow: the run environment also goes to the other containers (MLflow fills only container 0).
        var containers = expected["spec"]!["template"]!["spec"]!["containers"]!.AsArray();
        var runEnv = containers[0]!["env"]!.AsArray().TakeLast(3).Select(e => e!.DeepClone()).ToList();
        foreach (var sidecar in containers.Skip(1))
        {
            var sidecarEnv = sidecar!["env"]?.AsArray() ?? [];
            foreach (var e in runEnv)
            {
                sidecarEnv.Add(e.DeepClone());
            }

            sidecar["env"] = sidecarEnv;
        }

        var actual = JsonNode.Parse(KubernetesJson.Serialize(job))!;
        Assert.True(JsonNode.DeepEquals(expected, actual), $"Expected (MLflow):\n{expected.ToJsonString()}\nActual:\n{actual.ToJsonString()}");
    }

    [Theory]
    [InlineData("basic")]
    [InlineData("sidecar")]
    public void Container_command_is_mlflows_split_then_quoted_words(string id)
    {
        var expectedCase = TestData.ExpectedCase(id);
        var expected = expectedCase["run_command"]!.AsArray().Select(n => (string)n!).ToList();

        Assert.Equal(expected, KubernetesJobRenderer.RunCommand((string)expectedCase["command"]!));
    }

    [Fact]
    public void Job_name_is_the_project_name_with_mlflows_microsecond_timestamp()
    {
        Assert.Equal("dotnet-train-2026-12-03-09-17-27-123456", KubernetesJobRenderer.JobName("dotnet-train", MlflowNow));
        Assert.NotEqual(KubernetesJobRenderer.JobName("p", MlflowNow), KubernetesJobRenderer.JobName("p", MlflowNow.AddTicks(10)));
    }

    [Theory]
    [InlineData("a 'b c' d", new[] { "a", "b c", "d" })]
    [InlineData("x \"y \\\" z\" w\\ v", new[] { "x", "y \" z", "w v" })]
    [InlineData("'it'\"'\"'s' ''", new[] { "it's", "" })]
    public void ShellSplit_follows_posix_shlex(string command, string[] words) => Assert.Equal(words, KubernetesJobRenderer.ShellSplit(command));

    [Fact]
    public void Rendering_leaves_the_template_untouched()
    {
        var template = KubernetesYaml.Deserialize<k8s.Models.V1Job>(File.ReadAllText(TestData.PathOf("job-template-basic.yaml")));
        _ = KubernetesJobRenderer.Render(template, "p", "img", ["echo"], new Dictionary<string, string> { ["A"] = "1" }, MlflowNow);

        Assert.Null(template.Spec.Template.Spec.Containers[0].Env);
        Assert.Equal("{replaced with MLflow project name}", template.Metadata.Name);
    }

    [Fact]
    public async Task Template_without_namespace_is_rejected_naming_the_fix()
    {
        var path = Path.Combine(Path.GetTempPath(), "k8s-template-" + Guid.NewGuid().ToString("N") + ".yaml");
        await File.WriteAllTextAsync(path, "apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec: {template: {spec: {containers: [{name: a, image: b}], restartPolicy: Never}}}\n", TestContext.Current.CancellationToken);
        try
        {
            var ex = await Assert.ThrowsAsync<MLOpsDemo.Mlflow.Projects.MlflowProjectException>(() => KubernetesJobRenderer.LoadTemplateAsync(path, TestContext.Current.CancellationToken));
            Assert.Contains("metadata.namespace", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
