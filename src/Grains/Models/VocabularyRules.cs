using System.Text;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Models;

/// <summary>
/// <c>PUT _ml/trained_models/&lt;id&gt;/vocabulary</c>: PutTrainedModelVocabularyAction.Request's parser and
/// validate(), and TransportPutTrainedModelVocabularyAction's model checks (NLP only; the
/// tokenizer's own requirements from RobertaTokenization / XLMRobertaTokenization.validateVocabulary).
/// </summary>
public static class VocabularyRules
{
    public const string ParserName = "put_trained_model_vocabulary";

    public static VocabularyUpload Parse(string modelId, string body) => Parse(modelId, Encoding.UTF8.GetBytes(body));

    /// <summary>
    /// Throws: body errors → 400 <c>x_content_parse_exception</c>; no vocabulary → 400 "[vocabulary] must not be null.";
    /// then 400 <c>action_request_validation_exception</c>: "[vocabulary] must not be empty" or
    /// "[scores] must have same length as [vocabulary]".
    /// </summary>
    public static VocabularyUpload Parse(string modelId, ReadOnlySpan<byte> body)
    {
        var json = JsonBody.Parse(body);
        List<string>? vocabulary = null, merges = null;
        List<double>? scores = null;
        new ObjectParser(ParserName)
            .Declare("vocabulary", Accepts.StringArray, v => vocabulary = Values.StringList(v))
            .Declare("merges", Accepts.StringArray, v => merges = Values.StringList(v))
            .Declare("scores", Accepts.DoubleArray, v => scores = Values.DoubleList(v))
            .Parse(json, json.Root);
        if (vocabulary is null) throw EsErrors.IllegalArgument("[vocabulary] must not be null.");
        return Validate(new VocabularyUpload { ModelId = modelId, Vocabulary = vocabulary, Merges = merges ?? [], Scores = scores ?? [] });
    }

    /// <summary>Request.validate(): 400 <c>action_request_validation_exception</c>; the upload as given otherwise.</summary>
    public static VocabularyUpload Validate(VocabularyUpload upload)
    {
        if (upload.Vocabulary is null) throw EsErrors.IllegalArgument("[vocabulary] must not be null.");
        if (upload.Vocabulary.Count == 0) throw EsErrors.Validation("[vocabulary] must not be empty");
        if (upload.Scores.Count > 0 && upload.Scores.Count != upload.Vocabulary.Count) throw EsErrors.Validation("[scores] must have same length as [vocabulary]");
        return upload;
    }

    /// <summary>
    /// The stored model must be an NLP model, and its tokenizer may need merges (roberta) or
    /// scores (xlm_roberta; deberta_v2 too, our reading of the [new] tokenizer). 400 <c>status_exception</c> otherwise.
    /// </summary>
    public static void CheckModelAcceptsVocabulary(TrainedModelConfig config, VocabularyUpload upload)
    {
        if (!InferenceTaskType.IsNlp(config.TaskType))
            throw EsErrors.BadRequest($"cannot put vocabulary for model [{upload.ModelId}] as it is not an NLP model");

        var tokenizer = TokenizerOf(config);
        var (needed, present) = tokenizer switch
        {
            "roberta" => ("merges", upload.Merges.Count > 0),
            "xlm_roberta" or "deberta_v2" => ("scores", upload.Scores.Count > 0),
            _ => ((string?)null, true),
        };
        if (!present)
            throw EsErrors.BadRequest(
                $"cannot put vocabulary for model [{upload.ModelId}] as tokenizer type [{tokenizer}] requires [{needed}] to be provided and non-empty");
    }

    /// <summary>A second vocabulary for the same model (ES indexes it with op_type create). Text from memory of Messages.INFERENCE_TRAINED_MODEL_VOCAB_EXISTS.</summary>
    public static ElasticsearchException AlreadyExists(string modelId) =>
        EsErrors.AlreadyExists($"Trained machine learning model [{modelId}] vocabulary already exists");

    /// <summary>The tokenization name stored in <c>inference_config.&lt;task&gt;.tokenization</c>; <c>bert</c> when absent.</summary>
    public static string TokenizerOf(TrainedModelConfig config)
    {
        var settings = config.InferenceConfig[config.TaskType] as JsonObject;
        var tokenization = settings?["tokenization"] as JsonObject;
        return tokenization?.Select(p => p.Key).FirstOrDefault() ?? "bert";
    }
}
