using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.ModelStore;
using Orleans;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>One model alias (keyed by the alias): which model it points to, moved without downtime.</summary>
public interface IModelAliasGrain : IGrainWithStringKey
{
    Task<StoreResponse> Put(string modelId, IReadOnlyDictionary<string, string?> query);

    Task Delete(string modelId);

    Task<string?> GetModelId();
}

/// <summary>One ingest pipeline (keyed by id); its inference processors' model ids are recorded.</summary>
public interface IIngestPipelineGrain : IGrainWithStringKey
{
    Task Put(byte[] body);

    Task<JsonObject?> Get();

    Task Delete();
}
