using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>
/// ES's TextEmbeddingProcessor: the first row of the first window. For a pooled [batch, hidden]
/// output that is the document's vector; for [batch, sequence, hidden] it is the first ([CLS]) token's.
/// </summary>
internal sealed class TextEmbeddingProcessor(string resultsField) : INlpResultProcessor
{
    public void ValidateInputs(IReadOnlyList<string> inputs)
    {
    }

    public JsonObject Process(NlpDocument document)
    {
        if (document.Inference.RowsPerWindow < 1) throw EsErrors.Status(500, "Text embedding result has no data");
        return document.Finish(new JsonObject { [resultsField] = NlpMath.Array(document.Inference.Row(0, 0)) });
    }
}
