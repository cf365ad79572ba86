namespace TrainedModelsOrleans.Grains.Storage;

/// <summary>
/// Interim: a grain state in our grain_state table, so the coordinator can commit several grains' states
/// and relational rows in one PostgreSQL transaction until the control plane moves onto Orleans
/// transactions. The ETag is the stored version: a write with a stale ETag throws Orleans'
/// InconsistentStateException (which deactivates the grain) and changes nothing.
/// </summary>
public interface IStoredState<TState> where TState : new()
{
    TState State { get; set; }
    string? Etag { get; }
    bool RecordExists { get; }
    Task ReadStateAsync(CancellationToken cancellationToken = default);
    Task WriteStateAsync(CancellationToken cancellationToken = default);
    Task ClearStateAsync(CancellationToken cancellationToken = default);
}

