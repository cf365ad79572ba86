namespace TrainedModelsOrleans.Inference.Serving;

/// <summary>How one deployment runs on one node.</summary>
public sealed record ExecutorOptions
{
    /// <summary>Allocations on this node: at most this many model runs at once (each with the session's intra-op threads).</summary>
    public int Allocations { get; init; } = 1;

    /// <summary>Requests that may wait; one more is refused at once (ES's queue_capacity).</summary>
    public int QueueCapacity { get; init; } = 1024;

    /// <summary>Queued requests of this deployment run as one batch of up to this many (1 = no batching).</summary>
    public int MaxBatchSize { get; init; } = 1;

    /// <summary>How long a run may wait for more requests to fill a batch (bounded to a few milliseconds).</summary>
    public TimeSpan MaxBatchWait { get; init; } = TimeSpan.Zero;

    /// <summary>Bytes of results kept in an LRU cache keyed by the request's inputs (0 = no cache).</summary>
    public long CacheSizeBytes { get; init; }

    public static readonly TimeSpan MaxAllowedBatchWait = TimeSpan.FromMilliseconds(10);

    public void Validate()
    {
        if (Allocations < 0) throw new ArgumentOutOfRangeException(nameof(Allocations), Allocations, "must not be negative");
        if (QueueCapacity < 1) throw new ArgumentOutOfRangeException(nameof(QueueCapacity), QueueCapacity, "must be positive");
        if (MaxBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, "must be positive");
        if (MaxBatchWait < TimeSpan.Zero || MaxBatchWait > MaxAllowedBatchWait)
            throw new ArgumentOutOfRangeException(nameof(MaxBatchWait), MaxBatchWait, $"must be between 0 and {MaxAllowedBatchWait.TotalMilliseconds} ms");
        if (CacheSizeBytes < 0) throw new ArgumentOutOfRangeException(nameof(CacheSizeBytes), CacheSizeBytes, "must not be negative");
    }
}
