using MLOpsDemo.Mlflow.Cli;

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // The first Ctrl+C cancels the command (a project run ends KILLED); a second one ends the process.
    if (!cancellation.IsCancellationRequested)
    {
        e.Cancel = true;
        cancellation.Cancel();
    }
};

return await MlflowCli.InvokeAsync(args, CliHost.FromConsole(), cancellation.Token).ConfigureAwait(false);
