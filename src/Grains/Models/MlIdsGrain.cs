using Orleans;
using Orleans.Concurrency;
using Orleans.Transactions.Abstractions;
using TrainedModelsOrleans.Grains.Errors;

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
[Reentrant]
public sealed class MlIdsGrain([TransactionalState("ml-ids")] ITransactionalState<MlIds> ids) : Grain, IMlIdsGrain
{
    public Task<MlIdEntry?> Find(string id) => ids.PerformRead(s => s.Ids.GetValueOrDefault(id));

    public Task<IReadOnlyDictionary<string, MlIdEntry>> GetAll() =>
        ids.PerformRead(s => (IReadOnlyDictionary<string, MlIdEntry>)new Dictionary<string, MlIdEntry>(s.Ids, StringComparer.Ordinal));

    public Task Claim(string id, MlIdEntry entry) => ids.PerformUpdate(s =>
    {
        if (s.Ids.TryGetValue(id, out var held) && !MayReplace(held, entry)) throw Taken(id, held, entry);
        // Under the transaction's lock: an alias claimed for a model deleted meanwhile would point at nothing.
        if (entry.Kind == MlIdEntry.Alias && !IsModel(s, entry.ModelId))
            throw ElasticsearchException.NotFound($"No known trained model with model_id [{entry.ModelId}]");
        s.Ids[id] = entry;
    });

    public Task ClaimDeployment(string deploymentId, string modelId) => ids.PerformUpdate(s =>
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

    public Task ReleaseDeployment(string deploymentId) => ids.PerformUpdate(s =>
    {
        s.Deployments.Remove(deploymentId);
        if (s.Ids.TryGetValue(deploymentId, out var held) && held.Kind == MlIdEntry.Deployment) s.Ids.Remove(deploymentId);
    });

    public Task Release(string id, string kind) => ids.PerformUpdate(s =>
    {
        if (s.Ids.TryGetValue(id, out var held) && held.Kind == kind) s.Ids.Remove(id);
    });

    public Task<IReadOnlyList<string>> ReleaseModel(string modelId) => ids.PerformUpdate(s =>
    {
        if (s.Deployments.ContainsValue(modelId))
            throw ElasticsearchException.Conflict($"Cannot delete model [{modelId}] as it is currently deployed; use force to delete the model");
        var aliases = s.Ids.Where(i => i.Value.Kind == MlIdEntry.Alias && i.Value.ModelId == modelId).Select(i => i.Key).Order(StringComparer.Ordinal).ToArray();
        foreach (var alias in aliases) s.Ids.Remove(alias);
        if (s.Ids.TryGetValue(modelId, out var held) && held.Kind == MlIdEntry.Model) s.Ids.Remove(modelId);
        return (IReadOnlyList<string>)aliases;
    });

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
