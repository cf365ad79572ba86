using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Models;
using Orleans;

namespace TrainedModelsOrleans.Grains.ModelStore;

/// <summary>
/// One trained model (keyed by model id): its configuration, definition upload and vocabulary.
/// Bodies arrive raw; the grain validates them with Elasticsearch's rules and throws
/// ElasticsearchException with ES's status, type and reason.
/// </summary>
public interface ITrainedModelGrain : IGrainWithStringKey
{
    /// <summary>PUT _ml/trained_models/&lt;id&gt;: the stored config as ES renders it.</summary>
    Task<PutTrainedModelResponse> Put(PutTrainedModelRequest request);

    /// <summary>The stored configuration, or null when there is no such model.</summary>
    Task<TrainedModelConfig?> GetConfig();

    /// <summary>What of the definition has been uploaded (null for an inline definition or no model).</summary>
    Task<DefinitionProgress?> GetDefinitionProgress();

    /// <summary>A tree-ensemble definition given inline in the PUT body, as sent (null otherwise).</summary>
    Task<JsonObject?> GetInlineDefinition();

    /// <summary>DELETE _ml/trained_models/&lt;id&gt;.</summary>
    Task Delete(bool force);

    /// <summary>PUT _ml/trained_models/&lt;id&gt;/definition/&lt;part&gt;: one part, its bytes base64-decoded.</summary>
    Task PutDefinitionPart(DefinitionPart part);

    /// <summary>PUT _ml/trained_models/&lt;id&gt;/vocabulary.</summary>
    Task PutVocabulary(VocabularyUpload vocabulary);
}

/// <summary>Queries over all models (GET with wildcards, lists, paging). A stateless worker.</summary>
public interface IModelStoreGrain : IGrainWithStringKey
{
    /// <summary>GET _ml/trained_models[/&lt;ids&gt;]: the matched count and the page's stored configs.</summary>
    Task<GetTrainedModelsResponse> GetModels(GetTrainedModelsRequest request);

    /// <summary>
    /// GET _ml/trained_models[/&lt;ids&gt;]/_stats: the matched count and each listed model's stats, per deployment
    /// (reads only the request's model id, allow_no_match, from and size).
    /// </summary>
    Task<GetTrainedModelStatsResponse> GetStats(GetTrainedModelsRequest request);

    /// <summary>Model id → how many ingest pipelines name it (directly, or through a deployment id or alias of it), as _stats counts them.</summary>
    Task<IReadOnlyDictionary<string, int>> GetPipelineCounts();

    /// <summary>GET _ml/info: the live ML nodes, each with the processors and ML memory it offers.</summary>
    Task<IReadOnlyList<Deployments.NodeOffer>> GetMlNodes();
}

/// <summary>A response body and the Warning headers Elasticsearch would send with it.</summary>
[GenerateSerializer, Immutable, Alias("tmo.StoreResponse")]
public sealed record StoreResponse(JsonObject Body, IReadOnlyList<string> Warnings);
