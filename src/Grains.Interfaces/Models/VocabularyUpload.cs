using Orleans;
using System.Text.Json.Serialization;

namespace TrainedModelsOrleans.Grains.Models;

/// <summary>
/// A validated <c>PUT _ml/trained_models/&lt;id&gt;/vocabulary</c> body (PutTrainedModelVocabularyAction).
/// <see cref="Merges"/> and <see cref="Scores"/> are empty, never null, when not given.
/// </summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.VocabularyUpload")]
public sealed record VocabularyUpload
{
    [JsonPropertyName("model_id")]
    public required string ModelId { get; init; }

    [JsonPropertyName("vocabulary")]
    public required IReadOnlyList<string> Vocabulary { get; init; }

    [JsonPropertyName("merges")]
    public IReadOnlyList<string> Merges { get; init; } = [];

    [JsonPropertyName("scores")]
    public IReadOnlyList<double> Scores { get; init; } = [];
}
