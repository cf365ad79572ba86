using Orleans;
using System.Text.Json.Serialization;

namespace TrainedModelsOrleans.Grains.Models;

/// <summary>
/// One validated <c>PUT _ml/trained_models/&lt;id&gt;/definition/&lt;part&gt;</c> upload
/// (PutTrainedModelDefinitionPartAction). <see cref="Definition"/> holds the decoded bytes.
/// </summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.DefinitionPart")]
public sealed record DefinitionPart
{
    [JsonPropertyName("model_id")]
    public required string ModelId { get; init; }

    [JsonPropertyName("part")]
    public required int Part { get; init; }

    [JsonPropertyName("total_definition_length")]
    public required long TotalDefinitionLength { get; init; }

    [JsonPropertyName("total_parts")]
    public required int TotalParts { get; init; }

    /// <summary>The decoded bytes of this part (base64 in the request body).</summary>
    [JsonPropertyName("definition")]
    public required byte[] Definition { get; init; }

    /// <summary>True for the last part (ES's <c>eos</c>).</summary>
    [JsonIgnore]
    public bool IsLast => Part == TotalParts - 1;
}

/// <summary>
/// What has been uploaded of a model's definition so far: the totals every part must agree on and
/// the decoded length of each part received. Kept in the model grain's state; DefinitionAssembly
/// applies the rules to it. The bytes themselves live in their own table.
/// </summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.DefinitionProgress")]
public sealed record DefinitionProgress
{
    [JsonPropertyName("total_parts")]
    public int TotalParts { get; init; }

    [JsonPropertyName("total_definition_length")]
    public long TotalDefinitionLength { get; init; }

    /// <summary>Part number → decoded length in bytes.</summary>
    [JsonPropertyName("part_lengths")]
    public IReadOnlyDictionary<int, long> PartLengths { get; init; } = new Dictionary<int, long>();
}
