using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Models;

/// <summary>A tokenization setting of an NLP inference config, with ES's defaults applied.</summary>
public sealed record ParsedTokenization(
    string Name,
    bool DoLowerCase,
    bool WithSpecialTokens,
    int MaxSequenceLength,
    string Truncate,
    int Span,
    bool? AddPrefixSpace)
{
    public const int DefaultMaxSequenceLength = 512;
    public const int UnsetSpan = -1;

    /// <summary>The mask token the tokenizer uses (fill_mask's <c>mask_token</c> must equal it).</summary>
    public string MaskToken => Name is "roberta" or "xlm_roberta" or "mpnet" ? "<mask>" : "[MASK]";

    public JsonObject ToJson()
    {
        var settings = new JsonObject
        {
            ["do_lower_case"] = DoLowerCase,
            ["with_special_tokens"] = WithSpecialTokens,
            ["max_sequence_length"] = MaxSequenceLength,
            ["truncate"] = Truncate,
            ["span"] = Span,
        };
        if (AddPrefixSpace is { } add) settings["add_prefix_space"] = add;
        return new JsonObject { [Name] = settings };
    }
}

/// <summary>
/// An inference config as ES parses it on model creation (its StrictlyParsedInferenceConfig
/// classes): the task name, the settings with every default filled in as ES renders them, and the
/// tokenization of NLP configs.
/// </summary>
public sealed record ParsedInferenceConfig(string TaskType, JsonObject Settings, ParsedTokenization? Tokenization)
{
    public bool IsNlp => InferenceTaskType.IsNlp(TaskType);

    /// <summary>ES's InferenceConfig.isTargetTypeSupported: regression → regression, classification → classification, NLP → none.</summary>
    public bool SupportsTargetType(string targetType) => TaskType switch
    {
        InferenceTaskType.Regression => targetType == TargetTypes.Regression,
        InferenceTaskType.Classification => targetType == TargetTypes.Classification,
        _ => false,
    };

    /// <summary><c>{"&lt;task&gt;": {settings}}</c>, the shape stored in <see cref="TrainedModelConfig.InferenceConfig"/>.</summary>
    public JsonObject ToJson() => new() { [TaskType] = Settings.DeepClone() };
}

/// <summary>
/// Parses <c>inference_config</c> the way ES's strict parsers do (core/ml/inference/trainedmodel/*Config.java,
/// Tokenization.java, BertTokenization.java, RobertaTokenization.java, XLMRobertaTokenization.java):
/// unknown config names and unknown fields are refused, defaults filled in, each config's own
/// rules applied with ES's texts.
/// </summary>
public static class InferenceConfigParser
{
    public const string DefaultResultsField = "predicted_value";
    public const string DefaultTopClassesResultsField = "top_classes";
    public const string DefaultHypothesisTemplate = "This example is {}.";
    public const int DefaultFillMaskTopClasses = 5;
    public const int DefaultMaxAnswerLength = 15;

    private const string EnumPackage = "org.elasticsearch.xpack.core.ml.inference.trainedmodel";

    /// <summary>Parses a standalone <c>{"&lt;task&gt;": {…}}</c> document (errors are located in it).</summary>
    public static ParsedInferenceConfig Parse(string json)
    {
        var body = JsonBody.Parse(json);
        if (body.Root.Kind != JsonKind.Object)
            throw EsErrors.XContentParse($"{body.Location(body.Root.Start)} [inference_config] Expected START_OBJECT but was: {body.Root.TokenName}");
        return Parse(body, body.Root);
    }

    internal static ParsedInferenceConfig Parse(JsonBody body, JsonItem item) =>
        NamedObjects.ParseOne(body, item, "inference_config", Parsers(body));

    private static Dictionary<string, Func<JsonItem, ParsedInferenceConfig>> Parsers(JsonBody body) => new()
    {
        [InferenceTaskType.Regression] = v => Regression(body, v),
        [InferenceTaskType.Classification] = v => Classification(body, v),
        [InferenceTaskType.PassThrough] = v => Nlp(body, v, InferenceTaskType.PassThrough, spanAllowed: false),
        [InferenceTaskType.TextEmbedding] = v => TextEmbedding(body, v),
        [InferenceTaskType.TextClassification] = v => TextClassification(body, v),
        [InferenceTaskType.Ner] = v => Ner(body, v),
        [InferenceTaskType.FillMask] = v => FillMask(body, v),
        [InferenceTaskType.ZeroShotClassification] = v => ZeroShot(body, v),
        [InferenceTaskType.QuestionAnswering] = v => QuestionAnswering(body, v),
        [InferenceTaskType.TextSimilarity] = v => TextSimilarity(body, v),
        [InferenceTaskType.TextExpansion] = v => TextExpansion(body, v),
    };

    private static ParsedInferenceConfig Regression(JsonBody body, JsonItem v)
    {
        string? resultsField = null;
        int? importance = null;
        new ObjectParser(InferenceTaskType.Regression)
            .Declare("results_field", Accepts.String, x => resultsField = Values.String(x))
            .Declare("num_top_feature_importance_values", Accepts.Int, x => importance = Values.Int(x))
            .Parse(body, v);
        if (importance < 0)
            throw EsErrors.IllegalArgument("[num_top_feature_importance_values] must be greater than or equal to 0");
        return new(InferenceTaskType.Regression, new JsonObject
        {
            ["results_field"] = resultsField ?? DefaultResultsField,
            ["num_top_feature_importance_values"] = importance ?? 0,
        }, null);
    }

    private static ParsedInferenceConfig Classification(JsonBody body, JsonItem v)
    {
        int? topClasses = null, importance = null;
        string? resultsField = null, topClassesField = null, predictionFieldType = null;
        new ObjectParser(InferenceTaskType.Classification)
            .Declare("num_top_classes", Accepts.Int, x => topClasses = Values.Int(x))
            .Declare("results_field", Accepts.String, x => resultsField = Values.String(x))
            .Declare("top_classes_results_field", Accepts.String, x => topClassesField = Values.String(x))
            .Declare("num_top_feature_importance_values", Accepts.Int, x => importance = Values.Int(x))
            .Declare("prediction_field_type", Accepts.String, x => predictionFieldType = JavaEnum(Values.String(x), "PredictionFieldType", true, "string", "number", "boolean"))
            .Parse(body, v);
        if (importance < 0)
            throw EsErrors.IllegalArgument("[num_top_feature_importance_values] must be greater than or equal to 0");
        return new(InferenceTaskType.Classification, new JsonObject
        {
            ["num_top_classes"] = topClasses ?? 0,
            ["top_classes_results_field"] = topClassesField ?? DefaultTopClassesResultsField,
            ["results_field"] = resultsField ?? DefaultResultsField,
            ["num_top_feature_importance_values"] = importance ?? 0,
            ["prediction_field_type"] = predictionFieldType ?? "string",
        }, null);
    }

    /// <summary>The fields every NLP config has: vocabulary (refused on creation), tokenization, results_field.</summary>
    private sealed class NlpFields
    {
        public ParsedTokenization? Tokenization;
        public string? ResultsField;

        public ObjectParser Declare(JsonBody body, ObjectParser parser) => parser
            .Declare("vocabulary", Accepts.Object, _ => throw EsErrors.BadRequest("illegal setting [vocabulary] on inference model creation"))
            .Declare("tokenization", Accepts.Object, x => Tokenization = ParseTokenization(body, x))
            .Declare("results_field", Accepts.String, x => ResultsField = Values.String(x));

        public ParsedTokenization TokenizationOrDefault => Tokenization ?? DefaultTokenization;

        public void CheckNoSpan(string taskType)
        {
            if (TokenizationOrDefault.Span != ParsedTokenization.UnsetSpan)
                throw EsErrors.BadRequest($"[{taskType}] does not support windowing long text sequences; configured span [{TokenizationOrDefault.Span}]");
        }

        /// <summary>vocabulary and tokenization first, as ES renders them.</summary>
        public JsonObject Start() => new()
        {
            ["vocabulary"] = new JsonObject { ["index"] = TrainedModelDefaults.NativeDefinitionIndex },
            ["tokenization"] = TokenizationOrDefault.ToJson(),
        };

        public void AddResultsField(JsonObject settings)
        {
            if (ResultsField is not null) settings["results_field"] = ResultsField;
        }
    }

    private static ParsedTokenization DefaultTokenization => new("bert", false, true, ParsedTokenization.DefaultMaxSequenceLength, "first", ParsedTokenization.UnsetSpan, null);

    private static ParsedInferenceConfig Nlp(JsonBody body, JsonItem v, string taskType, bool spanAllowed)
    {
        var nlp = new NlpFields();
        nlp.Declare(body, new ObjectParser(taskType)).Parse(body, v);
        if (!spanAllowed) nlp.CheckNoSpan(taskType);
        var settings = nlp.Start();
        nlp.AddResultsField(settings);
        return new(taskType, settings, nlp.TokenizationOrDefault);
    }

    private static ParsedInferenceConfig TextEmbedding(JsonBody body, JsonItem v)
    {
        var nlp = new NlpFields();
        int? embeddingSize = null;
        nlp.Declare(body, new ObjectParser(InferenceTaskType.TextEmbedding))
            .Declare("embedding_size", Accepts.Int, x => embeddingSize = Values.Int(x))
            .Parse(body, v);
        if (embeddingSize <= 0)
            throw EsErrors.BadRequest($"[embedding_size] must be a number greater than 0; configured size [{embeddingSize}]");
        nlp.CheckNoSpan(InferenceTaskType.TextEmbedding);
        var settings = nlp.Start();
        nlp.AddResultsField(settings);
        if (embeddingSize is { } size) settings["embedding_size"] = size;
        return new(InferenceTaskType.TextEmbedding, settings, nlp.TokenizationOrDefault);
    }

    private static ParsedInferenceConfig TextClassification(JsonBody body, JsonItem v)
    {
        var nlp = new NlpFields();
        List<string>? labels = null;
        int? topClasses = null;
        nlp.Declare(body, new ObjectParser(InferenceTaskType.TextClassification))
            .Declare("classification_labels", Accepts.StringArray, x => labels = Values.StringList(x))
            .Declare("num_top_classes", Accepts.Int, x => topClasses = Values.Int(x))
            .Parse(body, v);
        if (labels is null || labels.Count < 2)
            throw EsErrors.BadRequest($"[text_classification] requires at least 2 [classification_labels]; provided {EsErrors.JavaList(labels)}");
        var settings = nlp.Start();
        settings["classification_labels"] = StringArray(labels);
        // ES's builder holds num_top_classes in an int, so an absent value is 0.
        settings["num_top_classes"] = topClasses ?? 0;
        nlp.AddResultsField(settings);
        return new(InferenceTaskType.TextClassification, settings, nlp.TokenizationOrDefault);
    }

    private static ParsedInferenceConfig Ner(JsonBody body, JsonItem v)
    {
        var nlp = new NlpFields();
        List<string>? labels = null;
        nlp.Declare(body, new ObjectParser(InferenceTaskType.Ner))
            .Declare("classification_labels", Accepts.StringArray, x => labels = Values.StringList(x))
            .Parse(body, v);
        labels ??= [];
        if (labels.Count > 0)
        {
            var bad = labels.Where(l => !IsIobTag(l)).ToList();
            if (bad.Count > 0)
                throw EsErrors.BadRequest($"[ner] only allows IOB tokenization tagging for classification labels; provided {EsErrors.JavaList(bad)}");
            if (!labels.Any(l => l.ToUpperInvariant() == "O"))
                throw EsErrors.BadRequest("[ner] only allows IOB tokenization tagging for classification labels; missing outside label [O]");
        }
        nlp.CheckNoSpan(InferenceTaskType.Ner);
        var settings = nlp.Start();
        if (labels.Count > 0) settings["classification_labels"] = StringArray(labels);
        nlp.AddResultsField(settings);
        return new(InferenceTaskType.Ner, settings, nlp.TokenizationOrDefault);
    }

    /// <summary>NerConfig.validIOBTag.</summary>
    private static bool IsIobTag(string label)
    {
        var upper = label.ToUpperInvariant();
        return upper.StartsWith("I-", StringComparison.Ordinal) || upper.StartsWith("B-", StringComparison.Ordinal)
            || upper.StartsWith("I_", StringComparison.Ordinal) || upper.StartsWith("B_", StringComparison.Ordinal)
            || upper.StartsWith('O');
    }

    private static ParsedInferenceConfig FillMask(JsonBody body, JsonItem v)
    {
        var nlp = new NlpFields();
        int? topClasses = null;
        string? maskToken = null;
        nlp.Declare(body, new ObjectParser(InferenceTaskType.FillMask))
            .Declare("num_top_classes", Accepts.Int, x => topClasses = Values.Int(x))
            .Declare("mask_token", Accepts.String, x => maskToken = Values.String(x))
            .Parse(body, v);
        var expected = nlp.TokenizationOrDefault.MaskToken;
        if (maskToken is not null && maskToken != expected)
            throw EsErrors.IllegalArgument($"Mask token requested was [{maskToken}] but must be [{expected}] for this model");
        nlp.CheckNoSpan(InferenceTaskType.FillMask);
        var settings = nlp.Start();
        settings["num_top_classes"] = topClasses ?? DefaultFillMaskTopClasses;
        nlp.AddResultsField(settings);
        settings["mask_token"] = expected;
        return new(InferenceTaskType.FillMask, settings, nlp.TokenizationOrDefault);
    }

    private static readonly string[] ZeroShotLabels = ["contradiction", "entailment", "neutral"];

    private static ParsedInferenceConfig ZeroShot(JsonBody body, JsonItem v)
    {
        var nlp = new NlpFields();
        List<string>? classificationLabels = null, labels = null;
        string? template = null;
        bool? multiLabel = null;
        nlp.Declare(body, new ObjectParser(InferenceTaskType.ZeroShotClassification))
            .Declare("classification_labels", Accepts.StringArray, x => classificationLabels = Values.StringList(x))
            .Declare("hypothesis_template", Accepts.String, x => template = Values.String(x))
            .Declare("multi_label", Accepts.Boolean, x => multiLabel = Values.Boolean(x))
            .Declare("labels", Accepts.StringArray, x => labels = Values.StringList(x))
            .Parse(body, v);
        // ConstructingObjectParser's message for a missing required argument.
        if (classificationLabels is null) throw EsErrors.IllegalArgument("Required [classification_labels]");
        var required = EsErrors.JavaList(ZeroShotLabels);
        if (classificationLabels.Count != 3)
            throw EsErrors.BadRequest($"[classification_labels] must contain exactly the three values {required}");
        var bad = classificationLabels.Select(l => l.ToLowerInvariant()).Where(l => !ZeroShotLabels.Contains(l)).ToList();
        if (bad.Count > 0)
            throw EsErrors.BadRequest($"[classification_labels] must contain exactly the three values {required}. Invalid labels {EsErrors.JavaList(bad)}");
        if (labels is { Count: 0 }) throw EsErrors.BadRequest("[labels] must not be empty");
        nlp.CheckNoSpan(InferenceTaskType.ZeroShotClassification);
        var settings = nlp.Start();
        settings["classification_labels"] = StringArray(classificationLabels);
        settings["multi_label"] = multiLabel ?? false;
        settings["hypothesis_template"] = template ?? DefaultHypothesisTemplate;
        if (labels is not null) settings["labels"] = StringArray(labels);
        nlp.AddResultsField(settings);
        return new(InferenceTaskType.ZeroShotClassification, settings, nlp.TokenizationOrDefault);
    }

    private static ParsedInferenceConfig QuestionAnswering(JsonBody body, JsonItem v)
    {
        var nlp = new NlpFields();
        int? topClasses = null, maxAnswerLength = null;
        nlp.Declare(body, new ObjectParser(InferenceTaskType.QuestionAnswering))
            .Declare("num_top_classes", Accepts.Int, x => topClasses = Values.Int(x))
            .Declare("max_answer_length", Accepts.Int, x => maxAnswerLength = Values.Int(x))
            .Parse(body, v);
        var top = topClasses ?? 0;
        var max = maxAnswerLength ?? DefaultMaxAnswerLength;
        if (top < 0) throw EsErrors.BadRequest($"[num_top_classes] must be greater than or equal to [0]; provided [{top}]");
        if (max <= 0) throw EsErrors.BadRequest($"[max_answer_length] must be greater than [0]; provided [{max}]");
        var settings = new JsonObject { ["num_top_classes"] = top, ["max_answer_length"] = max };
        foreach (var (key, value) in nlp.Start().ToList()) settings[key] = value?.DeepClone();
        nlp.AddResultsField(settings);
        return new(InferenceTaskType.QuestionAnswering, settings, nlp.TokenizationOrDefault);
    }

    private static ParsedInferenceConfig TextSimilarity(JsonBody body, JsonItem v)
    {
        var nlp = new NlpFields();
        string? function = null;
        nlp.Declare(body, new ObjectParser(InferenceTaskType.TextSimilarity))
            .Declare("span_score_combination_function", Accepts.String,
                x => function = JavaEnum(Values.String(x), "TextSimilarityConfig.SpanScoreFunction", false, "max", "mean"))
            .Parse(body, v);
        var settings = nlp.Start();
        nlp.AddResultsField(settings);
        settings["span_score_combination_function"] = function ?? "max";
        return new(InferenceTaskType.TextSimilarity, settings, nlp.TokenizationOrDefault);
    }

    private static ParsedInferenceConfig TextExpansion(JsonBody body, JsonItem v)
    {
        var nlp = new NlpFields();
        string? expansionType = null;
        nlp.Declare(body, new ObjectParser(InferenceTaskType.TextExpansion))
            .Declare("expansion_type", Accepts.String, x => expansionType = Values.String(x))
            .Parse(body, v);
        var settings = nlp.Start();
        nlp.AddResultsField(settings);
        if (expansionType is not null) settings["expansion_type"] = expansionType;
        return new(InferenceTaskType.TextExpansion, settings, nlp.TokenizationOrDefault);
    }

    /// <summary>The tokenizations ES registers; <c>balanced</c> truncation and <c>deberta_v2</c> are [new] and kept for shape.</summary>
    private static ParsedTokenization ParseTokenization(JsonBody body, JsonItem v) =>
        NamedObjects.ParseOne(body, v, "tokenization", new Dictionary<string, Func<JsonItem, ParsedTokenization>>
        {
            ["bert"] = x => Tokenization(body, x, "bert"),
            ["bert_ja"] = x => Tokenization(body, x, "bert_ja"),
            ["mpnet"] = x => Tokenization(body, x, "mpnet"),
            ["roberta"] = x => Tokenization(body, x, "roberta"),
            ["xlm_roberta"] = x => Tokenization(body, x, "xlm_roberta"),
            ["deberta_v2"] = x => Tokenization(body, x, "deberta_v2"),
        });

    private static ParsedTokenization Tokenization(JsonBody body, JsonItem v, string name)
    {
        bool? lowerCase = null, specialTokens = null, addPrefixSpace = null;
        int? maxLength = null, span = null;
        string? truncate = null;
        var parser = new ObjectParser(name + "_tokenization")
            .Declare("do_lower_case", Accepts.Boolean, x => lowerCase = Values.Boolean(x))
            .Declare("with_special_tokens", Accepts.Boolean, x => specialTokens = Values.Boolean(x))
            .Declare("max_sequence_length", Accepts.Int, x => maxLength = Values.Int(x))
            .Declare("truncate", Accepts.String, x => truncate = Values.String(x))
            .Declare("span", Accepts.Int, x => span = Values.Int(x));
        if (name == "roberta") parser.Declare("add_prefix_space", Accepts.Boolean, x => addPrefixSpace = Values.Boolean(x));
        parser.Parse(body, v);

        if (truncate is not null) truncate = JavaEnum(truncate, "Tokenization.Truncate", false, "first", "second", "none", "balanced");
        if (maxLength <= 0) throw EsErrors.IllegalArgument("[max_sequence_length] must be positive");
        var length = maxLength ?? ParsedTokenization.DefaultMaxSequenceLength;
        var windowSpan = span ?? ParsedTokenization.UnsetSpan;
        var truncation = truncate ?? "first";
        if (windowSpan < 0 && windowSpan != ParsedTokenization.UnsetSpan)
            throw EsErrors.IllegalArgument("[span] must be non-negative to indicate span length or [-1] to indicate no windowing should occur");
        if (windowSpan > length)
            throw EsErrors.IllegalArgument($"[span] provided [{windowSpan}] must not be greater than [max_sequence_length] provided [{length}]");
        if (windowSpan != ParsedTokenization.UnsetSpan && truncation != "none")
            throw EsErrors.IllegalArgument($"[span] must not be provided when [truncate] is [{truncation}]");
        if (lowerCase == true && name is "roberta" or "xlm_roberta")
            throw EsErrors.IllegalArgument($"unable to set [do_lower_case] to [true] for {(name == "roberta" ? "roberta" : "XLMRoberta")} tokenizer");

        return new ParsedTokenization(name, lowerCase ?? false, specialTokens ?? true, length, truncation, windowSpan,
            name == "roberta" ? addPrefixSpace ?? false : null);
    }

    /// <summary>Java's <c>Enum.valueOf(value.toUpperCase())</c>, with its message when the value is not a constant.</summary>
    private static string JavaEnum(string value, string enumName, bool trim, params string[] allowed)
    {
        var upper = (trim ? value.Trim() : value).ToUpperInvariant();
        var match = allowed.FirstOrDefault(a => a.ToUpperInvariant() == upper);
        return match ?? throw EsErrors.IllegalArgument($"No enum constant {EnumPackage}.{enumName}.{upper}");
    }

    private static JsonArray StringArray(IEnumerable<string> items) => new(items.Select(i => (JsonNode?)i).ToArray());
}

/// <summary>ES's TargetType names for tree models.</summary>
public static class TargetTypes
{
    public const string Regression = "regression";
    public const string Classification = "classification";
}
