using Orleans;
using Orleans.Concurrency;
using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Grains.Models;

/// <summary>
/// The one namespace of model ids, deployment ids and aliases (key "ml-ids"), as one transactional state: a claim
/// commits with the change that makes it (a model PUT, a start, an alias move) or not at all, and two ids can
/// never collide. Listings (wildcards, tags) read it whole.
/// </summary>
public interface IMlIdsGrain : IGrainWithStringKey
{
    public const string Key = "ml-ids";

    /// <summary>What holds this id, or null (within the caller's transaction, or a read of its own).</summary>
    [Transaction(TransactionOption.CreateOrJoin)]
    Task<MlIdEntry?> Find(string id);

    /// <summary>Within a transaction: every id.</summary>
    [Transaction(TransactionOption.CreateOrJoin)]
    Task<IReadOnlyDictionary<string, MlIdEntry>> GetAll();

    /// <summary>
    /// Within a transaction: the id is held by <paramref name="entry"/>. Refused (a 409/400 as Elasticsearch answers)
    /// when it is held by another kind, or by an alias of another model unless <paramref name="entry"/> is that alias moving,
    /// and (404) when an alias's model is not a model any more.
    /// </summary>
    [Transaction(TransactionOption.Join)]
    Task Claim(string id, MlIdEntry entry);

    /// <summary>
    /// Within a transaction: a deployment of the model exists from now on (its id claimed when it differs from the
    /// model's). Refused when the model is not a model (any more), or the deployment id is taken.
    /// </summary>
    [Transaction(TransactionOption.Join)]
    Task ClaimDeployment(string deploymentId, string modelId);

    /// <summary>Within a transaction: the deployment is gone (and its id, if it had one of its own).</summary>
    [Transaction(TransactionOption.Join)]
    Task ReleaseDeployment(string deploymentId);

    /// <summary>Within a transaction: frees the id if it is held by this kind.</summary>
    [Transaction(TransactionOption.Join)]
    Task Release(string id, string kind);

    /// <summary>
    /// Within a transaction: frees a model's id and every alias pointing at it; returns those aliases. Refused (409)
    /// while a deployment of the model exists, so a delete and a start of the same model serialize here.
    /// </summary>
    [Transaction(TransactionOption.Join)]
    Task<IReadOnlyList<string>> ReleaseModel(string modelId);
}

/// <summary>What holds an id: a model (its tags too), a deployment of a model, or an alias of a model.</summary>
[GenerateSerializer, Immutable, Alias("tmo.MlIdEntry")]
public sealed record MlIdEntry(string Kind, string ModelId, IReadOnlyList<string> Tags)
{
    public const string Model = "model";
    public const string Deployment = "deployment";
    public const string Alias = "alias";

    public static MlIdEntry ForModel(string modelId, IReadOnlyList<string> tags) => new(Model, modelId, tags);
    public static MlIdEntry ForDeployment(string modelId) => new(Deployment, modelId, []);
    public static MlIdEntry ForAlias(string modelId) => new(Alias, modelId, []);
}
