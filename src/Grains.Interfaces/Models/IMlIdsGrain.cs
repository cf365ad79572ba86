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

    /// <summary>Within a transaction: what holds this id, or null. Outside one, use <see cref="FindCommitted"/>.</summary>
    [Transaction(TransactionOption.Join)]
    Task<MlIdEntry?> Find(string id);

    /// <summary>Within a transaction: every id. Outside one, use <see cref="GetCommitted"/>.</summary>
    [Transaction(TransactionOption.Join)]
    Task<IReadOnlyDictionary<string, MlIdEntry>> GetAll();

    /// <summary>
    /// Outside transactions (views, listings, pre-checks): what holds this id in the last committed namespace, or
    /// null. Writes nothing, where a transaction of its own would rewrite the namespace's row even to read.
    /// </summary>
    Task<MlIdEntry?> FindCommitted(string id);

    /// <summary>Outside transactions: every id of the last committed namespace. Writes nothing (see <see cref="FindCommitted"/>).</summary>
    Task<IReadOnlyDictionary<string, MlIdEntry>> GetCommitted();

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
