using Orleans;
using Orleans.Concurrency;
using Orleans.Transactions.Abstractions;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Transactions;

namespace TrainedModelsOrleans.Grains.Models;

/// <summary>The namespace's state: every model id, deployment id and alias, and what holds it.</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Alias("tmo.MlIds")]
public sealed class MlIds
{
    public Dictionary<string, MlIdEntry> Ids { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Every deployment (deployment id → model id), including those whose id is their model's.</summary>
    public Dictionary<string, string> Deployments { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The shared namespace (invariant 2). Reentrant, as a transactional grain must be; the transaction's locks order
/// the changes. Callers check Elasticsearch's rules with their own texts first; the refusals here are the backstop
/// that makes a collision impossible whatever the interleaving.
/// </summary>
/// <remarks>
/// Reads outside transactions answer from a copy of the committed namespace: Orleans commits even a read-only
/// transaction by storing its read timestamp, which rewrote the row on every read. The copy is taken by a
/// transactional read, so it holds only committed changes (a read locked after an update is ordered after it and
/// commits only if that update does). Every change of this state runs an update here (one activation, no other
/// writer) that ends before its transaction can commit; so a copy taken after the last update ended is current,
/// and each update makes the next read take a new copy. A new activation starts without one.
/// </remarks>
[Reentrant]
public sealed class MlIdsGrain([TransactionalState("ml-ids")] ITransactionalState<MlIds> ids, ControlPlaneTransactions transactions)
    : Grain, IMlIdsGrain
{
    /// <summary>Updates this activation ran, each counted when its write under the lock is done (or failed).</summary>
    private long _updates;
    private CommittedIds? _committed;
    /// <summary>The read taking a copy now, shared by the reads that arrive while it runs (null: none).</summary>
    private CommittedIds.Loading? _loading;

    public Task<MlIdEntry?> Find(string id) => ids.PerformRead(s => s.Ids.GetValueOrDefault(id));

    public Task<IReadOnlyDictionary<string, MlIdEntry>> GetAll() => ids.PerformRead(CopyIds);

    public async Task<MlIdEntry?> FindCommitted(string id) => (await CommittedAsync()).Ids.GetValueOrDefault(id);

    public async Task<IReadOnlyDictionary<string, MlIdEntry>> GetCommitted() => (await CommittedAsync()).Ids;

    public Task Claim(string id, MlIdEntry entry) => UpdateAsync(s =>
    {
        if (s.Ids.TryGetValue(id, out var held) && !MayReplace(held, entry)) throw Taken(id, held, entry);
        // Under the transaction's lock: an alias claimed for a model deleted meanwhile would point at nothing.
        if (entry.Kind == MlIdEntry.Alias && !IsModel(s, entry.ModelId))
            throw ElasticsearchException.NotFound($"No known trained model with model_id [{entry.ModelId}]");
        s.Ids[id] = entry;
    });

    public Task ClaimDeployment(string deploymentId, string modelId) => UpdateAsync(s =>
    {
        if (!IsModel(s, modelId)) throw Deployments.DeploymentErrors.ModelNotFound(modelId);
        if (s.Deployments.ContainsKey(deploymentId)) throw Deployments.DeploymentErrors.AlreadyStarted(deploymentId);
        if (deploymentId != modelId)
        {
            var entry = MlIdEntry.ForDeployment(modelId);
            if (s.Ids.TryGetValue(deploymentId, out var held) && !MayReplace(held, entry)) throw Taken(deploymentId, held, entry);
            s.Ids[deploymentId] = entry;
        }
        s.Deployments[deploymentId] = modelId;
    });

    public Task ReleaseDeployment(string deploymentId) => UpdateAsync(s =>
    {
        s.Deployments.Remove(deploymentId);
        if (s.Ids.TryGetValue(deploymentId, out var held) && held.Kind == MlIdEntry.Deployment) s.Ids.Remove(deploymentId);
    });

    public Task Release(string id, string kind) => UpdateAsync(s =>
    {
        if (s.Ids.TryGetValue(id, out var held) && held.Kind == kind) s.Ids.Remove(id);
    });

    public Task<IReadOnlyList<string>> ReleaseModel(string modelId) => UpdateAsync(s =>
    {
        if (s.Deployments.ContainsValue(modelId))
            throw ElasticsearchException.Conflict($"Cannot delete model [{modelId}] as it is currently deployed; use force to delete the model");
        var aliases = s.Ids.Where(i => i.Value.Kind == MlIdEntry.Alias && i.Value.ModelId == modelId).Select(i => i.Key).Order(StringComparer.Ordinal).ToArray();
        foreach (var alias in aliases) s.Ids.Remove(alias);
        if (s.Ids.TryGetValue(modelId, out var held) && held.Kind == MlIdEntry.Model) s.Ids.Remove(modelId);
        return (IReadOnlyList<string>)aliases;
    });

    /// <summary>Every update goes through here: once it has run, a copy taken before it is no longer used.</summary>
    private async Task<T> UpdateAsync<T>(Func<MlIds, T> update)
    {
        try
        {
            return await ids.PerformUpdate(update);
        }
        finally
        {
            _updates++;
        }
    }

    private Task UpdateAsync(Action<MlIds> update) => UpdateAsync<bool>(s =>
    {
        update(s);
        return true;
    });

    /// <summary>The committed namespace: the copy if no update ran since it was taken, else a new one (one read at a time).</summary>
    private Task<CommittedIds> CommittedAsync()
    {
        var updates = _updates;
        if (_committed is { } committed && committed.AsOfUpdates == updates) return Task.FromResult(committed);
        if (_loading is { } loading && loading.AsOfUpdates == updates) return loading.Task;
        var load = LoadAsync(updates);
        if (!load.IsCompleted) _loading = new CommittedIds.Loading(updates, load);
        return load;
    }

    /// <summary>One attempt (as a transactional read from outside a transaction always was): the callers keep a fallback or retry themselves.</summary>
    private async Task<CommittedIds> LoadAsync(long updates)
    {
        try
        {
            var loaded = new CommittedIds(await transactions.ReadOnceAsync(() => ids.PerformRead(CopyIds)), updates);
            if (_committed is null || _committed.AsOfUpdates < updates) _committed = loaded;
            return loaded;
        }
        finally
        {
            if (_loading?.AsOfUpdates == updates) _loading = null;
        }
    }

    private static IReadOnlyDictionary<string, MlIdEntry> CopyIds(MlIds s) => new Dictionary<string, MlIdEntry>(s.Ids, StringComparer.Ordinal);

    /// <summary>A copy of the committed ids, taken when this activation had run <see cref="AsOfUpdates"/> updates.</summary>
    private sealed record CommittedIds(IReadOnlyDictionary<string, MlIdEntry> Ids, long AsOfUpdates)
    {
        public sealed record Loading(long AsOfUpdates, Task<CommittedIds> Task);
    }

    private static bool IsModel(MlIds s, string modelId) => s.Ids.TryGetValue(modelId, out var held) && held.Kind == MlIdEntry.Model;

    /// <summary>The same holder again (a retried claim, new tags of the same model), or an alias moving to another model.</summary>
    private static bool MayReplace(MlIdEntry held, MlIdEntry entry) =>
        held.Kind == entry.Kind && (held.ModelId == entry.ModelId || held.Kind == MlIdEntry.Alias);

    private static ElasticsearchException Taken(string id, MlIdEntry held, MlIdEntry wanted) => (held.Kind, wanted.Kind) switch
    {
        (_, MlIdEntry.Alias) when held.Kind == MlIdEntry.Model => ElasticsearchException.BadRequest("model_alias cannot be the same as an existing trained model_id"),
        (_, MlIdEntry.Alias) => ElasticsearchException.BadRequest($"model_alias [{id}] cannot be the same as an existing deployment_id"),
        (MlIdEntry.Deployment, MlIdEntry.Deployment) => Deployments.DeploymentErrors.AlreadyStarted(id),
        (_, MlIdEntry.Deployment) => Deployments.DeploymentErrors.IdTakenByModel(id),
        _ => new ElasticsearchException(400, "resource_already_exists_exception", $"[{id}] is already used by a {held.Kind.Replace('_', ' ')} of model [{held.ModelId}]"),
    };
}
