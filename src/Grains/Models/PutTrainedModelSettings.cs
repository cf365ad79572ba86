using System.Text;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Models;

/// <summary>
/// <c>PUT _ml/trained_models/&lt;model_id&gt;</c>: the body parsed and validated as ES's REST layer
/// does (PutTrainedModelAction.Request.parseRequest / validate and TrainedModelConfig's strict
/// parser, Builder.validate(true) and constructor), in ES's order and with ES's texts.
/// Checks that need the definition or the cluster's state come next, in <see cref="TrainedModelCreation"/>.
/// </summary>
public sealed class PutTrainedModelSettings
{
    public const string ParserName = "trained_model_config";

    public required string ModelId { get; init; }

    /// <summary><c>onnx</c>, <c>tree_ensemble</c>, or null when not given (then taken from the definition).</summary>
    public string? ModelType { get; init; }

    public string? Description { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    public JsonObject? Metadata { get; init; }

    /// <summary>As given, or ONNX's default <c>{"field_names":["input"]}</c>.</summary>
    public required TrainedModelInput Input { get; init; }

    public long ModelSizeBytes { get; init; }
    public long EstimatedOperations { get; init; }
    public IReadOnlyDictionary<string, string>? DefaultFieldMap { get; init; }
    public required ParsedInferenceConfig InferenceConfig { get; init; }
    public string? PlatformArchitecture { get; init; }
    public PrefixStrings? PrefixStrings { get; init; }

    /// <summary>The inline <c>definition</c>, parsed (tree ensembles).</summary>
    public TreeEnsembleDefinition? Definition { get; init; }

    /// <summary>The inline <c>definition</c> object exactly as given, to store and return with include=definition.</summary>
    public JsonObject? DefinitionJson { get; init; }

    /// <summary>The decoded <c>compressed_definition</c> (gzip of the definition JSON), when given.</summary>
    public byte[]? CompressedDefinition { get; init; }

    public bool DeferDefinitionDecompression { get; init; }
    public bool WaitForCompletion { get; init; }

    /// <summary>Deprecation warnings for the response's <c>Warning</c> header.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>True when any definition was given in the body (inline or compressed).</summary>
    public bool HasInlineDefinition => Definition is not null || CompressedDefinition is not null;

    public static PutTrainedModelSettings Parse(string modelIdFromPath, string body, bool deferDefinitionDecompression = false, bool waitForCompletion = false) =>
        Parse(modelIdFromPath, Encoding.UTF8.GetBytes(body), deferDefinitionDecompression, waitForCompletion);

    /// <summary>
    /// Parses and validates the body. Throws ES's errors: <c>x_content_parse_exception</c> for
    /// malformed JSON, unknown fields and values of the wrong kind; <c>illegal_argument_exception</c>
    /// for an inconsistent model_id and constructor rules; <c>action_request_validation_exception</c>
    /// ("Validation Failed: 1: …;") for Builder.validate(true) and Request.validate().
    /// </summary>
    public static PutTrainedModelSettings Parse(string modelIdFromPath, ReadOnlySpan<byte> body, bool deferDefinitionDecompression = false, bool waitForCompletion = false)
    {
        var json = JsonBody.Parse(body);
        var fields = new Fields();
        BuildParser(json, fields).Parse(json, json.Root);

        // PutTrainedModelAction.Request.parseRequest: without a model_id in the body, ES builds the
        // config (running the constructor's checks) before validating; with one, it validates first.
        var modelIdInBody = fields.ModelId is not null;
        if (!modelIdInBody)
        {
            fields.ModelId = modelIdFromPath;
            ConstructorChecks(fields);
        }
        else if (!string.IsNullOrEmpty(modelIdFromPath) && modelIdFromPath != fields.ModelId)
        {
            throw EsErrors.IllegalArgument(
                $"Inconsistent model_id; '{fields.ModelId}' specified in the body differs from '{modelIdFromPath}' specified as a URL argument");
        }

        Validate(fields);
        if (modelIdInBody) ConstructorChecks(fields);

        if (deferDefinitionDecompression && (fields.ModelSize ?? 0) == 0 && fields.Compressed is not null)
            throw EsErrors.Validation("when [defer_definition_decompression] is true and a compressed definition is provided, model_size_bytes must be set");

        return new PutTrainedModelSettings
        {
            ModelId = fields.ModelId!,
            ModelType = fields.ModelType,
            Description = fields.Description,
            Tags = fields.Tags,
            Metadata = fields.Metadata,
            Input = DefaultInput(fields)!,
            ModelSizeBytes = fields.ModelSize ?? 0,
            EstimatedOperations = fields.EstimatedOperations ?? 0,
            DefaultFieldMap = fields.DefaultFieldMap,
            InferenceConfig = fields.InferenceConfig!,
            PlatformArchitecture = fields.PlatformArchitecture,
            PrefixStrings = fields.PrefixStrings,
            Definition = fields.Definition,
            DefinitionJson = fields.DefinitionJson,
            CompressedDefinition = fields.Compressed,
            DeferDefinitionDecompression = deferDefinitionDecompression,
            WaitForCompletion = waitForCompletion,
            Warnings = fields.Warnings,
        };
    }

    /// <summary>What the strict parser collected; null means "not in the body".</summary>
    private sealed class Fields
    {
        public string? ModelId, ModelType, CreatedBy, Version, Description, LicenseLevel, PlatformArchitecture;
        public bool CreateTimeSet, LocationSet, ModelPackageSet;
        public List<string> Tags = [];
        public JsonObject? Metadata;
        public TrainedModelInput? Input;
        public long? ModelSize, EstimatedOperations;
        public Dictionary<string, string>? DefaultFieldMap;
        public ParsedInferenceConfig? InferenceConfig;
        public TreeEnsembleDefinition? Definition;
        public JsonObject? DefinitionJson;
        public byte[]? Compressed;
        public PrefixStrings? PrefixStrings;
        public List<string> Warnings = [];
        public bool HasDefinition => Definition is not null || Compressed is not null;
    }

    private static ObjectParser BuildParser(JsonBody json, Fields f) => new ObjectParser(ParserName)
        .Declare("model_id", Accepts.String, v => f.ModelId = Values.String(v))
        .Declare("model_type", Accepts.String, v => f.ModelType = ModelTypeOf(Values.String(v)))
        .Declare("created_by", Accepts.String, v => f.CreatedBy = Values.String(v))
        .Declare("version", Accepts.String, v => f.Version = Values.String(v))
        .Declare("description", Accepts.String, v => f.Description = Values.String(v))
        .Declare("create_time", Accepts.Value, _ => f.CreateTimeSet = true)
        .Declare("tags", Accepts.StringArray, v => f.Tags = Values.StringList(v))
        .Declare("metadata", Accepts.Object, v => f.Metadata = (JsonObject)v.ToNode()!)
        .Ignore("doc_type", Accepts.String)
        .Declare("input", Accepts.Object, v => f.Input = ParseInput(json, v))
        .Declare("model_size_bytes", Accepts.Long, v => f.ModelSize = Values.Long(v))
        .Declare("estimated_heap_memory_usage_bytes", Accepts.Long, v =>
        {
            f.ModelSize = Values.Long(v);
            f.Warnings.Add("Deprecated field [estimated_heap_memory_usage_bytes] used, expected [model_size_bytes] instead");
        })
        .Declare("estimated_operations", Accepts.Long, v => f.EstimatedOperations = Values.Long(v))
        .Declare("definition", Accepts.Object, v =>
        {
            var definition = TreeEnsembleDefinition.Parse(json, v);
            if (f.HasDefinition) throw EsErrors.IllegalArgument("both [compressed_definition] and [definition] cannot be set.");
            f.Definition = definition;
            f.DefinitionJson = (JsonObject)v.ToNode()!;
        })
        .Declare("compressed_definition", Accepts.String, v =>
        {
            if (f.HasDefinition) throw EsErrors.IllegalArgument("both [compressed_definition] and [definition] cannot be set.");
            f.Compressed = DecodeBase64(Values.String(v));
        })
        .Declare("license_level", Accepts.String, v => f.LicenseLevel = Values.String(v))
        .Declare("default_field_map", Accepts.Object, v => f.DefaultFieldMap = v.Members!.ToDictionary(m => m.Name, m => ScalarText(m.Value)))
        .Declare("inference_config", Accepts.Object, v => f.InferenceConfig = InferenceConfigParser.Parse(json, v))
        .Declare("location", Accepts.Object, _ => f.LocationSet = true)
        .Declare("model_package", Accepts.Object, _ => f.ModelPackageSet = true)
        .Declare("platform_architecture", Accepts.String, v => f.PlatformArchitecture = Values.String(v))
        .Declare("prefix_strings", Accepts.Object, v => f.PrefixStrings = ParsePrefixStrings(json, v));

    /// <summary>
    /// ES's TrainedModelType.fromString (trimmed, any case). Our deviation: the deployable type is
    /// <c>onnx</c>; ES's <c>pytorch</c> and <c>lang_ident</c>, and anything else, are refused with a
    /// 400 that names the field and the supported types.
    /// </summary>
    private static string ModelTypeOf(string value)
    {
        var type = value.Trim().ToLowerInvariant();
        if (type is TrainedModelType.Onnx or TrainedModelType.TreeEnsemble) return type;
        throw ObjectParser.NoWrap(EsErrors.IllegalArgument(
            $"[model_type] [{value}] is not supported; only [{TrainedModelType.Onnx}] and [{TrainedModelType.TreeEnsemble}] models are supported"));
    }

    private static TrainedModelInput ParseInput(JsonBody json, JsonItem v)
    {
        List<string>? names = null;
        new ObjectParser("trained_model_config_input")
            .Declare("field_names", Accepts.StringArray, x => names = Values.StringList(x))
            .Parse(json, v);
        if (names is null) throw ObjectParser.At(EsErrors.IllegalArgument("Required [field_names]"), v.End);
        return new TrainedModelInput { FieldNames = names };
    }

    private static PrefixStrings ParsePrefixStrings(JsonBody json, JsonItem v)
    {
        string? ingest = null, search = null;
        new ObjectParser("prefix_strings")
            .Declare("ingest", Accepts.String, x => ingest = Values.String(x))
            .Declare("search", Accepts.String, x => search = Values.String(x))
            .Parse(json, v);
        return new PrefixStrings { Ingest = ingest, Search = search };
    }

    private static string ScalarText(JsonItem v) =>
        v.IsScalar && v.Kind != JsonKind.Null ? v.ScalarText : throw EsErrors.IllegalArgument($"expected a string value but got [{v.TokenName}]");

    /// <summary>Java's Base64 decoder: strict alphabet, padding optional.</summary>
    internal static byte[] DecodeBase64(string text)
    {
        var s = text.TrimEnd('=');
        foreach (var c in s)
            if (!(c is >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '+' or '/'))
                throw EsErrors.IllegalArgument($"Illegal base64 character {(int)c:x}");
        if (s.Length % 4 == 1) throw EsErrors.IllegalArgument("Last unit does not have enough valid bits");
        var padded = s + new string('=', (4 - s.Length % 4) % 4);
        return Convert.FromBase64String(padded);
    }

    /// <summary>TrainedModelConfig.handleDefaultInput: only the deployable type has a default input.</summary>
    private static TrainedModelInput? DefaultInput(Fields f) =>
        f.Input ?? (f.ModelType == TrainedModelType.Onnx ? new TrainedModelInput { FieldNames = ["input"] } : null);

    /// <summary>The TrainedModelConfig constructor's checks (IllegalArgumentException in ES).</summary>
    private static void ConstructorChecks(Fields f)
    {
        if (DefaultInput(f) is null) throw EsErrors.IllegalArgument("[input] must not be null.");
        if (f.ModelSize < 0) throw EsErrors.IllegalArgument("[model_size_bytes] must be greater than or equal to 0");
        if (f.EstimatedOperations < 0) throw EsErrors.IllegalArgument("[estimated_operations] must be greater than or equal to 0");
    }

    /// <summary>TrainedModelConfig.Builder.validate(forCreation: true), in its order.</summary>
    private static void Validate(Fields f)
    {
        var errors = new List<string>();
        var id = f.ModelId;
        if (id is null) errors.Add("[model_id] must not be null.");
        if (f.HasDefinition && f.LocationSet)
            errors.Add("[definition] and [location] are both defined but only one can be used.");
        if (!f.HasDefinition && f.ModelType is null)
            errors.Add("[model_type] must be set if [definition] is not defined.");
        if (f.InferenceConfig is null) errors.Add("[inference_config] must not be null.");
        if (id is not null) errors.AddRange(ModelIdRules.Errors(id));

        var badTags = f.Tags.Where(t => !(ModelIdRules.IsValidId(t) && ModelIdRules.HasValidLength(t))).ToList();
        if (badTags.Count > 0)
            errors.Add($"Invalid tags {EsErrors.JavaList(badTags)}; must only can contain lowercase alphanumeric (a-z and 0-9), hyphens or underscores, must start and end with alphanumeric, and must be less than {ModelIdRules.IdLengthLimit} characters.");
        if (id is not null && f.Tags.Contains(id)) errors.Add("none of the tags must equal the model_id");

        var input = DefaultInput(f);
        if (input is not null && input.FieldNames.Count == 0) errors.Add("[input.field_names] must not be empty");
        if (input is not null && input.FieldNames.Where(n => n.Contains('.')).SelectMany(n => n.Split('.')).Any(p => p.Length == 0))
            errors.Add("[input.field_names] must only contain valid dot delimited field names");

        void Illegal(bool set, string field)
        {
            if (set) errors.Add($"illegal to set [{field}] at inference model creation");
        }
        Illegal(f.Version is not null, "version");
        Illegal(f.CreatedBy is not null, "created_by");
        Illegal(f.CreateTimeSet, "create_time");
        Illegal(f.LicenseLevel is not null, "license_level");
        Illegal(f.LocationSet, "location");
        if (f.Metadata is not null)
        {
            Illegal(f.Metadata["total_feature_importance"] is not null, "metadata.total_feature_importance");
            Illegal(f.Metadata["model_aliases"] is not null, "metadata.model_aliases");
        }
        Illegal(f.ModelPackageSet, "model_package");

        if (errors.Count > 0) throw EsErrors.Validation([.. errors]);
    }
}
