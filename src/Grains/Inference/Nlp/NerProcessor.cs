using System.Text;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Models.Parsing;
using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>
/// ES's NerProcessor: per token, softmax over the IOB labels; the pieces of a word averaged and
/// tagged with the best label; consecutive words of one entity (until a B- tag or another entity)
/// grouped, scored by their mean. <c>predicted_value</c> is the text annotated as
/// <c>[Elastic](ORG&amp;Elastic)</c>; <c>entities</c> list entity, class_name, class_probability,
/// start_pos and end_pos (NerResults).
/// </summary>
internal sealed class NerProcessor : INlpResultProcessor
{
    /// <summary>NerProcessor.DEFAULT_IOB_TAGS, used when the config lists no labels.</summary>
    public static readonly IReadOnlyList<string> DefaultLabels = ["O", "B_MISC", "I_MISC", "B_PER", "I_PER", "B_ORG", "I_ORG", "B_LOC", "I_LOC"];

    private readonly IobTag[] tags;
    private readonly string resultsField;
    private readonly bool lowerCase;

    public NerProcessor(IReadOnlyList<string> labels, string resultsField, bool lowerCase)
    {
        if (labels.Count == 0) labels = DefaultLabels;
        Validate(labels);
        tags = labels.Select(IobTag.From).ToArray();
        this.resultsField = resultsField;
        this.lowerCase = lowerCase;
    }

    public void ValidateInputs(IReadOnlyList<string> inputs)
    {
    }

    public JsonObject Process(NlpDocument document)
    {
        var row = document.Rows[0];
        var inference = document.Inference;
        if (inference.Width != tags.Length)
            throw EsErrors.Status(409, $"Expected exactly [{tags.Length}] values in ner result; got [{inference.Width}]");
        if (inference.RowsPerWindow < row.Length)
            throw EsErrors.Status(500, $"Expected a score for each of the [{row.Length}] tokens in ner result; got [{inference.RowsPerWindow}]");

        var tagged = TagWords(row, inference);
        var text = lowerCase ? document.Input.ToLowerInvariant() : document.Input;
        var entities = Group(tagged, text);
        var list = new JsonArray();
        foreach (var e in entities)
        {
            list.Add(new JsonObject
            {
                ["entity"] = e.Text,
                ["class_name"] = e.ClassName,
                ["class_probability"] = e.Probability,
                ["start_pos"] = e.Start,
                ["end_pos"] = e.End,
            });
        }
        return document.Finish(new JsonObject
        {
            [resultsField] = Annotate(document.Input, entities),
            ["entities"] = list,
        });
    }

    // tagTokens: the pieces of a word (same word position) share one tag, from their averaged probabilities.
    private List<TaggedWord> TagWords(TokenizedSequence row, DocumentInference inference)
    {
        var tagged = new List<TaggedWord>();
        var words = row.WordPositions;
        var start = 0;
        while (start < row.Length)
        {
            var word = words[start];
            if (word < 0)
            {
                start++;
                continue;
            }
            var end = start;
            while (end < row.Length - 1 && words[end + 1] == word) end++;

            var average = new double[tags.Length];
            for (var t = start; t <= end; t++)
            {
                var probabilities = NlpMath.SoftMax(inference.Row(0, t));
                for (var i = 0; i < average.Length; i++) average[i] += probabilities[i];
            }
            var count = end - start + 1;
            for (var i = 0; i < average.Length; i++) average[i] /= count;

            var best = NlpMath.ArgMax(average);
            tagged.Add(new TaggedWord(row.StartOffsets[start], row.EndOffsets[start], tags[best], average[best]));
            start = end + 1;
        }
        return tagged;
    }

    // groupTaggedTokens: B_X I_X B_X makes two entities; the probability is the mean over the words.
    private static List<EntityGroup> Group(List<TaggedWord> words, string text)
    {
        var entities = new List<EntityGroup>();
        var i = 0;
        while (i < words.Count)
        {
            var first = words[i];
            if (first.Tag.IsNone)
            {
                i++;
                continue;
            }
            var j = i + 1;
            var sum = first.Score;
            while (j < words.Count && !words[j].Tag.IsBeginning && words[j].Tag.Entity == first.Tag.Entity)
            {
                sum += words[j].Score;
                j++;
            }
            var startPos = first.Start;
            var endPos = words[j - 1].End;
            entities.Add(new EntityGroup(text[startPos..endPos], first.Tag.Entity, sum / (j - i), startPos, endPos));
            i = j;
        }
        return entities;
    }

    // buildAnnotatedText: "[Elastic](ORG&Elastic) is in [New York](LOC&New+York)".
    private static string Annotate(string text, List<EntityGroup> entities)
    {
        if (entities.Count == 0) return text;
        var annotated = new StringBuilder(text.Length + (entities.Count * 16));
        var at = 0;
        foreach (var e in entities)
        {
            if (e.Start != at) annotated.Append(text, at, e.Start - at);
            var span = text[e.Start..e.End];
            annotated.Append('[').Append(span).Append("](").Append(e.ClassName).Append('&').Append(span.Replace(' ', '+')).Append(')');
            at = e.End;
        }
        if (at < text.Length) annotated.Append(text, at, text.Length - at);
        return annotated.ToString();
    }

    // NerProcessor.validate: each label an IOB tag, none repeated (ES's ValidationException).
    private static void Validate(IReadOnlyList<string> labels)
    {
        var errors = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var label in labels)
        {
            if (!IobTag.IsValid(label))
            {
                errors.Add($"classification label [{label}] is not an entity I-O-B tag.");
                continue;
            }
            if (!seen.Add(label)) errors.Add($"the classification label [{label}] is duplicated in the list {EsErrors.JavaList(labels)}");
        }
        if (errors.Count > 0) throw NlpErrors.Validation(errors);
    }

    private sealed record IobTag(string Tag, string Entity)
    {
        public bool IsBeginning => Tag.StartsWith('b') || Tag.StartsWith('B');

        public bool IsNone => Tag is "o" or "O";

        public static bool IsValid(string tag)
        {
            var upper = tag.ToUpperInvariant();
            return upper == "O" || upper.StartsWith("B-", StringComparison.Ordinal) || upper.StartsWith("I-", StringComparison.Ordinal)
                || upper.StartsWith("B_", StringComparison.Ordinal) || upper.StartsWith("I_", StringComparison.Ordinal);
        }

        public static IobTag From(string tag)
        {
            var upper = tag.ToUpperInvariant();
            return new IobTag(tag, upper == "O" ? upper : upper[2..]);
        }
    }

    private sealed record TaggedWord(int Start, int End, IobTag Tag, double Score);

    private sealed record EntityGroup(string Text, string ClassName, double Probability, int Start, int End);
}
