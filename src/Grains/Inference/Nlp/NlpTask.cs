using System.Text.Json;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Models.Parsing;
using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>
/// An NLP model's inference logic, as ES's NlpTask and its processors: which field of a document
/// to read, how to tokenize it, and how to turn the model's output into each document's result.
/// Pure and thread-safe. Build once per deployment with <see cref="For(TrainedModelConfig, VocabularyUpload, JsonObject?)"/>
/// (the tokenizer is the costly part) and derive per-request variants with <see cref="WithUpdate"/>.
/// <code>
/// var task = NlpTask.For(config, vocabulary).WithUpdate(request.InferenceConfig);
/// var batch = task.Prepare(docs.Select(task.ReadInput).ToList());
/// var outputs = session.Run(batch.BuildInputs(modelInputs));
/// JsonObject[] results = batch.ToResults(outputs);
/// </code>
/// Every user error is an <see cref="Errors.ElasticsearchException"/> with ES's text.
/// </summary>
public sealed class NlpTask
{
    private readonly INlpResultProcessor processor;

    private NlpTask(string modelId, string inputField, NlpTokenizer tokenizer, NlpSettings settings)
    {
        ModelId = modelId;
        InputField = inputField;
        Tokenizer = tokenizer;
        Settings = settings;
        processor = settings.TaskType switch
        {
            InferenceTaskType.PassThrough => new PassThroughProcessor(settings.ResultsField),
            InferenceTaskType.TextEmbedding => new TextEmbeddingProcessor(settings.ResultsField),
            InferenceTaskType.TextClassification => new TextClassificationProcessor(settings.ClassificationLabels, settings.NumTopClasses, settings.ResultsField),
            InferenceTaskType.Ner => new NerProcessor(settings.ClassificationLabels, settings.ResultsField, settings.Tokenization.DoLowerCase),
            InferenceTaskType.FillMask => new FillMaskProcessor(tokenizer, settings.NumTopClasses, settings.ResultsField),
            InferenceTaskType.QuestionAnswering => new QuestionAnsweringProcessor(settings.Question, settings.MaxAnswerLength, settings.NumTopClasses, settings.ResultsField),
            InferenceTaskType.TextExpansion => new TextExpansionProcessor(tokenizer.Vocabulary, settings.ResultsField),
            InferenceTaskType.TextSimilarity => new TextSimilarityProcessor(settings.Text, settings.SpanScoreFunction, settings.ResultsField),
            InferenceTaskType.ZeroShotClassification => new ZeroShotClassificationProcessor(
                settings.ClassificationLabels, settings.Labels, settings.HypothesisTemplate, settings.MultiLabel, settings.ResultsField),
            _ => throw new InvalidOperationException($"No processor for task [{settings.TaskType}]."),
        };
    }

    public string ModelId { get; }

    public string TaskType => Settings.TaskType;

    /// <summary>The document field holding the text: the model's <c>input.field_names[0]</c>.</summary>
    public string InputField { get; }

    public NlpSettings Settings { get; }

    public NlpTokenizer Tokenizer { get; }

    /// <summary>
    /// The task for a stored model and its vocabulary, with an optional <c>inference_config</c> update.
    /// Throws 400 for tasks or tokenizations this service does not run, 409 when the vocabulary
    /// lacks its unknown or pad token (or class/separator with special tokens), and the update's errors.
    /// </summary>
    public static NlpTask For(TrainedModelConfig config, VocabularyUpload vocabulary, JsonObject? inferenceConfigUpdate = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(vocabulary);
        var settings = NlpSettings.FromConfig(config);
        var inputField = config.Input.FieldNames.FirstOrDefault()
            ?? throw EsErrors.BadRequest($"Trained model [{config.ModelId}] has no input field names");
        var tokenization = settings.Tokenization;
        var options = new BertTokenizerOptions
        {
            DoLowerCase = tokenization.DoLowerCase,
            WithSpecialTokens = tokenization.WithSpecialTokens,
            MaxSequenceLength = tokenization.MaxSequenceLength,
            Truncate = settings.Truncate,
            Span = tokenization.Span,
            AddPrefixSpace = tokenization.AddPrefixSpace ?? false,
        };
        var tokenizer = NlpErrors.Translate(() => NlpTokenizer.Create(tokenization.Name, vocabulary.Vocabulary, vocabulary.Merges, vocabulary.Scores, options));
        return new NlpTask(config.ModelId, inputField, tokenizer, settings).WithUpdate(inferenceConfigUpdate);
    }

    /// <summary>This task with a request's <c>inference_config</c> applied (the tokenizer is shared).</summary>
    public NlpTask WithUpdate(JsonObject? inferenceConfigUpdate)
    {
        if (inferenceConfigUpdate is null || inferenceConfigUpdate.Count == 0) return this;
        return new NlpTask(ModelId, InputField, Tokenizer, NlpConfigUpdate.Apply(ModelId, Settings, inferenceConfigUpdate));
    }

    /// <summary>
    /// The text of a document (NlpInferenceInput.extractInput): the input field, a dotted path
    /// reaching into objects. 400 when missing or not a string.
    /// </summary>
    public string ReadInput(JsonObject document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var value = Extract(InputField.Split('.'), 0, document);
        return value switch
        {
            null => throw EsErrors.BadRequest($"Input field [{InputField}] does not exist in the source document"),
            JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
            _ => throw EsErrors.BadRequest($"Input value [{JavaString(value)}] for field [{InputField}] must be a string"),
        };
    }

    /// <summary>Checks and tokenizes the texts of a batch of documents (400 when one is too long and may not be truncated).</summary>
    public NlpBatch Prepare(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        processor.ValidateInputs(texts);
        var tokens = NlpErrors.Translate(() => processor.Tokenize(Tokenizer, texts, Settings.Truncate, Settings.Tokenization.Span));
        return new NlpBatch(texts, tokens, processor);
    }

    // XContentMapValues.extractValue: each path element may also be a dotted key; arrays collect their elements' values.
    private static object? Extract(string[] path, int index, JsonNode? current)
    {
        if (current is JsonArray array)
        {
            var values = new List<object?>();
            foreach (var item in array)
            {
                var value = Extract(path, index, item);
                if (value is not null) values.Add(value);
            }
            return values;
        }
        if (index == path.Length) return current;
        if (current is not JsonObject map) return null;

        var key = path[index];
        var next = index + 1;
        var found = new List<object?>();
        while (true)
        {
            if (map.TryGetPropertyValue(key, out var child))
            {
                var value = child is null ? null : Extract(path, next, child);
                if (child is null || value is not null) found.Add(value);
            }
            if (next == path.Length) return found.Count switch { 0 => null, 1 => found[0], _ => found };
            key += "." + path[next];
            next++;
        }
    }

    // Java's toString of the value ES parsed: maps as {k=v}, lists as [a, b].
    private static string JavaString(object? value) => value switch
    {
        null => "null",
        JsonObject o => "{" + string.Join(", ", o.Select(p => p.Key + "=" + JavaString(p.Value))) + "}",
        JsonArray a => "[" + string.Join(", ", a.Select(JavaString)) + "]",
        List<object?> l => "[" + string.Join(", ", l.Select(JavaString)) + "]",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.Number => JavaNumber(v.ToJsonString()),
            _ => v.ToJsonString(),
        },
        _ => value.ToString() ?? "null",
    };

    private static string JavaNumber(string json) =>
        json.IndexOfAny(['.', 'e', 'E']) >= 0 && double.TryParse(json, System.Globalization.CultureInfo.InvariantCulture, out var d)
            ? EsErrors.JavaDouble(d)
            : json;
}
