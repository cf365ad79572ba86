using System.Text.Json.Nodes;
using Orleans;
using TrainedModelsOrleans.Grains.Models;

namespace TrainedModelsOrleans.Grains.ModelStore;

/// <summary>
/// What <c>GET _ml/trained_models[/&lt;ids&gt;]</c> answers (ES's GetTrainedModelsAction.Response):
/// <c>{"count", "trained_model_configs": [...]}</c>, the configs typed. The HTTP layer renders them with the request's
/// include, exclude_generated and decompress_definition.
/// </summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.GetTrainedModelsResponse")]
public sealed record GetTrainedModelsResponse
{
    /// <summary>count: every model the id expression and tags matched, not only this page.</summary>
    public long Count { get; init; }

    /// <summary>trained_model_configs: the page (from, size), sorted by model id.</summary>
    public IReadOnlyList<ListedTrainedModel> TrainedModelConfigs { get; init; } = [];
}

/// <summary>One entry of <c>trained_model_configs</c>: the stored config, and its definition when it was asked for.</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.ListedTrainedModel")]
public sealed record ListedTrainedModel
{
    public required TrainedModelConfig Config { get; init; }

    /// <summary>
    /// definition: the inline (tree-ensemble) definition as it was sent, only with include=definition (which ES allows
    /// for one model at a time); null otherwise, and for models whose definition was uploaded in parts.
    /// </summary>
    public JsonObject? Definition { get; init; }

    /// <summary>
    /// The parts stored so far, only with include=definition_status and only while a model uploaded in parts is not
    /// fully defined: an uploader resumes by sending only the missing parts (ES tells just <c>fully_defined</c>).
    /// </summary>
    public DefinitionProgress? DefinitionProgress { get; init; }
}
