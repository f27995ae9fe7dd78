namespace MLOpsDemo.Mlflow.Cli;

/// <summary>The documented exit codes of <c>dotnet mlflow</c>.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what it was asked.</summary>
    public const int Success = 0;

    /// <summary>A gate or check said no (e.g. <c>models promote</c> refused; the alias did not move).</summary>
    public const int CheckFailed = 1;

    /// <summary>A usage error: unknown command or option, malformed value or filter. The message says what is wrong.</summary>
    public const int UsageError = 2;

    /// <summary>MLflow or the server failed (the message carries MLflow's error code), or the server cannot be reached.</summary>
    public const int MlflowError = 3;

    /// <summary>A run, experiment, model, version, alias or artifact does not exist.</summary>
    public const int NotFound = 4;

    /// <summary>The command was cancelled (Ctrl+C), or a project run ended KILLED.</summary>
    public const int Cancelled = 130;
}

/// <summary>A failure with a chosen exit code and a message for the user.</summary>
internal sealed class CliException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="exitCode">One of <see cref="ExitCodes"/>.</param>
    /// <param name="message">What went wrong and how to fix it.</param>
    public CliException(int exitCode, string message)
        : base(message)
    {
        ExitCode = exitCode;
    }

    /// <summary>Creates the exception (usage error).</summary>
    public CliException()
        : this(ExitCodes.UsageError, "Invalid usage.")
    {
    }

    /// <summary>Creates the exception (usage error).</summary>
    /// <param name="message">The message.</param>
    public CliException(string message)
        : this(ExitCodes.UsageError, message)
    {
    }

    /// <summary>Creates the exception (usage error).</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public CliException(string message, Exception innerException)
        : base(message, innerException)
    {
        ExitCode = ExitCodes.UsageError;
    }

    /// <summary>The exit code.</summary>
    public int ExitCode { get; }

    /// <summary>A usage error.</summary>
    /// <param name="message">The message.</param>
    /// <returns>The exception.</returns>
    public static CliException Usage(string message) => new(ExitCodes.UsageError, message);

    /// <summary>A not-found error.</summary>
    /// <param name="message">The message.</param>
    /// <returns>The exception.</returns>
    public static CliException NotFound(string message) => new(ExitCodes.NotFound, message);
}
