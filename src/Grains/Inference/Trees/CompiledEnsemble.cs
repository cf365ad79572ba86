using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Inference.Trees;

/// <summary>
/// An ensemble over compiled trees (and nested ensembles), combining their outputs as ES's
/// EnsembleInferenceModel does: each member's raw value (a tree's leaf values, a nested ensemble's
/// aggregate), then the aggregator's processValues (per-model values or class probabilities) and
/// aggregate (the regression value or the winning class).
/// </summary>
internal sealed class CompiledEnsemble
{
    private readonly TreeForest forest;
    private readonly OutputAggregator aggregator;
    private readonly double[]? weights;

    /// <summary>Per member: its position among the trees, or −1 for a nested ensemble.</summary>
    private readonly int[] treeSlots;
    private readonly CompiledEnsemble?[] nested;
    private readonly int[] treeRoots, treeDepths;

    private CompiledEnsemble(TreeForest forest, (int Root, int Depth, CompiledEnsemble? Nested)[] members, OutputAggregator aggregator)
    {
        if (members.Length == 0) throw EsErrors.BadRequest("[trained_models] must not be empty");
        this.forest = forest;
        this.aggregator = aggregator;
        weights = aggregator.Weights?.ToArray();
        if (weights is not null && weights.Length != members.Length)
            throw EsErrors.IllegalArgument("values must be the same length as weights.");
        nested = members.Select(m => m.Nested).ToArray();
        var trees = members.Where(m => m.Nested is null).ToArray();
        treeRoots = trees.Select(m => m.Root).ToArray();
        treeDepths = trees.Select(m => m.Depth).ToArray();
        treeSlots = new int[members.Length];
        var slot = 0;
        for (var i = 0; i < members.Length; i++) treeSlots[i] = members[i].Nested is null ? slot++ : -1;
    }

    private int Count => treeSlots.Length;

    /// <summary>Compiles <paramref name="ensemble"/>, its trees' split features mapped by name into <paramref name="featureIndex"/>.</summary>
    public static CompiledEnsemble Compile(EnsembleModel ensemble, TreeForest forest, IReadOnlyDictionary<string, int> featureIndex)
    {
        var members = ensemble.Models.Select(model =>
        {
            switch (model)
            {
                case DecisionTree tree:
                    var (root, depth) = forest.Add(tree, split => MapFeature(tree, split, featureIndex));
                    return (root, depth, (CompiledEnsemble?)null);
                case EnsembleModel inner:
                    return (-1, 0, Compile(inner, forest, featureIndex));
                default:
                    throw EsErrors.BadRequest($"unsupported trained model [{model.Name}] in ensemble");
            }
        }).ToArray();
        return new CompiledEnsemble(forest, members, ensemble.AggregateOutput);
    }

    /// <summary>The ensemble's features: every member tree's feature names, first appearance first (EnsembleInferenceModel.subModelFeatures).</summary>
    public static List<string> FeatureNames(EnsembleModel ensemble)
    {
        var names = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Collect(EnsembleModel e)
        {
            foreach (var model in e.Models)
            {
                if (model is EnsembleModel nested) Collect(nested);
                else foreach (var name in model.FeatureNames) if (seen.Add(name)) names.Add(name);
            }
        }
        Collect(ensemble);
        return names;
    }

    private static int MapFeature(DecisionTree tree, int split, IReadOnlyDictionary<string, int> featureIndex)
    {
        if (split < 0 || split >= tree.FeatureNames.Count)
            throw EsErrors.BadRequest($"feature index [{split}] is out of bounds for the [feature_names] array");
        return featureIndex[tree.FeatureNames[split]];
    }

    /// <summary>The aggregate of the processed values: a regression value, or a nested ensemble's output.</summary>
    public double Value(ReadOnlySpan<double> features)
    {
        Span<int> leaves = treeRoots.Length <= 1024 ? stackalloc int[treeRoots.Length] : new int[treeRoots.Length];
        forest.Leaves(treeRoots, treeDepths, features, leaves);
        switch (aggregator)
        {
            case WeightedSum:
            {
                // Arrays.stream(values).sum(): Java sums doubles with compensation.
                var sum = new CompensatedSum();
                for (var i = 0; i < Count; i++) sum.Add(Weighted(i, features, leaves));
                return sum.Result;
            }
            case Exponent:
            {
                var sum = 0.0;
                for (var i = 0; i < Count; i++)
                {
                    var v = Weighted(i, features, leaves);
                    if (double.IsFinite(v)) sum += v;
                }
                return Math.Exp(sum);
            }
            default:
                return ArgMax(Process(features, leaves));
        }
    }

    /// <summary>processValues: class probabilities for logistic_regression and weighted_mode, weighted model values otherwise.</summary>
    public double[] Process(ReadOnlySpan<double> features)
    {
        Span<int> leaves = treeRoots.Length <= 1024 ? stackalloc int[treeRoots.Length] : new int[treeRoots.Length];
        forest.Leaves(treeRoots, treeDepths, features, leaves);
        return Process(features, leaves);
    }

    private double[] Process(ReadOnlySpan<double> features, ReadOnlySpan<int> leaves)
    {
        Span<double> scratch = stackalloc double[1];
        switch (aggregator)
        {
            case LogisticRegression:
            {
                var sums = WeightedSums(features, leaves, scratch);
                if (sums.Length > 1) return Probabilities.SoftMax(sums);
                var one = Probabilities.Sigmoid(sums[0]);
                return [1.0 - one, one];
            }
            case WeightedMode mode:
            {
                var first = Member(0, features, leaves, scratch);
                if (first.Length > 1) return Probabilities.SoftMax(WeightedSums(features, leaves, scratch));
                return Probabilities.SoftMax(Votes(mode.NumClasses, features, leaves, scratch));
            }
            default:
            {
                var processed = new double[Count];
                for (var i = 0; i < Count; i++) processed[i] = Weighted(i, features, leaves);
                return processed;
            }
        }
    }

    /// <summary>LogisticRegression / WeightedMode.aggregate: the index of the first highest value.</summary>
    public static int ArgMax(ReadOnlySpan<double> values)
    {
        var best = 0;
        var bestValue = double.NegativeInfinity;
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] > bestValue)
            {
                bestValue = values[i];
                best = i;
            }
        }
        return best;
    }

    private double Weight(int i) => weights is null ? 1.0 : weights[i];

    /// <summary>WeightedSum / Exponent.processValues for one model: its first value times its weight.</summary>
    private double Weighted(int i, ReadOnlySpan<double> features, ReadOnlySpan<int> leaves)
    {
        var slot = treeSlots[i];
        var value = slot >= 0 ? forest.Values(leaves[slot])[0] : nested[i]!.Value(features);
        return weights is null ? value : value * weights[i];
    }

    /// <summary>A member's raw value: a tree's leaf values, a nested ensemble's aggregate.</summary>
    private ReadOnlySpan<double> Member(int i, ReadOnlySpan<double> features, ReadOnlySpan<int> leaves, Span<double> scratch)
    {
        var slot = treeSlots[i];
        if (slot >= 0) return forest.Values(leaves[slot]);
        scratch[0] = nested[i]!.Value(features);
        return scratch[..1];
    }

    /// <summary>The weighted sum of the models' value arrays, element by element, sized by the first model's.</summary>
    private double[] WeightedSums(ReadOnlySpan<double> features, ReadOnlySpan<int> leaves, Span<double> scratch)
    {
        double[]? sums = null;
        for (var j = 0; j < Count; j++)
        {
            var value = Member(j, features, leaves, scratch);
            sums ??= new double[value.Length];
            var weight = Weight(j);
            for (var i = 0; i < value.Length; i++)
            {
                if (i >= sums.Length) throw EsErrors.IllegalArgument("value entries must have the same dimensions");
                sums[i] += value[i] * weight;
            }
        }
        return sums ?? [];
    }

    /// <summary>WeightedMode with single-valued models: each model votes for its class with its weight; classes without votes stay at −∞.</summary>
    private double[] Votes(int numClasses, ReadOnlySpan<double> features, ReadOnlySpan<int> leaves, Span<double> scratch)
    {
        Span<int> classes = Count <= 256 ? stackalloc int[Count] : new int[Count];
        var max = 0;
        for (var j = 0; j < Count; j++)
        {
            var value = Member(j, features, leaves, scratch);
            if (value.Length != 1) throw EsErrors.IllegalArgument("value entries must have the same dimensions");
            var v = value[0];
            if (!double.IsFinite(v) || v < 0.0 || v != Math.Round(v, MidpointRounding.ToEven))
                throw EsErrors.IllegalArgument("values must be whole, non-infinite, and positive");
            classes[j] = v >= int.MaxValue ? int.MaxValue : (int)v; // Java's intValue saturates
            max = Math.Max(max, classes[j]);
        }
        if (max >= numClasses)
            throw EsErrors.IllegalArgument($"values contain entries larger than expected max of [{numClasses - 1}]");
        var frequencies = new double[numClasses];
        Array.Fill(frequencies, double.NegativeInfinity);
        for (var j = 0; j < Count; j++)
        {
            var c = classes[j];
            frequencies[c] = double.IsNegativeInfinity(frequencies[c]) ? Weight(j) : frequencies[c] + Weight(j);
        }
        return frequencies;
    }

    /// <summary>Java's compensated double summation (DoubleStream.sum, JDK 18+).</summary>
    private struct CompensatedSum
    {
        private double sum, compensation, simple;

        public void Add(double value)
        {
            var tmp = value - compensation;
            var velvel = sum + tmp;
            compensation = velvel - sum - tmp;
            sum = velvel;
            simple += value;
        }

        public readonly double Result
        {
            get
            {
                var tmp = sum - compensation;
                return double.IsNaN(tmp) && double.IsInfinity(simple) ? simple : tmp;
            }
        }
    }
}

/// <summary>ES's Statistics: softMax over the valid (finite) values, and the sigmoid.</summary>
internal static class Probabilities
{
    public static double[] SoftMax(ReadOnlySpan<double> values)
    {
        var max = double.NegativeInfinity;
        foreach (var v in values)
            if (double.IsFinite(v)) max = Math.Max(max, v);
        if (!double.IsFinite(max)) throw EsErrors.IllegalArgument("no valid values present");
        var result = new double[values.Length];
        var sum = 0.0;
        for (var i = 0; i < values.Length; i++)
        {
            if (!double.IsFinite(values[i])) continue;
            result[i] = Math.Exp(values[i] - max);
            sum += result[i];
        }
        for (var i = 0; i < values.Length; i++)
            result[i] = double.IsFinite(values[i]) ? result[i] / sum : 0.0;
        return result;
    }

    public static double Sigmoid(double value) => 1 / (1 + Math.Exp(-value));
}
