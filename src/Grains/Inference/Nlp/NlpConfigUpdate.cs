using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Models.Parsing;
using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>
/// An <c>_infer</c> request's <c>inference_config</c>, applied to a model's settings as ES's
/// *ConfigUpdate classes do (NlpConfigUpdate, TextClassificationConfigUpdate, FillMaskConfigUpdate,
/// QuestionAnsweringConfigUpdate, TextSimilarityConfigUpdate, ZeroShotClassificationConfigUpdate,
/// TextExpansionConfigUpdate, BertTokenizationUpdate): the task must be the model's, unknown fields are
/// refused, labels may be renamed but not added, question_answering needs a question and
/// text_similarity a text, zero-shot labels come from the update or the stored config, and a truncate
/// of first/second clears a configured span.
/// Errors carry no [line:col] prefix: the update arrives already parsed.
/// </summary>
internal static class NlpConfigUpdate
{
    private static readonly string[] KnownTokenizations = ["bert", "bert_ja", "mpnet", "roberta", "xlm_roberta", "deberta_v2"];
    private const string TruncateEnum = "org.elasticsearch.xpack.core.ml.inference.trainedmodel.Tokenization.Truncate";

    public static NlpSettings Apply(string modelId, NlpSettings settings, JsonObject? update)
    {
        if (update is null || update.Count == 0) return settings;
        var known = InferenceTaskType.Tree.Concat(InferenceTaskType.Nlp).ToArray();
        if (update.Count != 1)
        {
            throw EsErrors.XContentParse(
                $"[inference_config] must hold exactly one of {EsErrors.JavaList(known)}; found {EsErrors.JavaList(update.Select(p => p.Key))}");
        }

        var (name, body) = update.First();
        if (!known.Contains(name)) throw new ElasticsearchException(400, "named_object_not_found_exception", $"unknown field [{name}]");
        if (name != settings.TaskType)
        {
            throw EsErrors.Status(403,
                $"Trained model [{modelId}] is configured for task [{settings.TaskType}] but called with task [{name}]");
        }
        var fields = ExpectObject(name, body);

        var result = settings;
        var declared = new List<string> { "results_field", "tokenization" };
        if (name == InferenceTaskType.TextClassification) declared.AddRange(["classification_labels", "num_top_classes"]);
        if (name == InferenceTaskType.FillMask) declared.Add("num_top_classes");
        if (name == InferenceTaskType.QuestionAnswering) declared.AddRange(["question", "num_top_classes", "max_answer_length"]);
        if (name == InferenceTaskType.TextSimilarity) declared.AddRange(["text", "span_score_combination_function"]);
        if (name == InferenceTaskType.ZeroShotClassification) declared.AddRange(["labels", "multi_label"]);
        foreach (var (field, value) in fields)
        {
            if (!declared.Contains(field))
                throw EsErrors.XContentParse($"[{name}] unknown field [{field}]{ObjectParser.Suggest(field, declared)}");
            switch (field)
            {
                case "results_field":
                    result = result with { ResultsField = String(name, field, value) };
                    break;
                case "num_top_classes":
                    result = result with { NumTopClasses = Int(name, field, value) };
                    break;
                case "classification_labels":
                    var labels = StringList(name, field, value);
                    if (labels.Count != settings.ClassificationLabels.Count)
                    {
                        throw EsErrors.BadRequest(
                            $"The number of [classification_labels] the model is defined with [{settings.ClassificationLabels.Count}] does not match the number in the update [{labels.Count}]");
                    }
                    result = result with { ClassificationLabels = labels };
                    break;
                case "tokenization":
                    result = result with { Tokenization = Tokenization(settings.Tokenization, ExpectObject(field, value)) };
                    break;
                case "question":
                    result = result with { Question = String(name, field, value) };
                    break;
                case "max_answer_length":
                    result = result with { MaxAnswerLength = Int(name, field, value) };
                    break;
                case "text":
                    result = result with { Text = String(name, field, value) };
                    break;
                case "span_score_combination_function":
                    result = result with { SpanScoreFunction = SpanScoreFunction(String(name, field, value)) };
                    break;
                case "labels":
                    // ZeroShotClassificationConfigUpdate's constructor.
                    var zeroShotLabels = StringList(name, field, value);
                    if (zeroShotLabels.Count == 0) throw EsErrors.BadRequest("[labels] must not be empty");
                    result = result with { Labels = zeroShotLabels };
                    break;
                case "multi_label":
                    result = result with { MultiLabel = Bool(name, field, value) };
                    break;
            }
        }

        switch (name)
        {
            case InferenceTaskType.QuestionAnswering:
                CheckQuestionAnswering(result, fields.ContainsKey("question"));
                break;
            case InferenceTaskType.TextSimilarity when !fields.ContainsKey("text"):
                // TextSimilarityConfigUpdate's ExceptionsHelper.requireNonNull.
                throw EsErrors.IllegalArgument("[text] must not be null.");
            case InferenceTaskType.ZeroShotClassification when result.Labels is not { Count: > 0 }:
                throw EsErrors.BadRequest("stored configuration has no [labels] defined, supplied inference_config update must supply [labels]");
        }

        if (NlpSettings.RefusesSpan(name) && result.Tokenization.Span != ParsedTokenization.UnsetSpan)
            throw EsErrors.BadRequest($"[{name}] does not support windowing long text sequences; configured span [{result.Tokenization.Span}]");
        return result;
    }

    // QuestionAnsweringConfigUpdate requires [question] (ExceptionsHelper.requireNonNull); the config it builds checks the numbers again.
    private static void CheckQuestionAnswering(NlpSettings settings, bool hasQuestion)
    {
        if (!hasQuestion) throw EsErrors.IllegalArgument("[question] must not be null.");
        if (settings.NumTopClasses < 0)
            throw EsErrors.BadRequest($"[num_top_classes] must be greater than or equal to [0]; provided [{settings.NumTopClasses}]");
        if (settings.MaxAnswerLength <= 0)
            throw EsErrors.BadRequest($"[max_answer_length] must be greater than [0]; provided [{settings.MaxAnswerLength}]");
    }

    // TextSimilarityConfig.SpanScoreFunction.fromString: Java's Enum.valueOf on the upper-cased value.
    private static string SpanScoreFunction(string value)
    {
        var upper = value.ToUpperInvariant();
        return upper switch
        {
            "MAX" or "MEAN" => upper.ToLowerInvariant(),
            _ => throw EsErrors.IllegalArgument($"No enum constant org.elasticsearch.xpack.core.ml.inference.trainedmodel.TextSimilarityConfig.SpanScoreFunction.{upper}"),
        };
    }

    // declareBoolean: true/false, or the strings "true"/"false".
    private static bool Bool(string parser, string field, JsonNode? node)
    {
        if (node is JsonValue v)
        {
            switch (v.GetValueKind())
            {
                case JsonValueKind.True:
                    return true;
                case JsonValueKind.False:
                    return false;
                case JsonValueKind.String:
                    var text = v.GetValue<string>();
                    if (text is "true" or "false") return text == "true";
                    throw EsErrors.IllegalArgument($"Failed to parse value [{text}] as only [true] or [false] are allowed.");
            }
        }
        throw JsonTokens.Unsupported(parser, field, node);
    }

    // NlpConfigUpdate.tokenizationFromMap + BertTokenizationUpdate.apply.
    private static ParsedTokenization Tokenization(ParsedTokenization original, JsonObject tokenization)
    {
        if (tokenization.Count != 1)
        {
            throw EsErrors.XContentParse(
                $"[tokenization] must hold exactly one of {EsErrors.JavaList(KnownTokenizations)}; found {EsErrors.JavaList(tokenization.Select(p => p.Key))}");
        }
        var (name, body) = tokenization.First();
        if (!KnownTokenizations.Contains(name)) throw new ElasticsearchException(400, "named_object_not_found_exception", $"unknown field [{name}]");
        if (name != original.Name)
            throw EsErrors.BadRequest($"Tokenization config of type [{original.Name}] can not be updated with a request of type [{name}]");

        var parser = name + "_tokenization_update";
        string? truncate = null;
        int? span = null;
        foreach (var (field, value) in ExpectObject(parser, body))
        {
            switch (field)
            {
                case "truncate":
                    truncate = TruncateValue(String(parser, field, value));
                    break;
                case "span":
                    span = Int(parser, field, value);
                    break;
                default:
                    throw EsErrors.XContentParse($"[{parser}] unknown field [{field}]{ObjectParser.Suggest(field, ["truncate", "span"])}");
            }
        }

        // Tokenization.validateSpanAndTruncate, then the update: a truncating value clears the span.
        if (span is { } s && s != ParsedTokenization.UnsetSpan && truncate is "first" or "second" or "balanced")
            throw EsErrors.IllegalArgument($"[span] must not be provided when [truncate] is [{truncate}]");
        if (truncate is null && span is null) return original;
        var updated = truncate is "first" or "second" or "balanced"
            ? original with { Truncate = truncate, Span = ParsedTokenization.UnsetSpan }
            : original with { Truncate = truncate ?? original.Truncate, Span = span ?? original.Span };
        try
        {
            BertTokenizerOptions.Validate(updated.MaxSequenceLength, TruncationOf(updated.Truncate), updated.Span);
        }
        catch (ArgumentException e)
        {
            throw EsErrors.IllegalArgument(e.Message);
        }
        return updated;
    }

    internal static Truncation TruncationOf(string truncate) => truncate switch
    {
        "second" => Truncation.Second,
        "none" => Truncation.None,
        "balanced" => Truncation.Balanced,
        _ => Truncation.First,
    };

    // Tokenization.Truncate.fromString: Java's Enum.valueOf on the upper-cased value.
    private static string TruncateValue(string value)
    {
        var upper = value.ToUpperInvariant();
        return upper switch
        {
            "FIRST" or "SECOND" or "NONE" or "BALANCED" => upper.ToLowerInvariant(),
            _ => throw EsErrors.IllegalArgument($"No enum constant {TruncateEnum}.{upper}"),
        };
    }

    private static JsonObject ExpectObject(string parser, JsonNode? node) =>
        node as JsonObject ?? throw EsErrors.XContentParse($"[{parser}] Expected START_OBJECT but was: {JsonTokens.Name(node)}");

    private static string String(string parser, string field, JsonNode? node)
    {
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String) return v.GetValue<string>();
        throw JsonTokens.Unsupported(parser, field, node);
    }

    // declareInt: a number or a numeric string; decimals are truncated, as ES coerces them.
    private static int Int(string parser, string field, JsonNode? node)
    {
        if (node is not JsonValue v || v.GetValueKind() is not (JsonValueKind.Number or JsonValueKind.String))
            throw JsonTokens.Unsupported(parser, field, node);
        var text = v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : v.ToJsonString();
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i)) return i;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && !double.IsNaN(d) && !double.IsInfinity(d))
        {
            if (d is > int.MaxValue or < int.MinValue) throw EsErrors.IllegalArgument($"Value [{text}] is out of range for an integer");
            return (int)Math.Truncate(d);
        }
        throw new ElasticsearchException(400, "number_format_exception", $"For input string: \"{text}\"");
    }

    // declareStringArray: an array of values, or one value taken as a one-element list.
    private static List<string> StringList(string parser, string field, JsonNode? node)
    {
        if (node is JsonValue single) return [Scalar(parser, field, single)];
        if (node is not JsonArray array) throw JsonTokens.Unsupported(parser, field, node);
        var list = new List<string>(array.Count);
        foreach (var element in array)
        {
            if (element is not JsonValue v || v.GetValueKind() == JsonValueKind.Null)
                throw EsErrors.IllegalArgument($"expected value but got [{JsonTokens.Name(element)}]");
            list.Add(Scalar(parser, field, v));
        }
        return list;
    }

    private static string Scalar(string parser, string field, JsonValue v) => v.GetValueKind() switch
    {
        JsonValueKind.String => v.GetValue<string>(),
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => v.ToJsonString(),
        _ => throw JsonTokens.Unsupported(parser, field, v),
    };
}
