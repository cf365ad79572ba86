using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>
/// ES's TextClassificationProcessor: softmax of each row of the first window (one per window of a
/// long text), averaged; the best label is <c>predicted_value</c>, with <c>top_classes</c> when
/// num_top_classes asks for them (negative: all) and <c>prediction_probability</c> (NlpClassificationInferenceResults).
/// </summary>
internal sealed class TextClassificationProcessor(IReadOnlyList<string> labels, int numTopClasses, string resultsField) : INlpResultProcessor
{
    public void ValidateInputs(IReadOnlyList<string> inputs)
    {
    }

    public JsonObject Process(NlpDocument document)
    {
        var inference = document.Inference;
        if (inference.RowsPerWindow < 1) throw EsErrors.Status(500, "Text classification result has no data");
        if (inference.Width != labels.Count)
        {
            throw EsErrors.Status(409,
                $"Expected exactly [{labels.Count}] values in text classification result; got [{inference.Width}]");
        }

        var scores = new double[labels.Count];
        for (var r = 0; r < inference.RowsPerWindow; r++)
        {
            var probabilities = NlpMath.SoftMax(inference.Row(0, r));
            for (var i = 0; i < scores.Length; i++) scores[i] += probabilities[i];
        }
        for (var i = 0; i < scores.Length; i++) scores[i] /= inference.RowsPerWindow;

        var order = NlpMath.Descending(scores);
        var result = new JsonObject { [resultsField] = labels[order[0]] };
        var top = numTopClasses < 0 ? labels.Count : Math.Min(numTopClasses, labels.Count);
        if (top > 0) result["top_classes"] = new JsonArray(order.Take(top).Select(i => (JsonNode)NlpMath.TopClass(labels[i], scores[i])).ToArray());
        result["prediction_probability"] = scores[order[0]];
        return document.Finish(result);
    }
}
