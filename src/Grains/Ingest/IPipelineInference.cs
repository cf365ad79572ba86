using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Grains.Ingest;

/// <summary>
/// How the inference processor reaches a model: the <c>_infer</c> path (a model id, deployment id or alias,
/// resolved as <c>_infer</c> resolves it). One call takes a batch of documents; errors are ES's
/// (<see cref="Errors.ElasticsearchException"/>: 404 missing model, 409 not deployed, …).
/// </summary>
public interface IPipelineInference
{
    /// <param name="modelId">A model id, deployment id or alias.</param>
    /// <param name="documents">The documents, as <c>_infer</c> takes them; with <paramref name="textInput"/> each is
    /// <c>{"text_field": "…"}</c> and the text goes to the model's input field (ES's forTextInput).</param>
    /// <param name="inferenceConfig">The processor's inference_config update, or null.</param>
    /// <param name="textInput">Whether the documents are texts (the input_output form).</param>
    Task<PipelineInferenceResult> InferAsync(string modelId, IReadOnlyList<JsonObject> documents, JsonObject? inferenceConfig, bool textInput,
        CancellationToken cancellationToken);
}

/// <summary>One result object per document, in order, and the model id to record (an alias resolved to its model).</summary>
public sealed record PipelineInferenceResult(string ModelId, IReadOnlyList<JsonObject> Results);
