using System.Text.Json.Nodes;
using Orleans;
using TrainedModelsOrleans.Grains.Models;

namespace TrainedModelsOrleans.Grains.ModelStore;

/// <summary>
/// <c>PUT _ml/trained_models/&lt;model_id&gt;</c>: the model's configuration document as Elasticsearch defines it
/// (model_type, inference_config, input, tags, an inline definition…: a JSON document by nature, validated field by
/// field with Elasticsearch's parser and texts by the grain) and the two query flags.
/// </summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.PutTrainedModelRequest")]
public sealed record PutTrainedModelRequest
{
    public required string ModelId { get; init; }

    /// <summary>The trained model config document (the request body).</summary>
    public required JsonObject Config { get; init; }

    /// <summary>defer_definition_decompression.</summary>
    public bool DeferDefinitionDecompression { get; init; }

    /// <summary>wait_for_completion.</summary>
    public bool WaitForCompletion { get; init; }
}

/// <summary>What a model PUT answers: the stored config as Elasticsearch renders it, and the Warning-header texts.</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.PutTrainedModelResponse")]
public sealed record PutTrainedModelResponse
{
    public required TrainedModelConfig Config { get; init; }
    public IReadOnlyList<string> Warnings { get; init; } = [];
}
