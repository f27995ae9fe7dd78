namespace MLOpsDemo.Mlflow.Artifacts;

/// <summary>Aggregates progress of one operation (one or many files) and reports it, throttled, to the caller.</summary>
internal sealed class TransferTracker
{
    private const long ReportEvery = 1024 * 1024;
    private readonly IProgress<ArtifactTransferProgress>? _progress;
    private readonly long? _totalBytes;
    private readonly int _fileCount;
    private long _bytes;
    private int _filesCompleted;

    public TransferTracker(IProgress<ArtifactTransferProgress>? progress, int fileCount, long? totalBytes)
    {
        _progress = progress;
        _fileCount = fileCount;
        _totalBytes = totalBytes;
    }

    public FileProgress StartFile(string artifactPath, string? localPath, long? size) => new(this, artifactPath, localPath, size);

    internal sealed class FileProgress
    {
        private readonly TransferTracker _owner;
        private readonly string _artifactPath;
        private readonly string? _localPath;
        private readonly long? _size;
        private long _done;
        private long _lastReported;

        public FileProgress(TransferTracker owner, string artifactPath, string? localPath, long? size)
        {
            _owner = owner;
            _artifactPath = artifactPath;
            _localPath = localPath;
            _size = size;
        }

        public long Done => Interlocked.Read(ref _done);

        /// <summary>Adds (or, after a restart, removes) transferred bytes.</summary>
        public void Add(long delta)
        {
            if (delta == 0)
            {
                return;
            }

            var done = Interlocked.Add(ref _done, delta);
            Interlocked.Add(ref _owner._bytes, delta);
            if (_owner._progress is not null && Math.Abs(done - Interlocked.Read(ref _lastReported)) >= ReportEvery)
            {
                Interlocked.Exchange(ref _lastReported, done);
                Report(done, completed: false);
            }
        }

        /// <summary>Forgets this file's bytes (a transfer starts again).</summary>
        public void Reset() => Add(-Done);

        public void Complete()
        {
            Interlocked.Increment(ref _owner._filesCompleted);
            Report(Done, completed: true);
        }

        private void Report(long done, bool completed) => _owner._progress?.Report(new ArtifactTransferProgress
        {
            ArtifactPath = _artifactPath,
            LocalPath = _localPath,
            FileBytesTransferred = done,
            FileTotalBytes = _size,
            FileCompleted = completed,
            BytesTransferred = Interlocked.Read(ref _owner._bytes),
            TotalBytes = _owner._totalBytes,
            FilesCompleted = Volatile.Read(ref _owner._filesCompleted),
            FileCount = _owner._fileCount,
        });
    }
}
