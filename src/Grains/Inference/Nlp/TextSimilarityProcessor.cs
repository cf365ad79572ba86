using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Models.Parsing;
using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>
/// ES's TextSimilarityProcessor (a cross-encoder): the request's <c>text</c> paired with each document,
/// the document windowed when it is too long and a span is set; the model gives one score per window,
/// combined by span_score_combination_function (max or mean) into <c>predicted_value</c>
/// (TextSimilarityInferenceResults).
/// </summary>
internal sealed class TextSimilarityProcessor(string? text, string spanScoreFunction, string resultsField) : INlpResultProcessor
{
    public const string MissingText = "please provide configuration update for text_similarity task including the desired [text]";

    public void ValidateInputs(IReadOnlyList<string> inputs)
    {
    }

    public NlpTokens Tokenize(NlpTokenizer tokenizer, IReadOnlyList<string> inputs, Truncation truncate, int span) =>
        PairWindows.Tokenize(tokenizer, text ?? throw EsErrors.BadRequest(MissingText), inputs, truncate, span);

    public JsonObject Process(NlpDocument document)
    {
        var inference = document.Inference;
        if (inference.RowsPerWindow < 1) throw EsErrors.Status(500, "text_similarity result has no data");
        var scores = new double[inference.RowsPerWindow];
        for (var r = 0; r < scores.Length; r++)
        {
            var row = inference.Row(0, r);
            if (row.Length != 1) throw EsErrors.Status(500, $"Expected exactly [1] value in text_similarity result; got [{row.Length}]");
            scores[r] = row[0];
        }
        return document.Finish(new JsonObject { [resultsField] = Combine(scores, spanScoreFunction) });
    }

    /// <summary>ES's Max (from −∞) and Mean span score functions.</summary>
    internal static double Combine(IReadOnlyList<double> scores, string function)
    {
        if (function == "mean")
        {
            var sum = 0.0;
            foreach (var s in scores) sum += s;
            return sum / scores.Count;
        }
        var max = double.NegativeInfinity;
        foreach (var s in scores) max = Math.Max(max, s);
        return max;
    }
}
