using System.Text.Json.Nodes;
using Orleans;
using TrainedModelsOrleans.Grains.Models;

namespace TrainedModelsOrleans.Grains.ModelStore;

/// <summary>The TrainedModelGrain's durable state (its transactional state "trained-model").</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Alias("tmo.TrainedModelRecord")]
public sealed class TrainedModelRecord
{
    /// <summary>Null when the model does not exist (never created, or deleted).</summary>
    public TrainedModelConfig? Config { get; set; }

    /// <summary>Parts received so far, for models uploaded in parts.</summary>
    public DefinitionProgress? Progress { get; set; }

    /// <summary>A tree-ensemble definition given inline in the PUT body, as sent.</summary>
    public JsonObject? InlineDefinition { get; set; }

    public bool HasVocabulary { get; set; }

    public TrainedModelRecord Copy() => new() { Config = Config, Progress = Progress, InlineDefinition = InlineDefinition, HasVocabulary = HasVocabulary };

    public void ReplaceWith(TrainedModelRecord other) =>
        (Config, Progress, InlineDefinition, HasVocabulary) = (other.Config, other.Progress, other.InlineDefinition, other.HasVocabulary);
}
