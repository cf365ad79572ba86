using System.Text.Json.Nodes;
using Orleans;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>
/// <c>POST _ml/trained_models/&lt;model_id, deployment_id or alias&gt;/_infer</c> as typed parameters. The documents are
/// JSON by nature (fields named by the model's <c>input.field_names</c>, or our tensor form), so they stay JSON.
/// </summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.InferTrainedModelRequest")]
public sealed record InferTrainedModelRequest
{
    /// <summary>A model id, deployment id or alias.</summary>
    public required string Id { get; init; }

    /// <summary>docs: at least one object.</summary>
    public required JsonArray Docs { get; init; }

    /// <summary>inference_config: updates of the model's task settings for this request.</summary>
    public JsonObject? InferenceConfig { get; init; }

    /// <summary>timeout, an Elasticsearch time value.</summary>
    public string Timeout { get; init; } = "10s";

    /// <summary>
    /// ES's forTextInput (the inference processor's input_output form): each doc is <c>{"text_field": "…"}</c> and its
    /// text goes to the model's first input field, whatever that field is named.
    /// </summary>
    public bool TextInput { get; init; }
}

/// <summary>The answer of <see cref="IInferenceGrain.Infer"/>: one result per document, in order. Immutable: not copied on a local call.</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.InferTrainedModelResponse")]
public sealed record InferTrainedModelResponse
{
    public required JsonArray InferenceResults { get; init; }

    /// <summary>The id the request resolved to, an alias replaced by its model (what an ingest processor records as model_id).</summary>
    public string? ModelId { get; init; }
}
