using System.Text.Json;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Runtime;
using TrainedModelsOrleans.Runtime.Persistence;

namespace TrainedModelsOrleans.Grains.ModelStore;

/// <summary>GET over many models: ES's id expression, tags and paging, rendered from committed records.</summary>
[StatelessWorker]
public sealed class ModelStoreGrain(ModelStoreTables tables, GrainStorage storage) : Grain, IModelStoreGrain
{
    public async Task<JsonObject> GetModels(string? idExpression, IReadOnlyDictionary<string, string?> query)
    {
        var request = GetTrainedModelsRequest.Parse(idExpression, query);
        var page = request.Select(await tables.ModelTagsAsync(CancellationToken.None), await tables.AliasesAsync(CancellationToken.None));
        var records = await tables.RecordsAsync(page.ModelIds, CancellationToken.None);
        var configs = new JsonArray();
        foreach (var id in page.ModelIds)
        {
            if (!records.TryGetValue(id, out var json)) continue; // deleted since the listing
            var record = JsonSerializer.Deserialize<TrainedModelRecord>(json, storage.SerializerOptions);
            if (record?.Config is null) continue;
            configs.Add(TrainedModelConfigJson.Render(record.Config, request, record.InlineDefinition));
        }
        return new JsonObject { ["count"] = page.Count, ["trained_model_configs"] = configs };
    }
}
