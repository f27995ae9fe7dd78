using System.Globalization;
using Spectre.Console;

namespace MLOpsDemo.Mlflow.Cli.Output;

/// <summary>
/// Shows artifact transfer progress: a Spectre progress bar on a terminal, else one line per completed file on stderr
/// (stdout stays clean for the result).
/// </summary>
internal static class TransferProgress
{
    /// <summary>Runs a transfer with progress reporting.</summary>
    /// <typeparam name="T">The transfer's result.</typeparam>
    /// <param name="ctx">The command context.</param>
    /// <param name="description">What is transferred (shown next to the bar).</param>
    /// <param name="transfer">The transfer, given options that report progress.</param>
    /// <returns>The transfer's result.</returns>
    public static async Task<T> RunAsync<T>(CommandContext ctx, string description, Func<ArtifactTransferOptions, Task<T>> transfer)
    {
        var options = ArtifactTransferOptions.FromEnvironment(ctx.Host.GetEnvironmentVariable);
        if (ctx.Host.UseRichOutput && ctx.Format == OutputFormat.Table)
        {
            var console = Renderer.CreateConsole(ctx.Host);
            return await console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn())
                .StartAsync(async progress =>
                {
                    var task = progress.AddTask(Markup.Escape(description), maxValue: 1);
                    options.Progress = new SyncProgress(report =>
                    {
                        if (report.TotalBytes is { } total && total > 0)
                        {
                            task.MaxValue = total;
                            task.Value = report.BytesTransferred;
                        }
                    });
                    var result = await transfer(options).ConfigureAwait(false);
                    task.Value = task.MaxValue;
                    return result;
                }).ConfigureAwait(false);
        }

        options.Progress = new SyncProgress(report =>
        {
            if (report.FileCompleted)
            {
                ctx.Info(string.Create(CultureInfo.InvariantCulture, $"{report.ArtifactPath} ({report.FileBytesTransferred} bytes, file {report.FilesCompleted}/{report.FileCount})"));
            }
        });
        return await transfer(options).ConfigureAwait(false);
    }

    /// <summary>An <see cref="IProgress{T}"/> that reports synchronously, in order, one report at a time.</summary>
    private sealed class SyncProgress(Action<ArtifactTransferProgress> report) : IProgress<ArtifactTransferProgress>
    {
        private readonly Lock _lock = new();

        public void Report(ArtifactTransferProgress value)
        {
            lock (_lock)
            {
                report(value);
            }
        }
    }
}
