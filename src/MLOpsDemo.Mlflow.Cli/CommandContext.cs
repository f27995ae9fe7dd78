using System.CommandLine;
using MLOpsDemo.Mlflow.Cli.Output;
using MLOpsDemo.Mlflow.Sqlite;

namespace MLOpsDemo.Mlflow.Cli;

/// <summary>One command invocation: the host, the output format and the MLflow clients it opened.</summary>
internal sealed class CommandContext : IDisposable
{
    private readonly List<MlflowClient> _clients = [];
    private readonly string? _trackingUri;
    private MlflowClient? _client;

    /// <summary>Creates the context from the parsed global options.</summary>
    /// <param name="host">The host.</param>
    /// <param name="format">The output format.</param>
    /// <param name="trackingUri">The <c>--tracking-uri</c> value, if any.</param>
    /// <param name="verbose">The <c>--verbose</c> flag.</param>
    public CommandContext(CliHost host, OutputFormat format, string? trackingUri, bool verbose)
    {
        Host = host;
        Renderer = new Renderer(host, format);
        _trackingUri = string.IsNullOrWhiteSpace(trackingUri) ? null : trackingUri.Trim();
        Verbose = verbose;
    }

    /// <summary>The host.</summary>
    public CliHost Host { get; }

    /// <summary>The renderer of the chosen format.</summary>
    public Renderer Renderer { get; }

    /// <summary>The output format.</summary>
    public OutputFormat Format => Renderer.Format;

    /// <summary>Whether <c>--verbose</c> was given.</summary>
    public bool Verbose { get; }

    /// <summary>The client of <c>--tracking-uri</c> (else <c>MLFLOW_TRACKING_URI</c>, else <c>./mlflow.db</c>), created on first use.</summary>
    public MlflowClient Client => _client ??= CreateClient(_trackingUri);

    /// <summary>Creates a client for a tracking URI; credentials and HTTP settings come from the <c>MLFLOW_*</c> variables only.</summary>
    /// <param name="trackingUri">The URI, or <see langword="null"/> for the environment's.</param>
    /// <returns>The client (disposed with this context).</returns>
    public MlflowClient CreateClient(string? trackingUri)
    {
        var options = MlflowClientOptions.FromEnvironment(Host.GetEnvironmentVariable);
        if (trackingUri is not null)
        {
            options.TrackingUri = trackingUri;
        }

        var client = new MlflowClient(options);
        _clients.Add(client);
        if (Verbose)
        {
            // TrackingUri is the redacted form: credentials in the URI are never written.
            Host.Error.WriteLine($"Tracking URI: {client.TrackingUri}");
        }

        return client;
    }

    /// <summary>Writes a progress or information line to stderr (stdout stays clean for results).</summary>
    /// <param name="line">The line.</param>
    public void Info(string line) => Host.Error.WriteLine(line);

    /// <summary>Writes a command's output.</summary>
    /// <param name="output">The output.</param>
    public void Write(CommandOutput output) => Renderer.Write(output);

    /// <summary>Validates a runs filter with the library's grammar (MLflow's), before any request.</summary>
    /// <param name="filter">The filter.</param>
    /// <param name="optionName">The option, for the message.</param>
    /// <returns>The parsed clauses.</returns>
    /// <exception cref="CliException">Usage error naming what is wrong.</exception>
    public static IReadOnlyList<FilterClause> ParseRunFilter(string? filter, string optionName)
    {
        try
        {
            return SearchFilter.Parse(filter, SearchKind.Runs);
        }
        catch (MlflowException ex)
        {
            throw CliException.Usage($"{optionName}: {ex.ServerMessage ?? ex.Message}");
        }
    }

    /// <summary>Finds an experiment by name, or by id when no experiment has that name and it is a number.</summary>
    /// <param name="nameOrId">The name or id.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The experiment.</returns>
    public async Task<Experiment> GetExperimentAsync(string nameOrId, CancellationToken cancellationToken)
    {
        var byName = await Client.Experiments.GetByNameAsync(nameOrId, cancellationToken).ConfigureAwait(false);
        if (byName is not null)
        {
            return byName;
        }

        if (nameOrId.All(char.IsAsciiDigit) && nameOrId.Length > 0)
        {
            return await Client.Experiments.GetAsync(nameOrId, cancellationToken).ConfigureAwait(false);
        }

        throw CliException.NotFound($"No experiment named '{nameOrId}'. List them with 'dotnet mlflow experiments list'.");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }
    }
}

/// <summary>Wires command actions: context, errors to exit codes.</summary>
internal sealed class Handlers
{
    private readonly GlobalOptions _globals;

    /// <summary>Creates the wiring.</summary>
    /// <param name="globals">The global options.</param>
    /// <param name="host">The host.</param>
    public Handlers(GlobalOptions globals, CliHost host)
    {
        _globals = globals;
        Host = host;
    }

    /// <summary>The host.</summary>
    public CliHost Host { get; }

    /// <summary>Sets a command's action.</summary>
    /// <param name="command">The command.</param>
    /// <param name="action">The action; returns the exit code.</param>
    public void Set(Command command, Func<CommandContext, ParseResult, CancellationToken, Task<int>> action)
    {
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var verbose = parseResult.GetValue(_globals.Verbose);
            using var context = new CommandContext(Host, _globals.GetOutputFormat(parseResult), parseResult.GetValue(_globals.TrackingUri), verbose);
            try
            {
                return await action(context, parseResult, cancellationToken).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Every failure becomes a message and a documented exit code.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                return MlflowCli.HandleError(ex, Host, verbose);
            }
        });
    }
}

/// <summary>Parses <c>key=value</c> items.</summary>
internal static class KeyValues
{
    /// <summary>Splits <c>key=value</c> at the first '='.</summary>
    /// <param name="item">The item.</param>
    /// <param name="optionName">The option, for the message.</param>
    /// <returns>The pair.</returns>
    public static KeyValuePair<string, string> Parse(string item, string optionName)
    {
        var eq = item.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            throw CliException.Usage($"{optionName} '{item}' is not key=value. Write it as {optionName} name=value.");
        }

        return new KeyValuePair<string, string>(item[..eq].Trim(), item[(eq + 1)..]);
    }

    /// <summary>Parses several items into a dictionary (the last one wins for a repeated key).</summary>
    /// <param name="items">The items.</param>
    /// <param name="optionName">The option.</param>
    /// <returns>The dictionary.</returns>
    public static Dictionary<string, string> ParseAll(IEnumerable<string>? items, string optionName)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in items ?? [])
        {
            var (key, value) = Parse(item, optionName);
            result[key] = value;
        }

        return result;
    }
}
