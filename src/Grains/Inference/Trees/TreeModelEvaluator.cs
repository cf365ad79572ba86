using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Inference.Trees;

/// <summary>
/// Evaluates a tree or tree-ensemble model (regression or classification) on documents and answers
/// with ES's per-document inference result, e.g. <c>{"predicted_value":1.0}</c>. Pure and
/// thread-safe: create once per model, call <see cref="Infer"/> from any thread.
/// </summary>
/// <remarks>
/// Follows ES's LocalModel → InferenceDefinition → Tree/EnsembleInferenceModel path. Feature
/// importance is not computed: <c>num_top_feature_importance_values</c> is accepted but results
/// carry no <c>feature_importance</c>.
/// </remarks>
public sealed class TreeModelEvaluator
{
    private readonly string modelId;
    private readonly TreeInferenceSettings settings;
    private readonly DocumentFeatures documentFeatures;
    private readonly string targetType;
    private readonly IReadOnlyList<string>? classificationLabels;
    private readonly double[]? classificationWeights;
    private readonly TreeForest forest;
    private readonly int treeRoot, treeDepth;
    private readonly CompiledEnsemble? ensemble;
    private readonly double highOrderCategory;
    private CachedUpdate? lastUpdate;

    private TreeModelEvaluator(
        string modelId, TreeInferenceSettings settings, DocumentFeatures documentFeatures, TrainedModelNode model,
        TreeForest forest, (int Root, int Depth) topTree, CompiledEnsemble? ensemble)
    {
        this.modelId = modelId;
        this.settings = settings;
        this.documentFeatures = documentFeatures;
        targetType = model.TargetType;
        classificationLabels = model.ClassificationLabels;
        classificationWeights = (model as EnsembleModel)?.ClassificationWeights?.ToArray();
        this.forest = forest;
        (treeRoot, treeDepth) = topTree;
        this.ensemble = ensemble;
        highOrderCategory = model is DecisionTree decisionTree ? HighOrderCategory(decisionTree) : double.NaN;
    }

    /// <summary>The number of features the model reads (after preprocessing).</summary>
    public int FeatureCount => documentFeatures.FeatureCount;

    /// <summary>
    /// Compiles <paramref name="definition"/> for <paramref name="config"/> (its <c>inference_config</c>,
    /// <c>input.field_names</c> and <c>default_field_map</c>). Throws a 400 <see cref="ElasticsearchException"/>
    /// for what cannot be evaluated: an inference config other than regression/classification, a
    /// preprocessor other than one_hot/target_mean/frequency encoding, a broken tree.
    /// </summary>
    public static TreeModelEvaluator Create(TrainedModelConfig config, TreeEnsembleDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(definition);
        var settings = TreeInferenceSettings.FromStored(config.ModelId, config.InferenceConfig);
        var forest = new TreeForest();
        var root = (-1, 0);
        CompiledEnsemble? ensemble = null;
        List<string> featureNames;
        switch (definition.TrainedModel)
        {
            case DecisionTree tree:
                // A top-level tree reads its own feature_names, positionally.
                featureNames = [.. tree.FeatureNames];
                root = forest.Add(tree, split => split >= 0 && split < featureNames.Count
                    ? split
                    : throw EsErrors.BadRequest($"feature index [{split}] is out of bounds for the [feature_names] array"));
                break;
            case EnsembleModel model:
                // An ensemble reads its trees' feature names, not its own feature_names.
                featureNames = CompiledEnsemble.FeatureNames(model);
                var index = featureNames.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i, StringComparer.Ordinal);
                ensemble = CompiledEnsemble.Compile(model, forest, index);
                break;
            default:
                throw EsErrors.BadRequest($"unsupported trained model [{definition.TrainedModel.Name}]");
        }
        var features = DocumentFeatures.Create(config.Input.FieldNames, config.DefaultFieldMap, definition.Preprocessors, featureNames);
        return new TreeModelEvaluator(config.ModelId, settings, features, definition.TrainedModel, forest.Freeze(), root, ensemble);
    }

    /// <summary>
    /// Infers one document. <paramref name="inferenceConfigUpdate"/> is the request's <c>inference_config</c>
    /// (<c>{"classification":{"num_top_classes":2}}</c>, <c>{"regression":{"results_field":"x"}}</c>) or null.
    /// Returns the result object ES puts in <c>inference_results</c>, or <c>{"warning":"Model [id] could not
    /// be inferred as all fields were missing"}</c> when the document has none of the input fields.
    /// Throws <see cref="ElasticsearchException"/> with ES's texts: an update of another type (400), a
    /// malformed update (400), a model whose output cannot be read (400/500).
    /// </summary>
    public JsonObject Infer(JsonObject doc, JsonObject? inferenceConfigUpdate = null)
    {
        ArgumentNullException.ThrowIfNull(doc);
        var update = UpdateFor(inferenceConfigUpdate);
        if (update is not null && !update.IsSupportedBy(settings))
            throw EsErrors.BadRequest(
                $"Model [{modelId}] has inference config of type [{settings.TaskType}] which is not supported by inference request of type [{update.Name}]");

        var count = documentFeatures.FeatureCount;
        Span<double> features = count <= 256 ? stackalloc double[count] : new double[count];
        if (!documentFeatures.Extract(doc, features))
            return new JsonObject { ["warning"] = $"Model [{modelId}] could not be inferred as all fields were missing" };

        var effective = update?.ApplyTo(settings) ?? settings;
        if (effective.TaskType != targetType)
            throw EsErrors.BadRequest($"Cannot infer using configuration for [{effective.TaskType}] when model target_type is [{targetType}]");

        if (effective.IsClassification)
            return ClassificationOutput.Build(Probabilities(features), classificationLabels, classificationWeights, effective);
        return new JsonObject { [effective.ResultsField] = JavaValues.Number(RegressionValue(features)) };
    }

    /// <summary>The regression value for a feature vector in <see cref="FeatureCount"/> order.</summary>
    internal double RegressionValue(ReadOnlySpan<double> features) =>
        ensemble is not null ? ensemble.Value(features) : forest.Leaf(treeRoot, treeDepth, features)[0];

    /// <summary>The class probabilities for a feature vector in <see cref="FeatureCount"/> order.</summary>
    internal double[] Probabilities(ReadOnlySpan<double> features)
    {
        if (ensemble is not null) return ensemble.Process(features);
        var leaf = forest.Leaf(treeRoot, treeDepth, features);
        // Multi-valued leaves hold per-class scores; a single value is the class itself (TreeInferenceModel.classificationProbability).
        if (leaf.Length > 1) return Trees.Probabilities.SoftMax(leaf);
        var probabilities = new double[(int)(highOrderCategory + 1)];
        var index = (int)leaf[0];
        if (index < 0 || index >= probabilities.Length)
            throw new ElasticsearchException(500, "array_index_out_of_bounds_exception", $"Index {index} out of bounds for length {probabilities.Length}");
        probabilities[index] = 1.0;
        return probabilities;
    }

    /// <summary>TreeInferenceModel.maxLeafValue: the highest single leaf value (at least 0), or the length of multi-valued leaves.</summary>
    private static double HighOrderCategory(DecisionTree tree)
    {
        if (tree.TargetType != TargetTypes.Classification) return double.NaN;
        var max = 0.0;
        foreach (var node in tree.Nodes.Where(n => n.IsLeaf && n.LeafValue.Count > 0))
        {
            if (node.LeafValue.Count > 1) return node.LeafValue.Count;
            max = Math.Max(node.LeafValue[0], max);
        }
        return max;
    }

    /// <summary>Requests send the same update with every document; it is parsed once.</summary>
    private InferenceConfigUpdate? UpdateFor(JsonObject? json)
    {
        if (json is null) return null;
        var cached = Volatile.Read(ref lastUpdate);
        if (cached is not null && ReferenceEquals(cached.Json, json)) return cached.Update;
        var update = InferenceConfigUpdate.Parse(json);
        Volatile.Write(ref lastUpdate, new CachedUpdate(json, update));
        return update;
    }

    private sealed record CachedUpdate(JsonObject Json, InferenceConfigUpdate Update);
}
