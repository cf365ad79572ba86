using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Models;

namespace TrainedModelsOrleans.Grains.ModelStore;

/// <summary>GET _ml/trained_models's body: <c>{"count", "trained_model_configs"}</c>, each config as <see cref="TrainedModelConfigJson"/> renders it.</summary>
public static class TrainedModelListJson
{
    /// <param name="request">The request's include, exclude_generated and decompress_definition decide what each config shows.</param>
    public static JsonObject Render(GetTrainedModelsResponse response, GetTrainedModelsSettings request)
    {
        var configs = new JsonArray();
        foreach (var model in response.TrainedModelConfigs)
            configs.Add(TrainedModelConfigJson.Render(model.Config, request, model.Definition, model.DefinitionProgress));
        return new JsonObject { ["count"] = response.Count, ["trained_model_configs"] = configs };
    }
}
