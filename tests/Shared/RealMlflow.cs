using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MLOpsDemo.Mlflow.TestSupport;

/// <summary>
/// Real MLflow for tests: servers and the Python client, found only through environment variables that
/// <c>.ci/run</c> (or a contributor) sets. Every accessor skips the calling test visibly, naming the missing variable,
/// when the real thing is not there. Variables:
/// <list type="bullet">
/// <item><c>MLFLOW_TEST_TRACKING_URI_3</c> / <c>MLFLOW_TEST_TRACKING_URI_2</c>: a running MLflow 3.x / 2.x server.</item>
/// <item><c>MLFLOW_TEST_PYTHONPATH_3</c> / <c>MLFLOW_TEST_PYTHONPATH_2</c>: the <c>PYTHONPATH</c> under which the
/// interpreter (<c>MLFLOW_TEST_PYTHON</c>, default <c>/usr/bin/python3</c>) imports MLflow 3.x / 2.x; an empty value
/// means "the interpreter imports it as it is" (a pip install).</item>
/// <item><c>MLFLOW_TEST_SERVER_KIT</c>: a folder with <c>start-mlflow.sh</c> and <c>stop-mlflow.sh</c>, for tests that
/// start, stop or restart a server of their own.</item>
/// </list>
/// </summary>
public static class RealMlflow
{
    /// <summary>The variable that names a running server of an MLflow major version.</summary>
    /// <param name="major">3 or 2.</param>
    /// <returns>The variable's name.</returns>
    public static string ServerVariable(int major) => $"MLFLOW_TEST_TRACKING_URI_{CheckMajor(major)}";

    /// <summary>The variable that holds the PYTHONPATH of Python MLflow of a major version.</summary>
    /// <param name="major">3 or 2.</param>
    /// <returns>The variable's name.</returns>
    public static string PythonPathVariable(int major) => $"MLFLOW_TEST_PYTHONPATH_{CheckMajor(major)}";

    /// <summary>The base URL of a running real server of that major version, or <see langword="null"/>.</summary>
    /// <param name="major">3 or 2.</param>
    /// <returns>The URL without a trailing slash.</returns>
    public static string? ServerUri(int major) =>
        Environment.GetEnvironmentVariable(ServerVariable(major)) is { Length: > 0 } uri ? uri.Trim().TrimEnd('/') : null;

    /// <summary>The base URL of a running real server, or skips the test saying which variable is unset.</summary>
    /// <param name="major">3 or 2.</param>
    /// <returns>The URL.</returns>
    public static string SkipUnlessServer(int major)
    {
        var uri = ServerUri(major);
        Assert.SkipWhen(uri is null, $"No real MLflow {major}.x server: {ServerVariable(major)} is not set (.ci/run sets it when ../shared/mlflow-server exists).");
        return uri!;
    }

    /// <summary>Python MLflow of that major version, or <see langword="null"/> when its variable is unset.</summary>
    /// <param name="major">3 or 2.</param>
    /// <returns>The runner.</returns>
    public static PythonMlflow? Python(int major) =>
        Environment.GetEnvironmentVariable(PythonPathVariable(major)) is { } path
            ? new PythonMlflow(major, Environment.GetEnvironmentVariable("MLFLOW_TEST_PYTHON") is { Length: > 0 } python ? python : "/usr/bin/python3", path)
            : null;

    /// <summary>Python MLflow of that major version, or skips the test saying which variable is unset.</summary>
    /// <param name="major">3 or 2.</param>
    /// <returns>The runner.</returns>
    public static PythonMlflow SkipUnlessPython(int major)
    {
        var python = Python(major);
        Assert.SkipWhen(python is null, $"No Python MLflow {major}.x: {PythonPathVariable(major)} is not set (.ci/run sets it when ../shared/mlflow-server exists).");
        return python!;
    }

    /// <summary>The server kit folder, or skips the test saying that <c>MLFLOW_TEST_SERVER_KIT</c> is unset.</summary>
    /// <returns>The folder holding <c>start-mlflow.sh</c>.</returns>
    public static string SkipUnlessServerKit()
    {
        var kit = Environment.GetEnvironmentVariable("MLFLOW_TEST_SERVER_KIT");
        Assert.SkipWhen(string.IsNullOrEmpty(kit), "No MLflow server kit: MLFLOW_TEST_SERVER_KIT is not set (.ci/run sets it when ../shared/mlflow-server exists).");
        Assert.True(File.Exists(Path.Combine(kit!, "start-mlflow.sh")), $"MLFLOW_TEST_SERVER_KIT='{kit}' has no start-mlflow.sh.");
        return kit!;
    }

    /// <summary>
    /// Starts a private real server (its own port and data folder) with the kit; skips when there is no kit.
    /// Dispose it to stop it and delete its data folder.
    /// </summary>
    /// <param name="major">3 or 2.</param>
    /// <param name="dataDirectory">The data folder (mlflow.db and artifacts); a new temporary one when null.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server.</returns>
    public static async Task<PrivateMlflowServer> StartPrivateServerAsync(int major, string? dataDirectory = null, CancellationToken cancellationToken = default)
    {
        var kit = SkipUnlessServerKit();
        var server = new PrivateMlflowServer(kit, major, dataDirectory);
        await server.StartAsync(cancellationToken).ConfigureAwait(false);
        return server;
    }

    private static int CheckMajor(int major) =>
        major is 2 or 3 ? major : throw new ArgumentOutOfRangeException(nameof(major), major, "MLflow major version must be 2 or 3.");
}

/// <summary>What a process printed and how it ended.</summary>
/// <param name="ExitCode">The exit code.</param>
/// <param name="StandardOutput">Everything written to stdout.</param>
/// <param name="StandardError">Everything written to stderr.</param>
public sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Fails the test with both streams unless the exit code is 0.</summary>
    /// <returns>This result.</returns>
    public ProcessResult EnsureSuccess()
    {
        Assert.True(ExitCode == 0, $"exit code {ExitCode}\n--- stdout ---\n{StandardOutput}\n--- stderr ---\n{StandardError}");
        return this;
    }

    /// <summary>The last non-empty line of stdout (scripts print their JSON answer there).</summary>
    public string LastLine => StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "";
}

/// <summary>Runs Python scripts with a given Python MLflow.</summary>
public sealed class PythonMlflow
{
    internal PythonMlflow(int major, string interpreter, string pythonPath)
    {
        Major = major;
        Interpreter = interpreter;
        PythonPath = pythonPath;
    }

    /// <summary>The MLflow major version (3 or 2).</summary>
    public int Major { get; }

    /// <summary>The Python interpreter.</summary>
    public string Interpreter { get; }

    /// <summary>The PYTHONPATH that makes it import that MLflow (may be empty).</summary>
    public string PythonPath { get; }

    /// <summary>Runs a script (passed on stdin, so no temp file) with arguments in <c>sys.argv[1:]</c>.</summary>
    /// <param name="script">The Python source.</param>
    /// <param name="arguments">The script's arguments.</param>
    /// <param name="environment">Extra environment variables (e.g. <c>MLFLOW_TRACKING_URI</c>).</param>
    /// <param name="workingDirectory">The working directory; the current one when null.</param>
    /// <param name="cancellationToken">Kills the process when cancelled.</param>
    /// <returns>Exit code and output.</returns>
    public async Task<ProcessResult> RunAsync(
        string script,
        IEnumerable<string>? arguments = null,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null,
        CancellationToken cancellationToken = default)
    {
        var start = new ProcessStartInfo(Interpreter)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        start.ArgumentList.Add("-");
        foreach (var argument in arguments ?? [])
        {
            start.ArgumentList.Add(argument);
        }

        if (PythonPath.Length > 0)
        {
            start.Environment["PYTHONPATH"] = PythonPath;
        }

        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        start.Environment["MLFLOW_DISABLE_TELEMETRY"] = "true";
        start.Environment["DO_NOT_TRACK"] = "1";
        start.Environment["GIT_PYTHON_REFRESH"] = "quiet";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        return await ProcessRunner.RunAsync(start, script, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>A real MLflow server started with the kit for one test, on a free port, stopped on dispose.</summary>
public sealed class PrivateMlflowServer : IAsyncDisposable
{
    private readonly string _kit;
    private readonly bool _ownsDirectory;

    internal PrivateMlflowServer(string kit, int major, string? dataDirectory)
    {
        _kit = kit;
        Major = major;
        _ownsDirectory = dataDirectory is null;
        DataDirectory = dataDirectory ?? Path.Combine(Path.GetTempPath(), "mlflow-private-" + Guid.NewGuid().ToString("N"));
        Port = FreePort();
    }

    /// <summary>The MLflow major version (3 or 2).</summary>
    public int Major { get; }

    /// <summary>The data folder: <c>mlflow.db</c>, <c>artifacts/</c>, <c>server.log</c>.</summary>
    public string DataDirectory { get; }

    /// <summary>The port on 127.0.0.1 (kept across restarts).</summary>
    public int Port { get; }

    /// <summary>The base URL.</summary>
    public string Uri => $"http://127.0.0.1:{Port}";

    /// <summary>Starts (or restarts after <see cref="StopAsync"/>) the server and waits until /health answers.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task.</returns>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        var result = await RunKitAsync("start-mlflow.sh", [Port.ToString(System.Globalization.CultureInfo.InvariantCulture), DataDirectory, Major.ToString(System.Globalization.CultureInfo.InvariantCulture)], cancellationToken).ConfigureAwait(false);
        Assert.True(result.ExitCode == 0, $"start-mlflow.sh failed ({result.ExitCode}):\n{result.StandardOutput}\n{result.StandardError}");
    }

    /// <summary>Stops the server (its data stays, so <see cref="StartAsync"/> brings it back with the same state).</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task.</returns>
    public Task StopAsync(CancellationToken cancellationToken = default) =>
        RunKitAsync("stop-mlflow.sh", [DataDirectory], cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        if (_ownsDirectory)
        {
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A file still held open by a dying worker; the temp folder is cleaned up by the OS eventually.
            }
        }
    }

    private Task<ProcessResult> RunKitAsync(string script, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("/bin/bash")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(_kit, script));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return ProcessRunner.RunAsync(start, null, cancellationToken);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Runs a process to its end, reading both streams concurrently.</summary>
public static class ProcessRunner
{
    /// <summary>Runs the process, writes <paramref name="standardInput"/> to it, and collects its output.</summary>
    /// <param name="start">What to start; the three streams must be redirected.</param>
    /// <param name="standardInput">Written to stdin, which is then closed; null closes it at once.</param>
    /// <param name="cancellationToken">Kills the process tree when cancelled.</param>
    /// <returns>Exit code and output.</returns>
    public static async Task<ProcessResult> RunAsync(ProcessStartInfo start, string? standardInput, CancellationToken cancellationToken = default)
    {
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(new StringBuilder(standardInput), cancellationToken).ConfigureAwait(false);
        }

        process.StandardInput.Close();
        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new ProcessResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }
}
