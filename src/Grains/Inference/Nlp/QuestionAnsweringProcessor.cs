using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Models.Parsing;
using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>
/// ES's QuestionAnsweringProcessor: the question paired with each document (the context), the context
/// windowed when it is too long and a span is set. Per window, the start and end logits are softmaxed
/// over [CLS] and the context's tokens (the question and the last [SEP] masked); an answer from token
/// i to j (j − i &lt; max_answer_length) scores start[i] × end[j]; the best over all windows is
/// <c>predicted_value</c> with its character offsets, and num_top_classes answers are listed
/// (QuestionAnsweringInferenceResults).
/// </summary>
/// <remarks>
/// The model gives start and end logits as two outputs [rows, sequence] (the ONNX export of a
/// Hugging Face question-answering model) or as one output [rows, sequence, 2].
/// </remarks>
internal sealed class QuestionAnsweringProcessor(string? question, int maxAnswerLength, int numTopClasses, string resultsField) : INlpResultProcessor
{
    public const string MissingQuestion = "please provide configuration update for question_answering task including the desired [question]";

    /// <summary>ES's mask for the positions that cannot be part of an answer.</summary>
    private const double Masked = -10000.0;

    public void ValidateInputs(IReadOnlyList<string> inputs)
    {
    }

    public NlpTokens Tokenize(NlpTokenizer tokenizer, IReadOnlyList<string> inputs, Truncation truncate, int span) =>
        PairWindows.Tokenize(tokenizer, question ?? throw EsErrors.BadRequest(MissingQuestion), inputs, truncate, span);

    public JsonObject Process(NlpDocument document)
    {
        var windows = Logits(document);
        var wanted = Math.Max(numTopClasses, 1);
        var best = new List<Answer>();
        for (var w = 0; w < windows.Count; w++)
        {
            var (start, end) = windows[w];
            best.AddRange(TopScores(start, end, wanted, document.PairOffset(w), document.Rows[w].Length, maxAnswerLength, w));
        }
        // Lucene's PriorityQueue keeps an earlier entry over a later one of the same score; a stable sort does too.
        var top = best.OrderByDescending(a => a.Score).Take(wanted).ToArray();

        var entries = top.Select(a => Entry(document, a)).ToArray();
        var final = entries[0];
        var result = new JsonObject
        {
            [resultsField] = final.Text,
            ["start_offset"] = final.Start,
            ["end_offset"] = final.End,
        };
        if (numTopClasses > 0)
        {
            result["top_classes"] = new JsonArray(entries.Select(e => (JsonNode)new JsonObject
            {
                ["answer"] = e.Text,
                ["start_offset"] = e.Start,
                ["end_offset"] = e.End,
                ["score"] = e.Score,
            }).ToArray());
        }
        result["prediction_probability"] = final.Score;
        return document.Finish(result);
    }

    private static (string Text, int Start, int End, double Score) Entry(NlpDocument document, Answer answer)
    {
        var row = document.Rows[answer.Window];
        var context = document.PairOffset(answer.Window);
        var shift = document.CharacterOffset(answer.Window);
        // An empty context has no token to point at (ES would fail here): an empty answer.
        if (context + answer.EndToken >= row.Length - 1) return (string.Empty, 0, 0, answer.Score);
        var start = row.StartOffsets[context + answer.StartToken] + shift;
        var end = row.EndOffsets[context + answer.EndToken] + shift;
        return (document.Input[start..end], start, end, answer.Score);
    }

    /// <summary>Each window's start and end logits.</summary>
    private static List<(double[] Start, double[] End)> Logits(NlpDocument document)
    {
        var windows = document.Rows.Count;
        var logits = new List<(double[], double[])>(windows);
        if (document.OutputCount >= 2 && document.ShapeOf(0).Count == 2 && document.ShapeOf(1).Count == 2)
        {
            var starts = document.Inference;
            var ends = document.Output(1);
            for (var w = 0; w < windows; w++) logits.Add((starts.Row(0, w), ends.Row(0, w)));
            return logits;
        }
        if (document.ShapeOf(0) is { Count: 3 } shape && shape[2] == 2)
        {
            var inference = document.Inference;
            for (var w = 0; w < windows; w++)
            {
                var start = new double[inference.RowsPerWindow];
                var end = new double[inference.RowsPerWindow];
                for (var t = 0; t < start.Length; t++)
                {
                    var pair = inference.Row(w, t);
                    (start[t], end[t]) = (pair[0], pair[1]);
                }
                logits.Add((start, end));
            }
            return logits;
        }
        throw EsErrors.Status(500,
            $"question answering result has invalid dimensions; expected start and end logits as two outputs [rows, sequence] or one output [rows, sequence, 2], got {EsErrors.JavaList(document.ShapeOf(0))}");
    }

    /// <summary>
    /// ES's topScores for one window: the answers worth keeping, best first. With one answer wanted, the
    /// first best (ties keep the earlier); otherwise every candidate.
    /// </summary>
    /// <param name="start">Start logits per token (padding included).</param>
    /// <param name="end">End logits per token.</param>
    /// <param name="seq2Start">The token position where the context starts.</param>
    /// <param name="tokenSize">The window's token count, special tokens included, padding not.</param>
    internal static IEnumerable<Answer> TopScores(
        double[] start, double[] end, int wanted, int seq2Start, int tokenSize, int maxAnswerLength, int window)
    {
        if (start.Length != end.Length)
        {
            throw EsErrors.Status(500,
                $"question answering result has invalid dimensions; possible start tokens [{start.Length}] must equal possible end tokens [{end.Length}]");
        }
        bool InContext(int i) => i == 0 || (i >= seq2Start && i < tokenSize - 1);
        var startNormalized = NormalizeWith(start, InContext);
        var endNormalized = NormalizeWith(end, InContext);
        // [CLS] takes part in the softmax but is no answer.
        startNormalized[0] = endNormalized[0] = 0.0;

        if (wanted == 1)
        {
            var best = new Answer(0, 0, 0.0, window);
            var maxScore = 0.0;
            for (var i = seq2Start; i < tokenSize; i++)
            {
                if (startNormalized[i] == 0) continue;
                for (var j = i; j < maxAnswerLength + i && j < tokenSize; j++)
                {
                    var score = startNormalized[i] * endNormalized[j];
                    if (score > maxScore)
                    {
                        maxScore = score;
                        best = new Answer(i - seq2Start, j - seq2Start, score, window);
                    }
                }
            }
            return [best];
        }

        // ES also offers answers touching the last [SEP] (score 0), which it cannot map back to the text; they are left out.
        var all = new List<Answer>();
        for (var i = seq2Start; i < tokenSize - 1; i++)
        {
            for (var j = i; j < maxAnswerLength + i && j < tokenSize - 1; j++)
                all.Add(new Answer(i - seq2Start, j - seq2Start, startNormalized[i] * endNormalized[j], window));
        }
        return all.OrderByDescending(a => a.Score).Take(wanted);
    }

    /// <summary>ES's normalizeWith: positions outside the predicate set to −10000, then softmax as exp(x − log Σ exp).</summary>
    internal static double[] NormalizeWith(double[] values, Func<int, bool> keep)
    {
        var result = new double[values.Length];
        for (var i = 0; i < values.Length; i++) result[i] = keep(i) ? values[i] : Masked;
        var expSum = 0.0;
        foreach (var v in result) expSum += Math.Exp(v);
        var diff = Math.Log(expSum);
        for (var i = 0; i < result.Length; i++) result[i] = Math.Exp(result[i] - diff);
        return result;
    }

    /// <summary>ES's ScoreAndIndices: token positions relative to the context's first token in the window.</summary>
    internal sealed record Answer(int StartToken, int EndToken, double Score, int Window);
}
