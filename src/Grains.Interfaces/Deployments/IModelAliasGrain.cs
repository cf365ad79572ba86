using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.ModelStore;
using Orleans;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>One model alias (keyed by the alias): which model it points to, moved without downtime.</summary>
public interface IModelAliasGrain : IGrainWithStringKey
{
    /// <summary>PUT _ml/trained_models/&lt;model_id&gt;/model_aliases/&lt;alias&gt; (the key is the alias): the Warning-header texts, if any.</summary>
    Task<IReadOnlyList<string>> Put(PutModelAliasRequest request);

    Task Delete(string modelId);

    /// <summary>The model the alias points to (committed), or null.</summary>
    [Transaction(TransactionOption.CreateOrJoin)]
    Task<string?> GetModelId();

    /// <summary>Within a transaction: the alias is gone (its model is being deleted).</summary>
    [Transaction(TransactionOption.Join)]
    Task Clear();
}

/// <summary>One ingest pipeline (keyed by id); its inference processors' model ids are recorded.</summary>
public interface IIngestPipelineGrain : IGrainWithStringKey
{
    Task Put(byte[] body);

    Task<JsonObject?> Get();

    Task Delete();
}
