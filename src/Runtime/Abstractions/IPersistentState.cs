namespace TrainedModelsOrleans.Runtime;

/// <summary>
/// A grain's durable state (Orleans' IPersistentState). Loaded before OnActivateAsync; written only
/// when the grain asks. The ETag is the stored version: a write with a stale ETag throws
/// <see cref="InconsistentStateException"/> and changes nothing.
/// </summary>
public interface IPersistentState<TState> where TState : new()
{
    TState State { get; set; }
    string? Etag { get; }
    bool RecordExists { get; }
    Task ReadStateAsync(CancellationToken cancellationToken = default);
    Task WriteStateAsync(CancellationToken cancellationToken = default);
    Task ClearStateAsync(CancellationToken cancellationToken = default);
}

/// <summary>The stored version is not the one this state was read at (another writer won).</summary>
public sealed class InconsistentStateException(string message, string? storedEtag, string? currentEtag)
    : Exception(message)
{
    public string? StoredEtag { get; } = storedEtag;
    public string? CurrentEtag { get; } = currentEtag;
}
