using System.Text.Json.Nodes;
using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>
/// An ES NlpTask.Processor: checks the inputs, tokenizes them as the task needs (its RequestBuilder),
/// then turns one document's model output into its result.
/// </summary>
internal interface INlpResultProcessor
{
    void ValidateInputs(IReadOnlyList<string> inputs);

    /// <summary>Each text on its own (windowed when a span is set); pair tasks override this.</summary>
    NlpTokens Tokenize(NlpTokenizer tokenizer, IReadOnlyList<string> inputs, Truncation truncate, int span) =>
        NlpTokens.Single(tokenizer.Tokenize(inputs, truncate, span));

    JsonObject Process(NlpDocument document);
}
