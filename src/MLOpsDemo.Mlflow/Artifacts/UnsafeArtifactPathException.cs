namespace MLOpsDemo.Mlflow;

/// <summary>
/// Raised when an artifact path received from a server listing (or found on disk) would write outside the download
/// destination or is otherwise unsafe: <c>..</c> segments, absolute paths, drive letters, backslashes, or a symbolic
/// link in the destination that points outside it. Nothing is written for such a path.
/// </summary>
public sealed class UnsafeArtifactPathException : IOException
{
    /// <summary>Creates the exception.</summary>
    public UnsafeArtifactPathException()
        : base("An artifact path is unsafe.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public UnsafeArtifactPathException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public UnsafeArtifactPathException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The offending path, as received, when known.</summary>
    public string? ArtifactPath { get; private init; }

    /// <summary>Creates the exception for one path.</summary>
    internal static UnsafeArtifactPathException For(string artifactPath, string message) => new(message) { ArtifactPath = artifactPath };
}
