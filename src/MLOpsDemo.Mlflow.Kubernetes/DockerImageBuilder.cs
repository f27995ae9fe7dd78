using System.ComponentModel;
using System.Diagnostics;
using MLOpsDemo.Mlflow.Projects;

namespace MLOpsDemo.Mlflow.Kubernetes;

/// <summary>An image the Job runs: the reference put in the pod spec and what the run's tags record.</summary>
/// <param name="Reference">The pod's <c>image</c>: <c>tag@digest</c> when the digest is known (as MLflow), else the tag.</param>
/// <param name="Uri">The image name (<c>mlflow.docker.image.uri</c>).</param>
/// <param name="Digest">The registry digest (<c>mlflow.docker.image.id</c>), or <see langword="null"/>.</param>
internal sealed record ProjectImage(string Reference, string Uri, string? Digest);

/// <summary>
/// MLflow's <c>build_docker_image</c> + <c>push_image_to_registry</c>, through the <c>docker</c> command line:
/// <c>FROM &lt;docker_env.image&gt;</c>, the project copied to <c>/mlflow/projects/code</c> as the working directory,
/// tagged <c>&lt;repository-uri&gt;[:&lt;git sha7&gt;]</c>, pushed, and the pushed digest read back.
/// </summary>
internal sealed class DockerImageBuilder(string dockerExecutable)
{
    public const string ProjectDirectory = "/mlflow/projects/code";

    public async Task CheckEngineAsync(string image, CancellationToken cancellationToken)
    {
        var info = await RunAsync(["info", "--format", "{{.ServerVersion}}"], null, cancellationToken).ConfigureAwait(false);
        if (info.ExitCode != 0)
        {
            throw new MlflowProjectException($"The Kubernetes backend builds and pushes the project image from '{image}' with Docker, but no Docker engine answers ('docker info': {FirstLine(info.Error)}). Start Docker, or give a prebuilt image with \"image\" in the backend config. No run was created.");
        }
    }

    public async Task<ProjectImage> BuildAndPushAsync(MlProject project, string repositoryUri, CancellationToken cancellationToken)
    {
        var tag = project.Source.GitCommit is { Length: > 0 } commit ? repositoryUri + ":" + commit[..Math.Min(7, commit.Length)] : repositoryUri;
        var context = Path.Combine(Path.GetTempPath(), "mlflow-k8s-build-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(context);
        try
        {
            var dockerfile = Path.Combine(context, "Dockerfile");
            await File.WriteAllTextAsync(dockerfile, $"FROM {project.Environment.DockerImage}\nCOPY . {ProjectDirectory}\nWORKDIR {ProjectDirectory}\n", cancellationToken).ConfigureAwait(false);

            // The project folder is the build context; the generated Dockerfile stays outside it.
            var build = await RunAsync(["build", "--tag", tag, "--file", dockerfile, project.Directory], null, cancellationToken).ConfigureAwait(false);
            if (build.ExitCode != 0)
            {
                throw new MlflowProjectException($"Building the project image '{tag}' failed: {LastLine(build.Error)}");
            }
        }
        finally
        {
            try
            {
                Directory.Delete(context, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        var push = await RunAsync(["push", tag], null, cancellationToken).ConfigureAwait(false);
        if (push.ExitCode != 0)
        {
            throw new MlflowProjectException($"Error while pushing to docker registry: {LastLine(push.Error)} (image '{tag}'). Log in with 'docker login' to the registry of repository-uri.");
        }

        var digest = await DigestAsync(tag, cancellationToken).ConfigureAwait(false);
        return new ProjectImage(digest is null ? tag : tag + "@" + digest, tag, digest);
    }

    /// <summary>The image's registry digest (<c>sha256:…</c>) when Docker knows it (a pulled or pushed image).</summary>
    public async Task<string?> DigestAsync(string image, CancellationToken cancellationToken)
    {
        var inspect = await RunAsync(["image", "inspect", "--format", "{{join .RepoDigests \"\\n\"}}", image], null, cancellationToken).ConfigureAwait(false);
        if (inspect.ExitCode != 0)
        {
            return null;
        }

        var repository = Repository(image);
        var digests = inspect.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var match = digests.FirstOrDefault(d => d.StartsWith(repository + "@", StringComparison.Ordinal)) ?? digests.FirstOrDefault();
        return match?[(match.IndexOf('@', StringComparison.Ordinal) + 1)..];

        static string Repository(string name)
        {
            var at = name.IndexOf('@', StringComparison.Ordinal);
            name = at >= 0 ? name[..at] : name;
            var colon = name.LastIndexOf(':');
            return colon > name.LastIndexOf('/') ? name[..colon] : name;
        }
    }

    private async Task<(int ExitCode, string Output, string Error)> RunAsync(IEnumerable<string> arguments, string? workingDirectory, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(dockerExecutable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            CreateNoWindow = true,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            throw new MlflowProjectException($"Could not start '{dockerExecutable}': {ex.Message}. Install the Docker CLI, or give a prebuilt image with \"image\" in the backend config.", ex);
        }

        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var error = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            throw;
        }

        return (process.ExitCode, await output.ConfigureAwait(false), await error.ConfigureAwait(false));
    }

    private static string FirstLine(string text) => text.Trim().Split('\n')[0].Trim();

    private static string LastLine(string text) => text.Trim().Split('\n')[^1].Trim();
}
