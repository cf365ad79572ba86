using Orleans;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace TrainedModelsOrleans.Grains.Models;

/// <summary>
/// A stored trained model's configuration, in Elasticsearch's field names
/// (x-pack/plugin/core/.../ml/inference/TrainedModelConfig.java). Stored as JSON and returned by
/// GET _ml/trained_models; <c>task_type</c>, <c>fully_defined</c> and <c>onnx</c> are ours.
/// Built by PutTrainedModelSettings / TrainedModelCreation, never by hand from user input.
/// </summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.TrainedModelConfig")]
public sealed record TrainedModelConfig
{
    [JsonPropertyName("model_id")]
    public required string ModelId { get; init; }

    /// <summary><c>onnx</c> or <c>tree_ensemble</c> (see <see cref="TrainedModelType"/>).</summary>
    [JsonPropertyName("model_type")]
    public required string ModelType { get; init; }

    [JsonPropertyName("created_by")]
    public string CreatedBy { get; init; } = TrainedModelDefaults.CreatedBy;

    [JsonPropertyName("version")]
    public string Version { get; init; } = TrainedModelDefaults.Version;

    /// <summary>Epoch milliseconds.</summary>
    [JsonPropertyName("create_time")]
    public long CreateTime { get; init; }

    [JsonPropertyName("model_size_bytes")]
    public long ModelSizeBytes { get; init; }

    [JsonPropertyName("estimated_operations")]
    public long EstimatedOperations { get; init; }

    [JsonPropertyName("license_level")]
    public string LicenseLevel { get; init; } = TrainedModelDefaults.LicenseLevel;

    [JsonPropertyName("description")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Description { get; init; }

    [JsonPropertyName("tags")]
    public IReadOnlyList<string> Tags { get; init; } = [];

    [JsonPropertyName("metadata")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonObject? Metadata { get; init; }

    [JsonPropertyName("input")]
    public required TrainedModelInput Input { get; init; }

    [JsonPropertyName("default_field_map")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? DefaultFieldMap { get; init; }

    /// <summary>
    /// The inference config as Elasticsearch renders it: one key, the task name, holding the
    /// config with every default filled in, e.g. <c>{"pass_through":{"vocabulary":{…},"tokenization":{"bert":{…}}}}</c>.
    /// </summary>
    [JsonPropertyName("inference_config")]
    public required JsonObject InferenceConfig { get; init; }

    /// <summary>Ours: the inference config's name (<c>pass_through</c>, <c>regression</c>, …), see <see cref="InferenceTaskType"/>.</summary>
    [JsonPropertyName("task_type")]
    public required string TaskType { get; init; }

    /// <summary>Where the definition parts live; null when the definition was given inline (tree ensembles).</summary>
    [JsonPropertyName("location")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public TrainedModelLocation? Location { get; init; }

    /// <summary>True once the whole definition is stored (ES renders it only with include=definition_status).</summary>
    [JsonPropertyName("fully_defined")]
    public bool FullyDefined { get; init; }

    [JsonPropertyName("platform_architecture")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? PlatformArchitecture { get; init; }

    [JsonPropertyName("prefix_strings")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public PrefixStrings? PrefixStrings { get; init; }

    /// <summary>Ours: the ONNX graph's inputs and outputs, filled in by the grain once ONNX Runtime has opened the model.</summary>
    [JsonPropertyName("onnx")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public OnnxModelSignature? Onnx { get; init; }
}

[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.TrainedModelInput")]
public sealed record TrainedModelInput
{
    [JsonPropertyName("field_names")]
    public required IReadOnlyList<string> FieldNames { get; init; }
}

/// <summary>ES's <c>{"index":{"name":"…"}}</c> location.</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.TrainedModelLocation")]
public sealed record TrainedModelLocation
{
    [JsonPropertyName("index")]
    public required TrainedModelIndexLocation Index { get; init; }
}

[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.TrainedModelIndexLocation")]
public sealed record TrainedModelIndexLocation
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }
}

/// <summary>Strings prepended to the input at ingest or search time ([new] in ES, kept for shape).</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.PrefixStrings")]
public sealed record PrefixStrings
{
    [JsonPropertyName("ingest")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Ingest { get; init; }

    [JsonPropertyName("search")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Search { get; init; }
}

[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.OnnxModelSignature")]
public sealed record OnnxModelSignature
{
    [JsonPropertyName("inputs")]
    public IReadOnlyList<OnnxTensorInfo> Inputs { get; init; } = [];

    [JsonPropertyName("outputs")]
    public IReadOnlyList<OnnxTensorInfo> Outputs { get; init; } = [];
}

[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.OnnxTensorInfo")]
public sealed record OnnxTensorInfo
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>ONNX element type name, e.g. <c>float</c>, <c>int64</c>.</summary>
    [JsonPropertyName("element_type")]
    public required string ElementType { get; init; }

    /// <summary>Dimensions; -1 for a symbolic (dynamic) dimension.</summary>
    [JsonPropertyName("shape")]
    public IReadOnlyList<long> Shape { get; init; } = [];
}

/// <summary>The model types this service stores. ES's <c>pytorch</c> is <c>onnx</c> here; <c>lang_ident</c> does not exist.</summary>
public static class TrainedModelType
{
    public const string Onnx = "onnx";
    public const string TreeEnsemble = "tree_ensemble";
}

/// <summary>Inference config names, as Elasticsearch names them.</summary>
public static class InferenceTaskType
{
    public const string Regression = "regression";
    public const string Classification = "classification";
    public const string PassThrough = "pass_through";
    public const string TextEmbedding = "text_embedding";
    public const string TextClassification = "text_classification";
    public const string Ner = "ner";
    public const string FillMask = "fill_mask";
    public const string ZeroShotClassification = "zero_shot_classification";
    public const string QuestionAnswering = "question_answering";
    public const string TextSimilarity = "text_similarity";
    public const string TextExpansion = "text_expansion";

    /// <summary>The configs of models evaluated in process (tree ensembles).</summary>
    public static readonly IReadOnlyList<string> Tree = [Regression, Classification];

    /// <summary>The configs of NLP (ONNX) models.</summary>
    public static readonly IReadOnlyList<string> Nlp =
    [
        PassThrough, TextEmbedding, TextClassification, Ner, FillMask, ZeroShotClassification,
        QuestionAnswering, TextSimilarity, TextExpansion,
    ];

    public static bool IsNlp(string taskType) => Nlp.Contains(taskType);
}

/// <summary>Values the service sets on every new model (TransportPutTrainedModelAction).</summary>
public static class TrainedModelDefaults
{
    public const string CreatedBy = "api_user";
    public const string LicenseLevel = "platinum";

    /// <summary>The config version stamped on new models; the ES release whose behaviour we follow.</summary>
    public const string Version = "8.9.0";

    /// <summary>ES's native definition store (InferenceIndexConstants.nativeDefinitionStore()); parts and vocabulary of ONNX models.</summary>
    public const string NativeDefinitionIndex = ".ml-inference-native-000002";

    /// <summary>ES's latest inference index; parts of tree models uploaded without an inline definition.</summary>
    public const string InferenceIndex = ".ml-inference-000005";
}
