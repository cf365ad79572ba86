using System.IO.Compression;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Models;

/// <summary>
/// A tree-ensemble model definition in ES's JSON (core/ml/inference/TrainedModelDefinition.java):
/// <c>{"preprocessors":[…], "trained_model":{"tree":{…}} | {"ensemble":{…}}}</c>, parsed strictly,
/// immutable, ready for an evaluator. Parsing applies the rules ES applies while building the
/// objects; <see cref="Validate"/> applies TrainedModel.validate(), which ES runs at PUT time.
/// </summary>
public sealed record TreeEnsembleDefinition(TrainedModelNode TrainedModel, IReadOnlyList<PreProcessor> Preprocessors)
{
    /// <summary><c>regression</c> or <c>classification</c>.</summary>
    public string TargetType => TrainedModel.TargetType;

    /// <summary>TrainedModel.estimatedNumOperations(), stored as <c>estimated_operations</c>.</summary>
    public long EstimatedOperations => TrainedModel.EstimatedOperations;

    /// <summary>
    /// Stored as <c>model_size_bytes</c>. ES reports the JVM heap the parsed definition takes
    /// (ramBytesUsed); this is an estimate in the same spirit, not byte-identical to ES.
    /// </summary>
    public long EstimatedSizeBytes => 16 + TrainedModel.EstimatedSizeBytes + Preprocessors.Sum(p => p.EstimatedSizeBytes);

    /// <summary>TrainedModel.validate(): throws ES's 400 <c>status_exception</c> for the first broken rule.</summary>
    public void Validate() => TrainedModel.Validate();

    /// <summary>Parses a standalone definition document; errors read <c>[trained_model_definition] …</c>.</summary>
    public static TreeEnsembleDefinition Parse(string json)
    {
        var body = JsonBody.Parse(json);
        return Parse(body, body.Root);
    }

    /// <summary>
    /// Parses ES's <c>compressed_definition</c> bytes: gzip-compressed definition JSON, inflated to at most
    /// <paramref name="maxInflatedBytes"/> (a few KB of gzip can claim gigabytes: the bound is checked as it inflates).
    /// </summary>
    public static TreeEnsembleDefinition ParseCompressed(byte[] gzip, long maxInflatedBytes)
    {
        // ES refuses a compressed stream already longer than the bound before inflating it.
        if (gzip.LongLength > Math.Max(100L, maxInflatedBytes))
            throw InflatedTooLarge($"compressed stream is longer than maximum allowed bytes [{maxInflatedBytes}]");
        // Inflated into fixed chunks, not a doubling buffer: a refused stream has cost at most the bound (one chunk more),
        // an accepted one the bound plus the one array it is parsed from.
        var chunks = new List<byte[]>();
        var inflated = 0L;
        try
        {
            using var input = new GZipStream(new MemoryStream(gzip, writable: false), CompressionMode.Decompress);
            while (true)
            {
                // 64 KB first (most definitions are small), growing to 1 MB.
                var chunk = GC.AllocateUninitializedArray<byte>(Math.Min(InflateChunk, 64 * 1024 << Math.Min(chunks.Count, 4)));
                var filled = input.ReadAtLeast(chunk, chunk.Length, throwOnEndOfStream: false);
                if (inflated + filled > maxInflatedBytes)
                    throw InflatedTooLarge($"Cannot parse model definition as the content is larger than the maximum stream size of [{maxInflatedBytes}] bytes (setting Limits:MaxInflatedDefinitionLength)");
                inflated += filled;
                if (filled < chunk.Length)
                {
                    chunks.Add(chunk[..filled]);
                    break;
                }
                chunks.Add(chunk);
            }
        }
        catch (InvalidDataException e)
        {
            throw EsErrors.BadRequest($"Failed to decompress the model definition: {e.Message}");
        }
        var json = GC.AllocateUninitializedArray<byte>(checked((int)inflated));
        var offset = 0;
        foreach (var chunk in chunks)
        {
            chunk.CopyTo(json, offset);
            offset += chunk.Length;
        }
        chunks.Clear();
        var body = JsonBody.ParseOwned(json);
        return Parse(body, body.Root);
    }

    private const int InflateChunk = 1 << 20;

    /// <summary>ES answers an inflated definition past its bound with a permanent circuit breaker trip (429).</summary>
    private static ElasticsearchException InflatedTooLarge(string reason) => new(429, "circuit_breaking_exception", reason);

    internal static TreeEnsembleDefinition Parse(JsonBody body, JsonItem item)
    {
        TrainedModelNode? model = null;
        List<PreProcessor>? preprocessors = null;
        var ordered = true;
        new ObjectParser("trained_model_definition")
            .Declare("trained_model", Accepts.Object, v => model = NamedObjects.ParseOne(body, v, "trained_model", ModelParsers(body)))
            .Declare("preprocessors", Accepts.ObjectArray, v => preprocessors = NamedObjects.ParseMany(body, v, "preprocessors", PreProcessor.Parsers(body), out ordered))
            .Parse(body, item);
        try
        {
            if (preprocessors is { Count: > 1 } && !ordered)
                throw EsErrors.IllegalArgument("preprocessors must be an array of preprocessor objects");
            if (model is null) throw EsErrors.IllegalArgument("[trained_model] must not be null.");
            if (EnsembleNesting(model) is var nesting and > MaxEnsembleNesting)
                throw EsErrors.BadRequest($"[trained_model] nests ensembles [{nesting}] levels deep; at most [{MaxEnsembleNesting}] are allowed");
            return new TreeEnsembleDefinition(model, preprocessors ?? []);
        }
        catch (ElasticsearchException e)
        {
            throw ObjectParser.At(e, item.End);
        }
    }

    /// <summary>
    /// Ensembles inside ensembles: ES's own models nest one level (an ensemble of trees); every part of the service that
    /// walks a model recursively (validation, inference, the stored state's serializer, 64 levels of JSON) stays far
    /// from its limits below this.
    /// </summary>
    public const int MaxEnsembleNesting = 8;

    private static int EnsembleNesting(TrainedModelNode model) =>
        model is EnsembleModel ensemble ? 1 + (ensemble.Models.Count == 0 ? 0 : ensemble.Models.Max(EnsembleNesting)) : 0;

    internal static Dictionary<string, Func<JsonItem, TrainedModelNode>> ModelParsers(JsonBody body) => new()
    {
        ["tree"] = v => DecisionTree.Parse(body, v),
        ["ensemble"] = v => EnsembleModel.Parse(body, v),
    };

    internal static string JavaEnum(string value, string enumClass, params string[] allowed)
    {
        var upper = value.Trim().ToUpperInvariant();
        return allowed.FirstOrDefault(a => a.ToUpperInvariant() == upper)
            ?? throw EsErrors.IllegalArgument($"No enum constant {enumClass}.{upper}");
    }

    internal static string ParseTargetType(JsonItem v) =>
        JavaEnum(Values.String(v), "org.elasticsearch.xpack.core.ml.inference.trainedmodel.TargetType", TargetTypes.Regression, TargetTypes.Classification);

    internal static long SizeOf(string s) => 40 + s.Length;

    internal static long SizeOf(IReadOnlyList<string>? list) => list is null ? 0 : 24 + list.Sum(SizeOf);
}

/// <summary>A tree or an ensemble.</summary>
public abstract record TrainedModelNode
{
    public required IReadOnlyList<string> FeatureNames { get; init; }

    /// <summary><c>regression</c> or <c>classification</c>.</summary>
    public required string TargetType { get; init; }

    public IReadOnlyList<string>? ClassificationLabels { get; init; }

    public abstract string Name { get; }
    public abstract long EstimatedOperations { get; }
    internal abstract long EstimatedSizeBytes { get; }
    public abstract void Validate();
}

/// <summary>ES's Tree (core/ml/inference/trainedmodel/tree/Tree.java). Nodes are addressed by their position in <see cref="Nodes"/>.</summary>
public sealed record DecisionTree : TrainedModelNode
{
    public required IReadOnlyList<TreeNode> Nodes { get; init; }

    public override string Name => "tree";

    /// <summary>Reading the features plus the depth: ceil(ln(nodes)) + features.</summary>
    public override long EstimatedOperations => (long)Math.Ceiling(Math.Log(Nodes.Count)) + FeatureNames.Count;

    internal override long EstimatedSizeBytes =>
        32 + TreeEnsembleDefinition.SizeOf(FeatureNames) + TreeEnsembleDefinition.SizeOf(ClassificationLabels) + 24 + Nodes.Sum(n => n.EstimatedSizeBytes);

    internal static DecisionTree Parse(JsonBody body, JsonItem item)
    {
        List<string>? featureNames = null, labels = null;
        List<TreeNode>? nodes = null;
        var targetType = TargetTypes.Regression;
        new ObjectParser("tree")
            .Declare("feature_names", Accepts.StringArray, v => featureNames = Values.StringList(v))
            .Declare("tree_structure", Accepts.ObjectArray, v => nodes = TreeNode.ParseList(body, v))
            .Declare("target_type", Accepts.String, v => targetType = TreeEnsembleDefinition.ParseTargetType(v))
            .Declare("classification_labels", Accepts.StringArray, v => labels = Values.StringList(v))
            .Parse(body, item);
        try
        {
            // ES's Tree.Builder starts with a single leaf of value 0.0 when no tree_structure is given.
            nodes ??= [new TreeNode { LeafValue = [0.0] }];
            if (featureNames is null) throw EsErrors.IllegalArgument("[feature_names] must not be null.");
            if (nodes.Count == 0) throw EsErrors.IllegalArgument("[tree_structure] must not be empty");
            return new DecisionTree { FeatureNames = featureNames, Nodes = nodes, TargetType = targetType, ClassificationLabels = labels };
        }
        catch (ElasticsearchException e)
        {
            throw ObjectParser.At(e, item.End);
        }
    }

    public override void Validate()
    {
        var maxFeatureIndex = Nodes.Max(n => n.SplitFeature);
        if (maxFeatureIndex >= FeatureNames.Count)
            throw EsErrors.BadRequest($"feature index [{maxFeatureIndex}] is out of bounds for the [feature_names] array");
        if (Nodes.Count > 1 && FeatureNames.Count == 0)
            throw EsErrors.BadRequest($"[feature_names] is empty and the tree has > 1 nodes; num nodes [{Nodes.Count}]. The model Must have features if tree is not a stump");
        if (ClassificationLabels is not null && TargetType != TargetTypes.Classification)
            throw EsErrors.BadRequest("[target_type] should be [classification] if [classification_labels] are provided");
        if (TargetType != TargetTypes.Classification && Nodes.Any(n => n.LeafValue.Count > 1))
            throw EsErrors.BadRequest("[target_type] should be [classification] if leaf nodes have multiple values");

        var missing = new List<int>();
        foreach (var node in Nodes)
        {
            if (node.LeftChild >= Nodes.Count) missing.Add(node.LeftChild);
            if (node.RightChild >= Nodes.Count) missing.Add(node.RightChild);
        }
        if (missing.Count > 0) throw EsErrors.BadRequest($"[tree] contains missing nodes {EsErrors.JavaList(missing)}");

        var visited = new HashSet<int>();
        var toVisit = new Queue<int>();
        toVisit.Enqueue(0);
        while (toVisit.Count > 0)
        {
            var index = toVisit.Dequeue();
            if (!visited.Add(index)) throw EsErrors.BadRequest($"[tree] contains cycle at node {index}");
            var node = Nodes[index];
            if (node.LeftChild >= 0) toVisit.Enqueue(node.LeftChild);
            if (node.RightChild >= 0) toVisit.Enqueue(node.RightChild);
        }

        int? leafLength = null;
        foreach (var node in Nodes.Where(n => n.IsLeaf))
        {
            leafLength ??= node.LeafValue.Count;
            if (leafLength != node.LeafValue.Count)
                throw EsErrors.BadRequest("[tree.tree_structure] all leaf nodes must have the same number of values");
        }
    }
}

/// <summary>ES's TreeNode (tree/TreeNode.java) with its defaults: lte, NaN threshold, -1 for absent children and feature.</summary>
public sealed record TreeNode
{
    public int NodeIndex { get; init; }

    /// <summary><c>lt</c>, <c>lte</c> (default), <c>gt</c> or <c>gte</c>: the test <c>feature &lt;op&gt; threshold</c> sends a value left.</summary>
    public string DecisionType { get; init; } = "lte";

    public double Threshold { get; init; } = double.NaN;
    public int SplitFeature { get; init; } = -1;
    public double SplitGain { get; init; } = double.NaN;
    public IReadOnlyList<double> LeafValue { get; init; } = [];
    public bool DefaultLeft { get; init; }
    public int LeftChild { get; init; } = -1;
    public int RightChild { get; init; } = -1;
    public long NumberSamples { get; init; }

    public bool IsLeaf => LeftChild < 0;

    internal long EstimatedSizeBytes => 72 + (LeafValue.Count > 0 ? 16 + 8L * LeafValue.Count : 0);

    internal static List<TreeNode> ParseList(JsonBody body, JsonItem v)
    {
        var items = v.Kind == JsonKind.Array ? v.Items! : [v];
        var nodes = new List<TreeNode>(items.Count);
        foreach (var item in items)
        {
            if (item.Kind != JsonKind.Object)
                throw ObjectParser.At(EsErrors.IllegalArgument($"expected value but got [{item.TokenName}]"), item.Start);
            nodes.Add(Parse(body, item));
        }
        return nodes;
    }

    private static TreeNode Parse(JsonBody body, JsonItem item)
    {
        double? threshold = null, splitGain = null;
        string? decision = null;
        int? left = null, right = null, feature = null, index = null;
        bool? defaultLeft = null;
        List<double>? leaf = null;
        long samples = 0;
        new ObjectParser("tree_node")
            .Declare("threshold", Accepts.Double, v => threshold = Values.Double(v))
            .Declare("decision_type", Accepts.String, v => decision = TreeEnsembleDefinition.JavaEnum(Values.String(v), "org.elasticsearch.xpack.core.ml.job.config.Operator", "lt", "lte", "gt", "gte"))
            .Declare("left_child", Accepts.Int, v => left = Values.Int(v))
            .Declare("right_child", Accepts.Int, v => right = Values.Int(v))
            .Declare("default_left", Accepts.Boolean, v => defaultLeft = Values.Boolean(v))
            .Declare("split_feature", Accepts.Int, v => feature = Values.Int(v))
            .Declare("node_index", Accepts.Int, v => index = Values.Int(v))
            .Declare("split_gain", Accepts.Double, v => splitGain = Values.Double(v))
            .Declare("leaf_value", Accepts.DoubleArray, v => leaf = Values.DoubleList(v))
            .Declare("number_samples", Accepts.Long, v => samples = Values.Long(v))
            .Parse(body, item);
        try
        {
            var nodeIndex = index ?? 0;
            if (nodeIndex < 0) throw EsErrors.IllegalArgument("[node_index] must be a non-negative integer.");
            if (left is null)
            {
                if (leaf is null) throw EsErrors.IllegalArgument("[leaf_value] is required for a leaf node.");
            }
            else
            {
                if (left < 0) throw EsErrors.IllegalArgument("[left_child] must be a non-negative integer.");
                if (right < 0) throw EsErrors.IllegalArgument("[right_child] must be a non-negative integer.");
                if (threshold is null) throw EsErrors.IllegalArgument("[threshold] must exist for non-leaf node.");
            }
            if (samples < 0) throw EsErrors.IllegalArgument("[number_samples] must be greater than or equal to 0");
            return new TreeNode
            {
                NodeIndex = nodeIndex,
                DecisionType = decision ?? "lte",
                Threshold = threshold ?? double.NaN,
                SplitFeature = feature ?? -1,
                SplitGain = splitGain ?? double.NaN,
                LeafValue = leaf ?? [],
                DefaultLeft = defaultLeft ?? false,
                LeftChild = left ?? -1,
                RightChild = right ?? -1,
                NumberSamples = samples,
            };
        }
        catch (ElasticsearchException e)
        {
            throw ObjectParser.At(e, item.End);
        }
    }
}

/// <summary>ES's Ensemble (trainedmodel/ensemble/Ensemble.java).</summary>
public sealed record EnsembleModel : TrainedModelNode
{
    public required IReadOnlyList<TrainedModelNode> Models { get; init; }
    public required OutputAggregator AggregateOutput { get; init; }
    public IReadOnlyList<double>? ClassificationWeights { get; init; }

    public override string Name => "ensemble";

    /// <summary>The models' average plus the aggregation: ceil(avg) + 2 × (models − 1).</summary>
    public override long EstimatedOperations =>
        Models.Count == 0 ? 0 : (long)Math.Ceiling(Models.Average(m => (double)m.EstimatedOperations)) + 2L * (Models.Count - 1);

    internal override long EstimatedSizeBytes =>
        40 + TreeEnsembleDefinition.SizeOf(FeatureNames) + TreeEnsembleDefinition.SizeOf(ClassificationLabels)
        + 24 + Models.Sum(m => m.EstimatedSizeBytes)
        + (ClassificationWeights is null ? 0 : 16 + 8L * ClassificationWeights.Count)
        + AggregateOutput.EstimatedSizeBytes;

    internal static EnsembleModel Parse(JsonBody body, JsonItem item)
    {
        List<string>? featureNames = null, labels = null;
        List<TrainedModelNode>? models = null;
        OutputAggregator aggregator = new WeightedSum(null);
        var targetType = TargetTypes.Regression;
        List<double>? weights = null;
        var modelsOrdered = false;
        new ObjectParser("ensemble")
            .Declare("feature_names", Accepts.StringArray, v => featureNames = Values.StringList(v))
            .Declare("trained_models", Accepts.ObjectArray, v => models = NamedObjects.ParseMany(body, v, "trained_models", TreeEnsembleDefinition.ModelParsers(body), out modelsOrdered))
            .Declare("aggregate_output", Accepts.ObjectArray, v =>
            {
                var aggregators = NamedObjects.ParseMany(body, v, "aggregate_output", OutputAggregator.Parsers(body), out _);
                if (aggregators.Count != 1) throw EsErrors.BadRequest("[aggregate_output] must have exactly one aggregator defined.");
                aggregator = aggregators[0];
            })
            .Declare("target_type", Accepts.String, v => targetType = TreeEnsembleDefinition.ParseTargetType(v))
            .Declare("classification_labels", Accepts.StringArray, v => labels = Values.StringList(v))
            .Declare("classification_weights", Accepts.DoubleArray, v => weights = Values.DoubleList(v))
            .Parse(body, item);
        try
        {
            if (!modelsOrdered && models is { Count: > 1 }) throw EsErrors.BadRequest("[trained_models] needs to be an array of objects");
            if (featureNames is null) throw EsErrors.IllegalArgument("[feature_names] must not be null.");
            if (models is null) throw EsErrors.IllegalArgument("[trained_models] must not be null.");
            return new EnsembleModel
            {
                FeatureNames = featureNames,
                Models = models,
                AggregateOutput = aggregator,
                TargetType = targetType,
                ClassificationLabels = labels,
                ClassificationWeights = weights,
            };
        }
        catch (ElasticsearchException e)
        {
            throw ObjectParser.At(e, item.End);
        }
    }

    public override void Validate()
    {
        if (Models.Count == 0) throw EsErrors.BadRequest("[trained_models] must not be empty");
        if (!AggregateOutput.CompatibleWith(TargetType))
            // ES passes the arguments in this order, so the message reads "aggregate_output [<target_type>] … target_type [<aggregator>]".
            throw EsErrors.BadRequest($"aggregate_output [{TargetType}] is not compatible with target_type [{AggregateOutput.Name}]");
        if (AggregateOutput.Weights is { } w && w.Count != Models.Count)
            throw EsErrors.BadRequest($"[aggregate_output] expects value array of size [{w.Count}] but number of models is [{Models.Count}]");
        if ((ClassificationLabels is not null || ClassificationWeights is not null) && TargetType != TargetTypes.Classification)
            throw EsErrors.BadRequest("[target_type] should be [classification] if [classification_labels] or [classification_weights] are provided");
        if (ClassificationWeights is not null && ClassificationLabels is not null && ClassificationWeights.Count != ClassificationLabels.Count)
            throw EsErrors.BadRequest("[classification_weights] and [classification_labels] should be the same length if both are provided");
        foreach (var model in Models) model.Validate();
    }
}

/// <summary>How an ensemble combines its models' outputs (ensemble/*.java).</summary>
public abstract record OutputAggregator(IReadOnlyList<double>? Weights)
{
    public abstract string Name { get; }
    public abstract bool CompatibleWith(string targetType);

    internal long EstimatedSizeBytes => 16 + (Weights is null ? 0 : 16 + 8L * Weights.Count);

    internal static Dictionary<string, Func<JsonItem, OutputAggregator>> Parsers(JsonBody body) => new()
    {
        ["weighted_sum"] = v => new WeightedSum(ParseWeights(body, v, "weighted_sum", out _)),
        ["logistic_regression"] = v => new LogisticRegression(ParseWeights(body, v, "logistic_regression", out _)),
        ["exponent"] = v => new Exponent(ParseWeights(body, v, "exponent", out _)),
        ["weighted_mode"] = v =>
        {
            var weights = ParseWeights(body, v, "weighted_mode", out var numClasses);
            try
            {
                if (numClasses is null) throw EsErrors.IllegalArgument("Required [num_classes]");
                if (numClasses <= 1) throw EsErrors.IllegalArgument("[num_classes] must be greater than 1.");
            }
            catch (ElasticsearchException e)
            {
                throw ObjectParser.At(e, v.End);
            }
            return new WeightedMode(weights, numClasses.Value);
        },
    };

    private static List<double>? ParseWeights(JsonBody body, JsonItem v, string name, out int? numClasses)
    {
        List<double>? weights = null;
        int? classes = null;
        var parser = new ObjectParser(name).Declare("weights", Accepts.DoubleArray, x => weights = Values.DoubleList(x));
        if (name == "weighted_mode") parser.Declare("num_classes", Accepts.Int, x => classes = Values.Int(x));
        parser.Parse(body, v);
        numClasses = classes;
        return weights;
    }
}

/// <summary>Weighted sum of the models' values; regression only.</summary>
public sealed record WeightedSum(IReadOnlyList<double>? Weights) : OutputAggregator(Weights)
{
    public override string Name => "weighted_sum";
    public override bool CompatibleWith(string targetType) => targetType == TargetTypes.Regression;
}

/// <summary>Weighted vote over <see cref="NumClasses"/> classes; classification only.</summary>
public sealed record WeightedMode(IReadOnlyList<double>? Weights, int NumClasses) : OutputAggregator(Weights)
{
    public override string Name => "weighted_mode";
    public override bool CompatibleWith(string targetType) => targetType == TargetTypes.Classification;
}

/// <summary>Sigmoid (or softmax) of the weighted sum; ES allows it for both target types.</summary>
public sealed record LogisticRegression(IReadOnlyList<double>? Weights) : OutputAggregator(Weights)
{
    public override string Name => "logistic_regression";
    public override bool CompatibleWith(string targetType) => true;
}

/// <summary>exp of the weighted sum; regression only.</summary>
public sealed record Exponent(IReadOnlyList<double>? Weights) : OutputAggregator(Weights)
{
    public override string Name => "exponent";
    public override bool CompatibleWith(string targetType) => targetType == TargetTypes.Regression;
}

/// <summary>
/// A feature preprocessor (core/ml/inference/preprocessing). The three encodings are parsed into
/// typed records; n_gram_encoding, multi_encoding and custom_word_embedding are accepted and kept
/// as their JSON (<see cref="RawPreProcessor"/>) for a later evaluator.
/// </summary>
public abstract record PreProcessor(string Name)
{
    internal virtual long EstimatedSizeBytes => 64;

    internal static Dictionary<string, Func<JsonItem, PreProcessor>> Parsers(JsonBody body) => new()
    {
        ["one_hot_encoding"] = v => OneHotEncoding.Parse(body, v),
        ["target_mean_encoding"] = v => TargetMeanEncoding.Parse(body, v),
        ["frequency_encoding"] = v => FrequencyEncoding.Parse(body, v),
        ["n_gram_encoding"] = v => RawPreProcessor.Parse(body, v, "n_gram_encoding"),
        ["multi_encoding"] = v => RawPreProcessor.Parse(body, v, "multi_encoding"),
        ["custom_word_embedding"] = v => RawPreProcessor.Parse(body, v, "custom_word_embedding"),
    };

    /// <summary>ConstructingObjectParser's message for missing required arguments: <c>Required [a, b]</c>.</summary>
    internal static void Require(JsonItem item, params (string Field, bool Present)[] args)
    {
        var missing = args.Where(a => !a.Present).Select(a => a.Field).ToList();
        if (missing.Count > 0)
            throw ObjectParser.At(EsErrors.IllegalArgument($"Required [{string.Join(", ", missing)}]"), item.End);
    }

    internal static Dictionary<string, string> StringMap(JsonItem v) =>
        v.Members!.ToDictionary(m => m.Name, m => m.Value.IsScalar && m.Value.Kind != JsonKind.Null
            ? m.Value.ScalarText
            : throw EsErrors.IllegalArgument($"expected a string value for [{m.Name}] but got [{m.Value.TokenName}]"));

    internal static Dictionary<string, double> DoubleMap(JsonItem v) =>
        v.Members!.ToDictionary(m => m.Name, m => Values.Double(m.Value));
}

public sealed record OneHotEncoding(string Field, IReadOnlyDictionary<string, string> HotMap, bool Custom) : PreProcessor("one_hot_encoding")
{
    internal static OneHotEncoding Parse(JsonBody body, JsonItem item)
    {
        string? field = null;
        Dictionary<string, string>? hotMap = null;
        bool? custom = null;
        new ObjectParser("one_hot_encoding")
            .Declare("field", Accepts.String, v => field = Values.String(v))
            .Declare("hot_map", Accepts.Object, v => hotMap = StringMap(v))
            .Declare("custom", Accepts.Boolean, v => custom = Values.Boolean(v))
            .Parse(body, item);
        Require(item, ("field", field is not null), ("hot_map", hotMap is not null));
        return new OneHotEncoding(field!, hotMap!, custom ?? false);
    }
}

public sealed record TargetMeanEncoding(string Field, string FeatureName, IReadOnlyDictionary<string, double> TargetMap, double DefaultValue, bool Custom)
    : PreProcessor("target_mean_encoding")
{
    internal static TargetMeanEncoding Parse(JsonBody body, JsonItem item)
    {
        string? field = null, featureName = null;
        Dictionary<string, double>? map = null;
        double? defaultValue = null;
        bool? custom = null;
        new ObjectParser("target_mean_encoding")
            .Declare("field", Accepts.String, v => field = Values.String(v))
            .Declare("feature_name", Accepts.String, v => featureName = Values.String(v))
            .Declare("target_map", Accepts.Object, v => map = DoubleMap(v))
            .Declare("default_value", Accepts.Double, v => defaultValue = Values.Double(v))
            .Declare("custom", Accepts.Boolean, v => custom = Values.Boolean(v))
            .Parse(body, item);
        Require(item, ("field", field is not null), ("feature_name", featureName is not null), ("target_map", map is not null), ("default_value", defaultValue is not null));
        return new TargetMeanEncoding(field!, featureName!, map!, defaultValue!.Value, custom ?? false);
    }
}

public sealed record FrequencyEncoding(string Field, string FeatureName, IReadOnlyDictionary<string, double> FrequencyMap, bool Custom)
    : PreProcessor("frequency_encoding")
{
    internal static FrequencyEncoding Parse(JsonBody body, JsonItem item)
    {
        string? field = null, featureName = null;
        Dictionary<string, double>? map = null;
        bool? custom = null;
        new ObjectParser("frequency_encoding")
            .Declare("field", Accepts.String, v => field = Values.String(v))
            .Declare("feature_name", Accepts.String, v => featureName = Values.String(v))
            .Declare("frequency_map", Accepts.Object, v => map = DoubleMap(v))
            .Declare("custom", Accepts.Boolean, v => custom = Values.Boolean(v))
            .Parse(body, item);
        Require(item, ("field", field is not null), ("feature_name", featureName is not null), ("frequency_map", map is not null));
        return new FrequencyEncoding(field!, featureName!, map!, custom ?? false);
    }
}

/// <summary>A preprocessor kept as given (n_gram_encoding, multi_encoding, custom_word_embedding).</summary>
public sealed record RawPreProcessor(string ProcessorName, JsonObject Settings) : PreProcessor(ProcessorName)
{
    internal static RawPreProcessor Parse(JsonBody body, JsonItem item, string name)
    {
        if (item.Kind != JsonKind.Object)
            throw ObjectParser.At(EsErrors.XContentParse($"{body.Location(item.Start)} [{name}] Expected START_OBJECT but was: {item.TokenName}"), item.Start);
        return new RawPreProcessor(name, (JsonObject)item.ToNode()!);
    }
}
