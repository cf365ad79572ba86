using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Models.Parsing;
using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>
/// ES's ZeroShotClassificationProcessor (an NLI model): each document paired with the hypothesis of
/// each label (the template with the label at its <c>{}</c>), one row per label; the model gives the
/// three NLI logits per row, in the order of classification_labels. Single-label: softmax over the
/// labels' entailment logits. Multi-label: per label, softmax of (entailment, contradiction). The best
/// label is <c>predicted_value</c>; every label is listed in <c>top_classes</c> (NlpClassificationInferenceResults).
/// </summary>
internal sealed class ZeroShotClassificationProcessor : INlpResultProcessor
{
    public const string MissingLabels = "zero_shot_classification requires non-empty [labels]";

    private readonly int entailment;
    private readonly int contradiction;
    private readonly IReadOnlyList<string>? labels;
    private readonly string hypothesisTemplate;
    private readonly bool multiLabel;
    private readonly string resultsField;

    public ZeroShotClassificationProcessor(
        IReadOnlyList<string> classificationLabels, IReadOnlyList<string>? labels, string hypothesisTemplate, bool multiLabel, string resultsField)
    {
        var lowerCased = classificationLabels.Select(l => l.ToLowerInvariant()).ToList();
        entailment = lowerCased.IndexOf("entailment");
        contradiction = lowerCased.IndexOf("contradiction");
        if (entailment < 0 || contradiction < 0)
            throw EsErrors.BadRequest("zero_shot_classification requires [entailment] and [contradiction] in classification_labels");
        this.labels = labels;
        this.hypothesisTemplate = hypothesisTemplate;
        this.multiLabel = multiLabel;
        this.resultsField = resultsField;
    }

    public void ValidateInputs(IReadOnlyList<string> inputs)
    {
    }

    public NlpTokens Tokenize(NlpTokenizer tokenizer, IReadOnlyList<string> inputs, Truncation truncate, int span)
    {
        if (labels is not { Count: > 0 }) throw EsErrors.BadRequest(MissingLabels);
        if (span > -1) throw EsErrors.BadRequest("Unable to span zero-shot classification on long text input");
        var hypotheses = labels.Select(l => Hypothesis(hypothesisTemplate, l)).ToArray();
        var firsts = new List<string>(inputs.Count * hypotheses.Length);
        var seconds = new List<string>(firsts.Capacity);
        var documents = new List<int>(firsts.Capacity);
        for (var d = 0; d < inputs.Count; d++)
        {
            foreach (var hypothesis in hypotheses)
            {
                firsts.Add(inputs[d]);
                seconds.Add(hypothesis);
                documents.Add(d);
            }
        }
        var batch = tokenizer.TokenizePairs(firsts, seconds, truncate);
        return NlpTokens.Pairs(batch, [.. documents], new int[documents.Count], tokenizer.Options.SpecialTokens.SeparatorsBetweenPair, tokenizer.SeparatorTokenId);
    }

    public JsonObject Process(NlpDocument document)
    {
        var inference = document.Inference;
        var labelList = labels!;
        if (inference.RowsPerWindow < 1) throw EsErrors.Status(500, "Zero shot classification result has no data");
        if (inference.RowsPerWindow != labelList.Count)
        {
            throw EsErrors.Status(500,
                $"Expected exactly [{labelList.Count}] values in zero shot classification result; got [{inference.RowsPerWindow}]");
        }
        var logits = new double[labelList.Count][];
        for (var r = 0; r < logits.Length; r++)
        {
            logits[r] = inference.Row(0, r);
            if (logits[r].Length != 3)
                throw EsErrors.Status(500, $"Expected exactly [3] values in inner zero shot classification result; got [{logits[r].Length}]");
        }

        var scores = Scores(logits, entailment, contradiction, multiLabel);
        var order = NlpMath.Descending(scores);
        var result = new JsonObject
        {
            [resultsField] = labelList[order[0]],
            ["top_classes"] = new JsonArray(order.Select(i => (JsonNode)NlpMath.TopClass(labelList[i], scores[i])).ToArray()),
            ["prediction_probability"] = scores[order[0]],
        };
        return document.Finish(result);
    }

    /// <summary>Each label's probability from its row of NLI logits.</summary>
    internal static double[] Scores(IReadOnlyList<double[]> logits, int entailment, int contradiction, bool multiLabel)
    {
        if (multiLabel)
            return logits.Select(row => NlpMath.SoftMax([row[entailment], row[contradiction]])[0]).ToArray();
        return NlpMath.SoftMax(logits.Select(row => row[entailment]).ToArray());
    }

    /// <summary>
    /// ES's LoggerMessageFormat.format(template, label): the first <c>{}</c> becomes the label
    /// (a <c>\{}</c> stays as <c>{}</c>); a template without one is used as it is.
    /// </summary>
    internal static string Hypothesis(string template, string label)
    {
        var at = 0;
        while (true)
        {
            var found = template.IndexOf("{}", at, StringComparison.Ordinal);
            if (found < 0) return template;
            var escaped = found > 0 && template[found - 1] == '\\' && !(found > 1 && template[found - 2] == '\\');
            if (!escaped)
            {
                var prefix = found > 1 && template[found - 1] == '\\' ? template[..(found - 1)] : template[..found];
                return prefix + label + template[(found + 2)..];
            }
            template = template[..(found - 1)] + template[found..];
            at = found + 1;
        }
    }
}
