using System.Text.Json.Nodes;
using Orleans;
using TrainedModelsOrleans.Grains.Ingest;
using TrainedModelsOrleans.Grains.Serving;

namespace TrainedModelsOrleans.Api.Endpoints;

/// <summary>The inference processor's way to the models: the same <see cref="IInferenceGrain"/> call <c>_infer</c> makes, one per batch.</summary>
internal sealed class PipelineInference(IGrainFactory grains) : IPipelineInference
{
    public async Task<PipelineInferenceResult> InferAsync(string modelId, IReadOnlyList<JsonObject> documents, JsonObject? inferenceConfig,
        bool textInput, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var docs = new JsonArray(documents.Select(d => (JsonNode?)(d.Parent is null ? d : d.DeepClone())).ToArray());
        var response = await grains.GetGrain<IInferenceGrain>("infer").Infer(new InferTrainedModelRequest
        {
            Id = modelId, Docs = docs, InferenceConfig = (JsonObject?)inferenceConfig?.DeepClone(), TextInput = textInput,
        });
        return new PipelineInferenceResult(response.ModelId ?? modelId,
            response.InferenceResults.Select(r => r as JsonObject ?? new JsonObject { ["predicted_value"] = r?.DeepClone() }).ToList());
    }
}
