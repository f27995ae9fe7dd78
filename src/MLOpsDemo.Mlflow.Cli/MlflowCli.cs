using System.CommandLine;
using System.CommandLine.Invocation;
using System.Net;
using MLOpsDemo.Mlflow.Cli.Commands;
using MLOpsDemo.Mlflow.Cli.Output;

namespace MLOpsDemo.Mlflow.Cli;

/// <summary>The <c>dotnet mlflow</c> command tree and its error handling (exceptions → exit codes and messages).</summary>
internal static class MlflowCli
{
    /// <summary>Parses and runs a command line.</summary>
    /// <param name="args">The arguments (without the program name).</param>
    /// <param name="host">Where to write and what to read.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The exit code (see <see cref="ExitCodes"/>).</returns>
    public static async Task<int> InvokeAsync(IReadOnlyList<string> args, CliHost host, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(host);
        var globals = new GlobalOptions();
        var root = BuildRoot(globals, host);
        var parseResult = root.Parse(args);
        if (parseResult.Action is ParseErrorAction)
        {
            foreach (var error in parseResult.Errors)
            {
                await host.Error.WriteLineAsync($"error: {error.Message}").ConfigureAwait(false);
            }

            var path = string.Join(' ', EnumerateCommandPath(parseResult.CommandResult.Command, root));
            await host.Error.WriteLineAsync($"Run 'dotnet mlflow {path}{(path.Length > 0 ? " " : "")}--help' for usage.").ConfigureAwait(false);
            return ExitCodes.UsageError;
        }

        var configuration = new InvocationConfiguration
        {
            Output = host.Out,
            Error = host.Error,
            EnableDefaultExceptionHandler = false,
        };
        return await parseResult.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Builds the command tree.</summary>
    /// <param name="globals">The global options.</param>
    /// <param name="host">The host the actions write to.</param>
    /// <returns>The root command.</returns>
    public static RootCommand BuildRoot(GlobalOptions globals, CliHost host)
    {
        var root = new RootCommand("dotnet mlflow: track runs, gate and promote models, download, sync and report, for CI/CD pipelines over MLflow.");
        root.Add(globals.TrackingUri);
        root.Add(globals.Output);
        root.Add(globals.Verbose);
        var handlers = new Handlers(globals, host);
        root.Add(ExperimentsCommands.Build(handlers));
        root.Add(RunsCommands.Build(handlers));
        root.Add(ArtifactsCommands.Build(handlers));
        root.Add(ModelsCommands.Build(handlers));
        root.Add(ProjectsCommands.Build(handlers));
        root.Add(SyncCommand.Build(handlers));
        root.Add(ReportCommand.Build(handlers));
        return root;
    }

    private static List<string> EnumerateCommandPath(Command command, RootCommand root)
    {
        var names = new List<string>();
        for (var c = command; c is not null && c != root; c = c.Parents.OfType<Command>().FirstOrDefault())
        {
            names.Insert(0, c.Name);
        }

        return names;
    }

    /// <summary>Maps an exception to an exit code and writes the message (and, with <c>--verbose</c>, the details).</summary>
    /// <param name="exception">The exception.</param>
    /// <param name="host">The host.</param>
    /// <param name="verbose">Whether to write the exception's details.</param>
    /// <returns>The exit code.</returns>
    public static int HandleError(Exception exception, CliHost host, bool verbose)
    {
        var (code, message) = exception switch
        {
            CliException cli => (cli.ExitCode, cli.Message),
            MlflowException { ErrorCode: MlflowErrorCodes.ResourceDoesNotExist } or MlflowException { StatusCode: HttpStatusCode.NotFound, ErrorCode: null or "" or MlflowErrorCodes.EndpointNotFound }
                => (ExitCodes.NotFound, Describe((MlflowException)exception)),
            // MLflow 2.x answers a missing alias with INVALID_PARAMETER_VALUE "... alias X not found".
            MlflowException { ErrorCode: MlflowErrorCodes.InvalidParameterValue, ServerMessage: { } text } when text.Contains("not found", StringComparison.OrdinalIgnoreCase)
                => (ExitCodes.NotFound, Describe((MlflowException)exception)),
            MlflowException mlflow => (ExitCodes.MlflowError, Describe(mlflow)),
            ArgumentException or FormatException => (ExitCodes.UsageError, exception.Message),
            NotSupportedException => (ExitCodes.UsageError, exception.Message),
            HttpRequestException http => (ExitCodes.MlflowError, $"Cannot reach the MLflow server: {http.Message.TrimEnd('.')}. Check --tracking-uri / MLFLOW_TRACKING_URI and that the server is running."),
            TimeoutException or TaskCanceledException => (ExitCodes.MlflowError, $"The MLflow server did not answer in time: {exception.Message} Check the server, or raise MLFLOW_HTTP_REQUEST_TIMEOUT."),
            OperationCanceledException => (ExitCodes.Cancelled, "Cancelled."),
            FileNotFoundException or DirectoryNotFoundException => (ExitCodes.NotFound, exception.Message),
            IOException or UnauthorizedAccessException => (ExitCodes.MlflowError, exception.Message),
            _ => (ExitCodes.MlflowError, $"{exception.GetType().Name}: {exception.Message}"),
        };
        host.Error.WriteLine($"error: {message}");
        if (verbose)
        {
            host.Error.WriteLine(exception.ToString());
        }

        return code;
    }

    private static string Describe(MlflowException exception)
    {
        var code = string.IsNullOrEmpty(exception.ErrorCode) ? $"HTTP {(int)exception.StatusCode}" : exception.ErrorCode;
        var text = exception.ServerMessage is { Length: > 0 } server ? server : exception.Message;
        return $"{code}: {text}";
    }
}

/// <summary>The options every command accepts.</summary>
internal sealed class GlobalOptions
{
    /// <summary><c>--tracking-uri</c>.</summary>
    public Option<string?> TrackingUri { get; } = new("--tracking-uri")
    {
        Description = "The tracking URI: http(s)://host:port or sqlite:///mlflow.db. Default: MLFLOW_TRACKING_URI, else ./mlflow.db.",
        Recursive = true,
    };

    /// <summary><c>--output</c>.</summary>
    public Option<string> Output { get; } = CreateOutputOption();

    /// <summary><c>--verbose</c>.</summary>
    public Option<bool> Verbose { get; } = new("--verbose", "-v")
    {
        Description = "Write the tracking URI (without credentials) and error details to stderr.",
        Recursive = true,
    };

    /// <summary>The parsed <c>--output</c> value.</summary>
    /// <param name="parseResult">The parse result.</param>
    /// <returns>The format.</returns>
    public OutputFormat GetOutputFormat(ParseResult parseResult) => parseResult.GetValue(Output)?.ToUpperInvariant() switch
    {
        "JSON" => OutputFormat.Json,
        "MARKDOWN" => OutputFormat.Markdown,
        _ => OutputFormat.Table,
    };

    private static Option<string> CreateOutputOption()
    {
        var option = new Option<string>("--output", "-o")
        {
            Description = "table (default; plain lines when redirected or CI is set), json (stable, snake_case) or markdown.",
            Recursive = true,
            HelpName = "table|json|markdown",
            DefaultValueFactory = _ => "table",
        };
        option.AcceptOnlyFromAmong(StringComparer.OrdinalIgnoreCase, "table", "json", "markdown");
        return option;
    }
}
