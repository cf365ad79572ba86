using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Models;

/// <summary>What already exists in the shared id namespace, as the PUT checks need it.</summary>
public sealed record ExistingModels
{
    public IReadOnlySet<string> ModelIds { get; init; } = new HashSet<string>();
    public IReadOnlySet<string> ModelAliases { get; init; } = new HashSet<string>();
    public IReadOnlySet<string> DeploymentIds { get; init; } = new HashSet<string>();

    /// <summary>Every tag of every existing model.</summary>
    public IReadOnlySet<string> Tags { get; init; } = new HashSet<string>();
}

/// <summary>A new model's configuration and, when given inline, its definition.</summary>
public sealed record TrainedModelCreated(TrainedModelConfig Config, TreeEnsembleDefinition? Definition);

/// <summary>
/// The master-node part of <c>PUT _ml/trained_models/&lt;id&gt;</c> (ml/action/TransportPutTrainedModelAction.java),
/// minus licences, packaged models and upgrades: definition checks, the values ES sets on every
/// new model, and the id namespace checks, each with ES's text and in ES's order.
/// </summary>
public static class TrainedModelCreation
{
    /// <summary>
    /// Turns a parsed request into the configuration to store. Throws, in ES's order:
    /// a compressed definition that cannot be read → 400 "Failed to parse definition for [id]";
    /// TrainedModel.validate() failures → 400 "Definition for [id] has validation failures." (caused by the rule);
    /// model_type ≠ the definition's type; an inference config that cannot serve the definition's target type.
    /// </summary>
    public static TrainedModelCreated Create(PutTrainedModelSettings request, DateTimeOffset now, Limits.ServiceLimits? limits = null)
    {
        var id = request.ModelId;
        var definition = request.Definition;
        if (definition is null && request.CompressedDefinition is { } compressed && !request.DeferDefinitionDecompression)
        {
            try
            {
                definition = TreeEnsembleDefinition.ParseCompressed(compressed,
                    (limits?.Options ?? new Limits.ServiceLimitsOptions()).MaxInflatedDefinitionLength);
            }
            catch (ElasticsearchException e) when (e.Type == "status_exception")
            {
                throw new ElasticsearchExceptionWithCause(400, "status_exception", $"Failed to parse definition for [{id}]", e);
            }
        }

        var modelType = request.ModelType;
        if (definition is not null)
        {
            // The size limits first: they are cheap, and what they refuse must not be validated or compiled.
            limits?.CheckTreeModel(id, definition.TrainedModel);
            try
            {
                definition.Validate();
            }
            catch (ElasticsearchException e)
            {
                throw new ElasticsearchExceptionWithCause(400, "status_exception", $"Definition for [{id}] has validation failures.", e);
            }
            if (modelType is null) modelType = TrainedModelType.TreeEnsemble;
            else if (modelType != TrainedModelType.TreeEnsemble)
                throw EsErrors.BadRequest($"model_type [{modelType}] does not match the model definition type [{TrainedModelType.TreeEnsemble}]");
            if (!request.InferenceConfig.SupportsTargetType(definition.TargetType))
                throw EsErrors.BadRequest(
                    $"Model [{id}] inference config type [{request.InferenceConfig.TaskType}] does not support definition target type [{definition.TargetType}]");
        }

        // A compressed definition kept compressed (defer_definition_decompression) can only be a tree ensemble.
        modelType ??= TrainedModelType.TreeEnsemble;
        CheckConfigFitsModelType(id, modelType, request.InferenceConfig);

        var config = new TrainedModelConfig
        {
            ModelId = id,
            ModelType = modelType,
            CreatedBy = TrainedModelDefaults.CreatedBy,
            Version = TrainedModelDefaults.Version,
            CreateTime = now.ToUnixTimeMilliseconds(),
            LicenseLevel = TrainedModelDefaults.LicenseLevel,
            ModelSizeBytes = definition?.EstimatedSizeBytes ?? request.ModelSizeBytes,
            EstimatedOperations = definition?.EstimatedOperations ?? request.EstimatedOperations,
            Description = request.Description,
            Tags = request.Tags,
            Metadata = request.Metadata,
            Input = request.Input,
            DefaultFieldMap = request.DefaultFieldMap,
            InferenceConfig = request.InferenceConfig.ToJson(),
            TaskType = request.InferenceConfig.TaskType,
            // ES gives a location only to models whose definition comes later, in parts.
            Location = request.HasInlineDefinition ? null : DefaultLocation(modelType),
            FullyDefined = request.HasInlineDefinition,
            PlatformArchitecture = request.PlatformArchitecture,
            PrefixStrings = request.PrefixStrings,
        };
        return new TrainedModelCreated(config, definition);
    }

    /// <summary>TrainedModelType.getDefaultLocation: the native store for the deployable type, the inference index otherwise.</summary>
    public static TrainedModelLocation DefaultLocation(string modelType) => new()
    {
        Index = new TrainedModelIndexLocation
        {
            Name = modelType == TrainedModelType.Onnx ? TrainedModelDefaults.NativeDefinitionIndex : TrainedModelDefaults.InferenceIndex,
        },
    };

    /// <summary>
    /// Ours, not ES's: an ONNX model must carry an NLP config and a tree ensemble a regression or
    /// classification config, since nothing else can serve them here. (ES checks only the tree's
    /// target type, and only when the definition is inline.)
    /// </summary>
    private static void CheckConfigFitsModelType(string id, string modelType, ParsedInferenceConfig config)
    {
        var allowed = modelType == TrainedModelType.Onnx ? InferenceTaskType.Nlp : InferenceTaskType.Tree;
        if (!allowed.Contains(config.TaskType))
            throw EsErrors.BadRequest(
                $"Model [{id}] of type [{modelType}] cannot use [inference_config] [{config.TaskType}]; it must be one of {EsErrors.JavaList(allowed)}");
    }

    /// <summary>
    /// The id checks against existing state, in ES's order: an alias with the id; a deployment with
    /// the id; the id used as a tag; a tag used as a model id; the model already existing
    /// (ResourceAlreadyExistsException, which ES answers with 400).
    /// </summary>
    public static void CheckIdentifiers(TrainedModelConfig config, ExistingModels existing)
    {
        var id = config.ModelId;
        if (existing.ModelAliases.Contains(id))
            throw EsErrors.BadRequest($"requested model_id [{id}] is the same as an existing model_alias. Model model_aliases and ids must be unique");
        if (existing.DeploymentIds.Contains(id))
            throw EsErrors.BadRequest($"Cannot create model [{id}] the id is the same as an current model deployment");
        if (existing.Tags.Contains(id))
            throw EsErrors.BadRequest($"The provided model_id {id} must not match existing tags.");
        if (config.Tags.Any(existing.ModelIds.Contains))
            throw EsErrors.BadRequest($"The provided tags {EsErrors.JavaList(config.Tags)} must not match existing model_ids.");
        if (existing.ModelIds.Contains(id))
            throw AlreadyExists(id);
    }

    /// <summary>Messages.INFERENCE_TRAINED_MODEL_EXISTS, for a store that finds the id taken on insert.</summary>
    public static ElasticsearchException AlreadyExists(string modelId) =>
        EsErrors.AlreadyExists($"Trained machine learning model [{modelId}] already exists");

    /// <summary>Messages.INFERENCE_NOT_FOUND (404), for a single model id that does not exist.</summary>
    public static ElasticsearchException NotFound(string modelId) =>
        EsErrors.NotFound($"Could not find trained model [{modelId}]");
}
