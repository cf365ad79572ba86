using Orleans;

namespace TrainedModelsOrleans.Grains.ModelStore;

/// <summary><c>GET _ml/trained_models[/&lt;ids&gt;][/_stats]</c> as typed parameters (Elasticsearch's names in the comments).</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.GetTrainedModelsRequest")]
public sealed record GetTrainedModelsRequest
{
    /// <summary>The id expression: ids, comma lists, wildcards; null or empty: all models.</summary>
    public string? ModelId { get; init; }

    /// <summary>allow_no_match.</summary>
    public bool AllowNoMatch { get; init; } = true;

    /// <summary>from.</summary>
    public int From { get; init; }

    /// <summary>size.</summary>
    public int Size { get; init; } = 100;

    /// <summary>include: definition, definition_status, feature_importance_baseline, hyperparameters, total_feature_importance.</summary>
    public IReadOnlyList<string> Include { get; init; } = [];

    /// <summary>tags: only models with all of these.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>decompress_definition.</summary>
    public bool DecompressDefinition { get; init; } = true;

    /// <summary>exclude_generated.</summary>
    public bool ExcludeGenerated { get; init; }
}
