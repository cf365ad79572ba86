using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Models;

namespace TrainedModelsOrleans.Grains.ModelStore;

/// <summary>The TrainedModelGrain's durable state (grain_state 'trainedmodel' / 'config').</summary>
public sealed class TrainedModelRecord
{
    /// <summary>Null when the model does not exist (never created, or deleted).</summary>
    public TrainedModelConfig? Config { get; set; }

    /// <summary>Parts received so far, for models uploaded in parts.</summary>
    public DefinitionProgress? Progress { get; set; }

    /// <summary>A tree-ensemble definition given inline in the PUT body, as sent.</summary>
    public JsonObject? InlineDefinition { get; set; }

    public bool HasVocabulary { get; set; }
}
