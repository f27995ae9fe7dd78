using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace MLOpsDemo.Mlflow;

/// <summary>Artifact logging on the active run; each call streams the content to the run's artifact store.</summary>
public sealed partial class MlflowRun
{
    /// <summary>Uploads a local file into the run's artifacts.</summary>
    /// <param name="localFile">The file to upload.</param>
    /// <param name="artifactPath">The run-relative directory to put it in, or <see langword="null"/> for the root.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>A task that completes when the file is stored.</returns>
    public Task LogArtifactAsync(string localFile, string? artifactPath = null, CancellationToken cancellationToken = default)
    {
        ThrowIfEnded();
        return Client.Artifacts.LogArtifactAsync(RunId, localFile, artifactPath, cancellationToken);
    }

    /// <summary>Uploads a local directory (its relative layout kept) into the run's artifacts.</summary>
    /// <param name="localDirectory">The directory to upload.</param>
    /// <param name="artifactPath">The run-relative directory to put it in, or <see langword="null"/> for the root.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>A task that completes when every file is stored.</returns>
    public Task LogArtifactsAsync(string localDirectory, string? artifactPath = null, CancellationToken cancellationToken = default)
    {
        ThrowIfEnded();
        return Client.Artifacts.LogArtifactsAsync(RunId, localDirectory, artifactPath, cancellationToken);
    }

    /// <summary>Stores text as a run artifact, e.g. <c>notes/summary.md</c>.</summary>
    /// <param name="text">The text (written as UTF-8).</param>
    /// <param name="artifactFile">The run-relative file path.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>A task that completes when the file is stored.</returns>
    public Task LogTextAsync(string text, string artifactFile, CancellationToken cancellationToken = default)
    {
        ThrowIfEnded();
        return Client.Artifacts.LogTextAsync(RunId, text, artifactFile, cancellationToken);
    }

    /// <summary>Stores a JSON document as a run artifact, e.g. <c>metrics/confusion.json</c>.</summary>
    /// <param name="json">The document.</param>
    /// <param name="artifactFile">The run-relative file path.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>A task that completes when the file is stored.</returns>
    public Task LogJsonAsync(JsonNode? json, string artifactFile, CancellationToken cancellationToken = default)
    {
        ThrowIfEnded();
        return Client.Artifacts.LogJsonAsync(RunId, json, artifactFile, cancellationToken);
    }

    /// <summary>Stores a value serialized with source-generated JSON metadata as a run artifact.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="value">The value.</param>
    /// <param name="jsonTypeInfo">The source-generated metadata of <typeparamref name="T"/>.</param>
    /// <param name="artifactFile">The run-relative file path.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>A task that completes when the file is stored.</returns>
    public Task LogJsonAsync<T>(T value, JsonTypeInfo<T> jsonTypeInfo, string artifactFile, CancellationToken cancellationToken = default)
    {
        ThrowIfEnded();
        return Client.Artifacts.LogJsonAsync(RunId, value, jsonTypeInfo, artifactFile, cancellationToken);
    }

    /// <summary>Stores bytes as a run artifact.</summary>
    /// <param name="content">The bytes.</param>
    /// <param name="artifactFile">The run-relative file path.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <returns>A task that completes when the file is stored.</returns>
    public Task LogBytesAsync(ReadOnlyMemory<byte> content, string artifactFile, CancellationToken cancellationToken = default)
    {
        ThrowIfEnded();
        return Client.Artifacts.LogBytesAsync(RunId, content, artifactFile, cancellationToken);
    }
}
