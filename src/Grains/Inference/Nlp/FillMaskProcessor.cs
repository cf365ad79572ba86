using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Models.Parsing;
using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>
/// ES's FillMaskProcessor: exactly one mask token ([MASK], or &lt;mask&gt; for MPNet) per input; softmax over the vocabulary at the mask's
/// position; the best token is <c>predicted_value</c>, the input with the mask replaced is
/// <c>&lt;results_field&gt;_sequence</c>, and num_top_classes (-1: all) tokens are listed (FillMaskResults).
/// </summary>
internal sealed class FillMaskProcessor(NlpTokenizer tokenizer, int numTopClasses, string resultsField) : INlpResultProcessor
{
    private readonly string mask = tokenizer.Options.SpecialTokens.Mask;

    public void ValidateInputs(IReadOnlyList<string> inputs)
    {
        var errors = new List<string>();
        if (inputs.Count == 0) errors.Add("input request is empty");
        foreach (var input in inputs)
        {
            var at = input.IndexOf(mask, StringComparison.Ordinal);
            if (at < 0)
            {
                errors.Add($"no {mask} token could be found in the input");
                continue;
            }
            if (input.IndexOf(mask, at + mask.Length, StringComparison.Ordinal) > 0)
                throw EsErrors.BadRequest($"only one {mask} token should exist in the input");
        }
        if (errors.Count > 0) throw NlpErrors.Validation(errors);
    }

    public JsonObject Process(NlpDocument document)
    {
        if (tokenizer.MaskTokenId is not { } maskId)
        {
            throw EsErrors.Status(409,
                $"The token id for the mask token {mask} is not known in the tokenizer. Check the vocabulary contains the mask token");
        }
        var position = document.Rows[0].IndexOfToken(maskId);
        if (position < 0) throw EsErrors.Status(500, $"mask token id [{maskId}] not found in the tokenization");
        if (position >= document.Inference.RowsPerWindow)
            throw EsErrors.Status(500, $"Expected a score for each of the [{document.Rows[0].Length}] tokens in fill_mask result; got [{document.Inference.RowsPerWindow}]");

        var scores = NlpMath.SoftMax(document.Inference.Row(0, position));
        // At least one is needed for predicted_value; none are listed when 0 are asked for.
        var best = NlpMath.TopK(scores, numTopClasses == -1 ? scores.Length : Math.Max(numTopClasses, 1));
        var vocabulary = tokenizer.Vocabulary;
        var predicted = tokenizer.Decode(vocabulary[best[0]]);
        var result = new JsonObject { [resultsField] = predicted };
        if (numTopClasses != 0)
            result["top_classes"] = new JsonArray(best.Select(i => (JsonNode)NlpMath.TopClass(tokenizer.Decode(vocabulary[i]), scores[i])).ToArray());
        result["prediction_probability"] = scores[best[0]];
        result[resultsField + "_sequence"] = document.Input.Replace(mask, predicted, StringComparison.Ordinal);
        return document.Finish(result);
    }
}
