using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>An ES NlpTask.Processor: checks the inputs, then turns one document's model output into its result.</summary>
internal interface INlpResultProcessor
{
    void ValidateInputs(IReadOnlyList<string> inputs);

    JsonObject Process(NlpDocument document);
}
