using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Models;
using static TrainedModelsOrleans.TreeInference.Tests.TestModels;

namespace TrainedModelsOrleans.TreeInference.Tests;

/// <summary>
/// The compiled evaluator against a direct, node-by-node reading of ES's rules over the parsed
/// definition, on random forests and documents (thresholds equal to values included).
/// </summary>
public class ReferenceComparisonTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Compiled_regression_forest_agrees_with_a_direct_walk(int seed)
    {
        var random = new Random(seed);
        const int features = 8;
        var json = RandomForests.Ensemble(random, trees: 20, depth: 4, features, "regression", """{"weighted_sum":{}}""");
        var definition = Definition(json);
        var evaluator = Grains.Inference.Trees.TreeModelEvaluator.Create(Config("""{"regression":{}}""", RandomForests.FeatureNames(features)), definition);
        var ensemble = (EnsembleModel)definition.TrainedModel;
        for (var i = 0; i < 200; i++)
        {
            var doc = Doc(RandomForests.Document(random, features, missing: 0.2));
            var expected = ensemble.Models.Cast<DecisionTree>().Sum(tree => Walk(tree, doc)[0]);
            Assert.Equal(expected, Number(evaluator.Infer(doc), "predicted_value"), 9);
        }
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void Compiled_weighted_mode_forest_agrees_with_a_direct_vote(int seed)
    {
        var random = new Random(seed);
        const int features = 6;
        var json = RandomForests.Ensemble(random, trees: 15, depth: 3, features, "classification", """{"weighted_mode":{"num_classes":3}}""", classes: 3);
        var definition = Definition(json);
        var evaluator = Grains.Inference.Trees.TreeModelEvaluator.Create(
            Config("""{"classification":{"num_top_classes":-1}}""", RandomForests.FeatureNames(features)), definition);
        var ensemble = (EnsembleModel)definition.TrainedModel;
        for (var i = 0; i < 200; i++)
        {
            var doc = Doc(RandomForests.Document(random, features));
            var votes = new double[3];
            foreach (var tree in ensemble.Models.Cast<DecisionTree>()) votes[(int)Walk(tree, doc)[0]]++;
            var present = votes.Where(v => v > 0).ToArray();
            var max = present.Max();
            var sum = present.Sum(v => Math.Exp(v - max));
            var probabilities = votes.Select(v => v > 0 ? Math.Exp(v - max) / sum : 0.0).ToArray();

            var result = evaluator.Infer(doc);
            foreach (var entry in result["top_classes"]!.AsArray())
            {
                var cls = int.Parse(entry!["class_name"]!.GetValue<string>());
                Assert.Equal(probabilities[cls], entry["class_probability"]!.GetValue<double>(), 12);
            }
            var best = Array.IndexOf(probabilities, probabilities.Max());
            Assert.Equal(best.ToString(), result["predicted_value"]!.GetValue<string>());
        }
    }

    /// <summary>ES's rules read straight off the definition: missing or non-finite → default_left; else the operator.</summary>
    private static IReadOnlyList<double> Walk(DecisionTree tree, JsonObject doc)
    {
        var node = tree.Nodes[0];
        while (!node.IsLeaf)
        {
            var value = doc[tree.FeatureNames[node.SplitFeature]]?.GetValue<double>() ?? double.NaN;
            bool left;
            if (double.IsNaN(value)) left = node.DefaultLeft;
            else left = node.DecisionType switch
            {
                "lt" => value < node.Threshold,
                "lte" => value <= node.Threshold,
                "gt" => value > node.Threshold,
                _ => value >= node.Threshold,
            };
            node = tree.Nodes[left ? node.LeftChild : node.RightChild];
        }
        return node.LeafValue;
    }
}
