using System.Text.Json;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Models.Parsing;
using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>
/// The effective settings of an NLP task for one request: the stored inference config (defaults as
/// <see cref="InferenceConfigParser"/> filled them) with the request's update applied.
/// </summary>
public sealed record NlpSettings
{
    public required string TaskType { get; init; }

    public required ParsedTokenization Tokenization { get; init; }

    public string ResultsField { get; init; } = InferenceConfigParser.DefaultResultsField;

    /// <summary>text_classification's labels, or ner's IOB tags (empty: ES's default tags).</summary>
    public IReadOnlyList<string> ClassificationLabels { get; init; } = [];

    /// <summary>text_classification (0: none listed, negative: all), fill_mask (default 5, -1: all) and question_answering (answers listed).</summary>
    public int NumTopClasses { get; init; }

    /// <summary>question_answering: the question, given only by a request's update.</summary>
    public string? Question { get; init; }

    /// <summary>question_answering: the longest answer, in tokens.</summary>
    public int MaxAnswerLength { get; init; } = InferenceConfigParser.DefaultMaxAnswerLength;

    /// <summary>text_similarity: the text each document is compared with, given only by a request's update.</summary>
    public string? Text { get; init; }

    /// <summary>text_similarity: how the scores of a long document's windows combine, <c>max</c> or <c>mean</c>.</summary>
    public string SpanScoreFunction { get; init; } = "max";

    /// <summary>zero_shot_classification: the labels to choose from (null: none stored, the request must give them).</summary>
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>zero_shot_classification: score each label on its own (entailment against contradiction) rather than against each other.</summary>
    public bool MultiLabel { get; init; }

    /// <summary>zero_shot_classification: the hypothesis each label is put into, at its <c>{}</c>.</summary>
    public string HypothesisTemplate { get; init; } = InferenceConfigParser.DefaultHypothesisTemplate;

    public Truncation Truncate => NlpConfigUpdate.TruncationOf(Tokenization.Truncate);

    /// <summary>The tasks this service runs; the others are refused by <see cref="NlpTask.For(TrainedModelConfig, VocabularyUpload, JsonObject?)"/>.</summary>
    public static readonly IReadOnlyList<string> SupportedTasks =
    [
        InferenceTaskType.PassThrough, InferenceTaskType.TextEmbedding, InferenceTaskType.TextClassification,
        InferenceTaskType.Ner, InferenceTaskType.FillMask, InferenceTaskType.QuestionAnswering, InferenceTaskType.TextExpansion,
        InferenceTaskType.TextSimilarity, InferenceTaskType.ZeroShotClassification,
    ];

    /// <summary>Every tokenization ES offers but bert_ja, which needs a Japanese morphological analyser (ES uses Lucene's Kuromoji).</summary>
    public static readonly IReadOnlyList<string> SupportedTokenizations = NlpTokenizer.Names;

    /// <summary>The tasks whose ES config refuses windowing (a span).</summary>
    internal static bool RefusesSpan(string taskType) => taskType is InferenceTaskType.PassThrough or InferenceTaskType.TextEmbedding
        or InferenceTaskType.Ner or InferenceTaskType.FillMask or InferenceTaskType.ZeroShotClassification;

    /// <summary>Reads the stored <c>inference_config</c>; settings it lacks take ES's defaults.</summary>
    public static NlpSettings FromConfig(TrainedModelConfig config)
    {
        var taskType = config.TaskType;
        if (!SupportedTasks.Contains(taskType))
        {
            throw EsErrors.BadRequest(
                $"Trained model [{config.ModelId}] has task [{taskType}]; inference is supported for {EsErrors.JavaList(SupportedTasks)}");
        }
        var settings = config.InferenceConfig[taskType] as JsonObject ?? [];
        return new NlpSettings
        {
            TaskType = taskType,
            Tokenization = TokenizationOf(config.ModelId, settings["tokenization"] as JsonObject),
            ResultsField = StringOf(settings["results_field"]) ?? InferenceConfigParser.DefaultResultsField,
            ClassificationLabels = settings["classification_labels"] is JsonArray labels
                ? labels.Select(l => StringOf(l) ?? "null").ToArray()
                : [],
            NumTopClasses = IntOf(settings["num_top_classes"])
                ?? (taskType == InferenceTaskType.FillMask ? InferenceConfigParser.DefaultFillMaskTopClasses : 0),
            MaxAnswerLength = IntOf(settings["max_answer_length"]) ?? InferenceConfigParser.DefaultMaxAnswerLength,
            SpanScoreFunction = StringOf(settings["span_score_combination_function"]) ?? "max",
            Labels = settings["labels"] is JsonArray zeroShotLabels ? zeroShotLabels.Select(l => StringOf(l) ?? "null").ToArray() : null,
            MultiLabel = BoolOf(settings["multi_label"]) ?? false,
            HypothesisTemplate = StringOf(settings["hypothesis_template"]) ?? InferenceConfigParser.DefaultHypothesisTemplate,
        };
    }

    private static ParsedTokenization TokenizationOf(string modelId, JsonObject? tokenization)
    {
        var (name, body) = tokenization?.FirstOrDefault() ?? default;
        name ??= "bert";
        if (name == "bert_ja")
        {
            throw EsErrors.BadRequest(
                $"Trained model [{modelId}] uses tokenization [bert_ja], which this service cannot run: it splits Japanese text into words " +
                "with a morphological analyser and dictionary (Elasticsearch uses Lucene's Kuromoji), and none is available to .NET here; " +
                $"supported tokenizations are {EsErrors.JavaList(SupportedTokenizations)}");
        }
        if (!SupportedTokenizations.Contains(name))
        {
            throw EsErrors.BadRequest(
                $"Trained model [{modelId}] uses tokenization [{name}]; supported tokenizations are {EsErrors.JavaList(SupportedTokenizations)}");
        }
        var settings = body as JsonObject ?? [];
        var addPrefixSpace = name == "roberta" ? BoolOf(settings["add_prefix_space"]) ?? false : (bool?)null;
        return new ParsedTokenization(
            name,
            BoolOf(settings["do_lower_case"]) ?? false,
            BoolOf(settings["with_special_tokens"]) ?? true,
            IntOf(settings["max_sequence_length"]) ?? ParsedTokenization.DefaultMaxSequenceLength,
            StringOf(settings["truncate"]) ?? "first",
            IntOf(settings["span"]) ?? ParsedTokenization.UnsetSpan,
            addPrefixSpace);
    }

    internal static string? StringOf(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : node?.ToJsonString();

    internal static int? IntOf(JsonNode? node)
    {
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) return null;
        if (v.TryGetValue<int>(out var i)) return i;
        if (v.TryGetValue<long>(out var l)) return (int)Math.Clamp(l, int.MinValue, int.MaxValue);
        return v.TryGetValue<double>(out var d) ? (int)Math.Clamp(Math.Truncate(d), int.MinValue, int.MaxValue) : null;
    }

    private static bool? BoolOf(JsonNode? node) => node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False
        ? v.GetValueKind() == JsonValueKind.True
        : null;
}
