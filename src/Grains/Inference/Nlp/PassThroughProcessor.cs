using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>ES's PassThroughProcessor: the document's output, untouched, as <c>[[…], …]</c> (PyTorchPassThroughResults).</summary>
internal sealed class PassThroughProcessor(string resultsField) : INlpResultProcessor
{
    public void ValidateInputs(IReadOnlyList<string> inputs)
    {
    }

    public JsonObject Process(NlpDocument document)
    {
        var inference = document.Inference;
        var rows = new JsonArray();
        for (var r = 0; r < inference.RowsPerWindow; r++) rows.Add(NlpMath.Array(inference.Row(0, r)));
        return document.Finish(new JsonObject { [resultsField] = rows });
    }
}
