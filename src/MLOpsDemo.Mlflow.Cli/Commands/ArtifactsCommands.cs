using System.CommandLine;
using System.Text.Json.Nodes;
using MLOpsDemo.Mlflow.Cli.Output;

namespace MLOpsDemo.Mlflow.Cli.Commands;

/// <summary><c>artifacts list|upload|download</c>: a run id and a path, or any artifact URI (<c>runs:/</c>, <c>models:/</c>, <c>mlflow-artifacts:/</c>, <c>file://</c>, …).</summary>
internal static class ArtifactsCommands
{
    /// <summary>Builds the command group.</summary>
    /// <param name="handlers">The wiring.</param>
    /// <returns>The command.</returns>
    public static Command Build(Handlers handlers)
    {
        var command = new Command("artifacts", "List, upload and download artifacts (run id + path, or an artifact URI).");

        var listTarget = new Argument<string>("target") { Description = "A run id, or an artifact URI (runs:/RUN/path, models:/NAME@ALIAS, mlflow-artifacts:/…)." };
        var listPath = new Argument<string?>("path") { Description = "A path under the target.", Arity = ArgumentArity.ZeroOrOne };
        var recursive = new Option<bool>("--recursive", "-r") { Description = "List the whole tree." };
        var list = new Command("list", "List artifacts.") { listTarget, listPath, recursive };
        handlers.Set(list, async (ctx, parse, ct) =>
        {
            var target = await ResolveAsync(ctx, parse.GetValue(listTarget)!, parse.GetValue(listPath), ct).ConfigureAwait(false);
            var files = new List<ArtifactFileInfo>();
            var items = target.RunId is not null
                ? ctx.Client.Artifacts.ListAsync(target.RunId, target.Path, parse.GetValue(recursive), ct)
                : ctx.Client.Artifacts.ListUriAsync(target.Uri!, null, parse.GetValue(recursive), ct);
            await foreach (var file in items.ConfigureAwait(false))
            {
                files.Add(file);
            }

            var output = new CommandOutput(new JsonObject { ["artifacts"] = new JsonArray(files.Select(f => (JsonNode)CliJson.Artifact(f)).ToArray()) });
            output.AddTable(null, ["PATH", "TYPE", "SIZE"], files.Select(f => (IReadOnlyList<string>)[f.Path, f.IsDirectory ? "dir" : "file", f.FileSize?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? ""]));
            ctx.Write(output);
            return ExitCodes.Success;
        });
        command.Add(list);

        var downloadTarget = new Argument<string>("target") { Description = "A run id, or an artifact URI." };
        var downloadPath = new Argument<string?>("path") { Description = "A path under the run's artifacts (whole tree when omitted).", Arity = ArgumentArity.ZeroOrOne };
        var destination = new Option<string>("--dest", "-d") { Description = "The local directory (default: the current one).", DefaultValueFactory = _ => "." };
        var download = new Command("download", "Download artifacts (a file or a tree) with progress.") { downloadTarget, downloadPath, destination };
        handlers.Set(download, async (ctx, parse, ct) =>
        {
            var target = await ResolveAsync(ctx, parse.GetValue(downloadTarget)!, parse.GetValue(downloadPath), ct).ConfigureAwait(false);
            var dest = Path.GetFullPath(parse.GetValue(destination)!);
            var local = await TransferProgress.RunAsync(ctx, $"Downloading {target.Display}", options => target.RunId is not null
                ? ctx.Client.Artifacts.DownloadAsync(target.RunId, target.Path ?? "", dest, options, ct)
                : ctx.Client.Artifacts.DownloadAsync(target.Uri!, dest, options, ct)).ConfigureAwait(false);
            ctx.Write(new CommandOutput(new JsonObject { ["source"] = target.Display, ["local_path"] = local }).AddLine($"Downloaded {target.Display} to {local}"));
            return ExitCodes.Success;
        });
        command.Add(download);

        var uploadTarget = new Argument<string>("target") { Description = "A run id, or an artifact URI of a directory to upload into." };
        var localPath = new Argument<string>("local") { Description = "A local file or directory." };
        var artifactPath = new Option<string?>("--artifact-path") { Description = "The directory under the run's artifacts (default: the root)." };
        var upload = new Command("upload", "Upload a file or a directory with progress.") { uploadTarget, localPath, artifactPath };
        handlers.Set(upload, async (ctx, parse, ct) =>
        {
            var local = Path.GetFullPath(parse.GetValue(localPath)!);
            var isDirectory = Directory.Exists(local);
            if (!isDirectory && !File.Exists(local))
            {
                throw CliException.Usage($"'{parse.GetValue(localPath)}' is neither a file nor a directory.");
            }

            var target = await ResolveAsync(ctx, parse.GetValue(uploadTarget)!, parse.GetValue(artifactPath), ct).ConfigureAwait(false);
            await TransferProgress.RunAsync(ctx, $"Uploading {Path.GetFileName(local)}", async options =>
            {
                if (target.RunId is not null)
                {
                    if (isDirectory)
                    {
                        await ctx.Client.Artifacts.LogArtifactsAsync(target.RunId, local, target.Path, options, ct).ConfigureAwait(false);
                    }
                    else
                    {
                        await ctx.Client.Artifacts.LogArtifactAsync(target.RunId, local, target.Path, options, ct).ConfigureAwait(false);
                    }
                }
                else
                {
                    if (!isDirectory)
                    {
                        throw CliException.Usage("Uploading to an artifact URI takes a directory; to upload one file, give a run id (and --artifact-path).");
                    }

                    await ctx.Client.Artifacts.UploadDirectoryAsync(target.Uri!, local, options, ct).ConfigureAwait(false);
                }

                return true;
            }).ConfigureAwait(false);
            var destinationText = target.RunId is not null ? $"runs:/{target.RunId}/{target.Path ?? ""}" : target.Uri!;
            ctx.Write(new CommandOutput(new JsonObject { ["local_path"] = local, ["destination"] = destinationText }).AddLine($"Uploaded {local} to {destinationText}"));
            return ExitCodes.Success;
        });
        command.Add(upload);
        return command;
    }

    /// <summary>A resolved target: a run id and path, or a concrete artifact URI.</summary>
    /// <param name="RunId">The run id, for run targets.</param>
    /// <param name="Path">The path under the run's artifacts.</param>
    /// <param name="Uri">The artifact URI, for URI targets.</param>
    /// <param name="Display">The target as the user wrote it.</param>
    internal sealed record ArtifactTarget(string? RunId, string? Path, string? Uri, string Display);

    /// <summary>Resolves a run id, <c>runs:/RUN/path</c>, <c>models:/…</c> or another artifact URI.</summary>
    /// <param name="ctx">The context.</param>
    /// <param name="target">The target argument.</param>
    /// <param name="path">The path argument.</param>
    /// <param name="cancellationToken">Cancels the resolution.</param>
    /// <returns>The target.</returns>
    internal static async Task<ArtifactTarget> ResolveAsync(CommandContext ctx, string target, string? path, CancellationToken cancellationToken)
    {
        if (target.StartsWith("runs:/", StringComparison.OrdinalIgnoreCase))
        {
            var rest = target["runs:/".Length..].TrimStart('/');
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            var runId = slash < 0 ? rest : rest[..slash];
            var sub = slash < 0 ? null : rest[(slash + 1)..].Trim('/');
            if (runId.Length == 0)
            {
                throw CliException.Usage($"'{target}' names no run. Use runs:/<run_id>/<path>.");
            }

            return new ArtifactTarget(runId, Combine(sub, path), null, target);
        }

        if (target.StartsWith("models:/", StringComparison.OrdinalIgnoreCase))
        {
            var resolved = await ctx.Client.ModelRegistry.ResolveModelUriAsync(target, cancellationToken).ConfigureAwait(false);
            return new ArtifactTarget(null, null, Combine(resolved.ArtifactUri, path), target);
        }

        if (target.Contains(":/", StringComparison.Ordinal))
        {
            return new ArtifactTarget(null, null, Combine(target, path), target);
        }

        return new ArtifactTarget(target, string.IsNullOrEmpty(path) ? null : path.Trim('/'), null, string.IsNullOrEmpty(path) ? $"runs:/{target}" : $"runs:/{target}/{path.Trim('/')}");
    }

    private static string? Combine(string? left, string? right)
    {
        if (string.IsNullOrEmpty(right))
        {
            return string.IsNullOrEmpty(left) ? null : left;
        }

        return string.IsNullOrEmpty(left) ? right.Trim('/') : $"{left.TrimEnd('/')}/{right.Trim('/')}";
    }
}
