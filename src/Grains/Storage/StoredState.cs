namespace TrainedModelsOrleans.Grains.Storage;

internal interface IStoredStateLoader
{
    Task ReadStateAsync(CancellationToken cancellationToken);
}

/// <summary>Binds one named state of one grain to the storage. Also usable detached (see IGrainStateStore).</summary>
public sealed class StoredState<T>(GrainStorage storage, StateKey grainId, string stateName) : IStoredState<T>, IStoredStateLoader
    where T : new()
{
    public StateKey StateKey { get; } = grainId;
    public string StateName { get; } = stateName;
    public T State { get; set; } = new();
    public string? Etag { get; private set; }
    public bool RecordExists { get; private set; }
    internal GrainStorage Storage => storage;

    public async Task ReadStateAsync(CancellationToken cancellationToken = default)
    {
        var stored = await storage.ReadAsync<T>(StateKey, StateName, cancellationToken);
        (State, Etag, RecordExists) = (stored.State, stored.Etag, stored.RecordExists);
    }

    public async Task WriteStateAsync(CancellationToken cancellationToken = default)
    {
        Etag = await storage.WriteAsync(StateKey, StateName, State, Etag, cancellationToken);
        RecordExists = true;
    }

    public async Task ClearStateAsync(CancellationToken cancellationToken = default)
    {
        Etag = await storage.ClearAsync(StateKey, StateName, Etag, cancellationToken);
        State = new T();
        RecordExists = false;
    }

    /// <summary>Called by a transaction after it committed a write of this state.</summary>
    internal void Committed(string? etag, bool recordExists, bool cleared)
    {
        Etag = etag;
        RecordExists = recordExists;
        if (cleared) State = new T();
    }
}
