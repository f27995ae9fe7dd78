namespace MLOpsDemo.Mlflow.Projects;

/// <summary>
/// A project could not be fetched, loaded or started: a bad MLproject file, a git URI or version that cannot be
/// checked out, a missing subdirectory, or an environment this machine cannot provide (e.g. no Docker engine).
/// Invalid parameter values raise <see cref="ArgumentException"/> instead.
/// </summary>
public class MlflowProjectException : MlflowException
{
    /// <summary>Creates an exception with a default message.</summary>
    public MlflowProjectException()
        : base("An MLflow project operation failed.")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    /// <param name="message">The message.</param>
    public MlflowProjectException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public MlflowProjectException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
