using System.Diagnostics;
using Xunit.Abstractions;
using static TrainedModelsOrleans.TreeInference.Tests.TestModels;

namespace TrainedModelsOrleans.TreeInference.Tests;

/// <summary>
/// Times a 100-tree ensemble of depth 6 (127 nodes per tree) over 20 features: the compiled trees
/// alone, and a whole document through <c>Infer</c>. The bounds are loose (Debug builds, shared CI);
/// the figures are printed.
/// </summary>
public class EvaluationTimeTests(ITestOutputHelper output)
{
    private const int Features = 20;

    [Fact]
    public void Hundred_tree_depth_six_regression_ensemble_evaluates_in_microseconds()
    {
        var random = new Random(42);
        var evaluator = Grains.Inference.Trees.TreeModelEvaluator.Create(
            Config("""{"regression":{}}""", RandomForests.FeatureNames(Features)),
            Definition(RandomForests.Ensemble(random, trees: 100, depth: 6, Features, "regression", """{"weighted_sum":{}}""")));
        var vectors = Enumerable.Range(0, 256).Select(_ => Enumerable.Range(0, Features).Select(_ => random.NextDouble()).ToArray()).ToArray();
        var docs = Enumerable.Range(0, 256).Select(_ => Doc(RandomForests.Document(random, Features, missing: 0.05))).ToArray();

        var sink = 0.0;
        var trees = Time(50_000, i => sink += evaluator.RegressionValue(vectors[i & 255]));
        var infer = Time(20_000, i => sink += evaluator.Infer(docs[i & 255]).Count);
        output.WriteLine($"100 trees × depth 6: compiled trees {trees:F2} µs/doc, Infer on a 20-field document {infer:F2} µs/doc (sink {sink:F1})");
        Assert.True(trees < 100, $"compiled trees took {trees:F2} µs per document");
        Assert.True(infer < 500, $"Infer took {infer:F2} µs per document");
    }

    [Fact]
    public void Hundred_tree_classification_ensemble_evaluates_in_microseconds()
    {
        var random = new Random(7);
        var evaluator = Grains.Inference.Trees.TreeModelEvaluator.Create(
            Config("""{"classification":{"num_top_classes":2}}""", RandomForests.FeatureNames(Features)),
            Definition(RandomForests.Ensemble(random, trees: 100, depth: 6, Features, "classification", """{"logistic_regression":{}}""", leafSize: 3)));
        var docs = Enumerable.Range(0, 256).Select(_ => Doc(RandomForests.Document(random, Features, missing: 0.05))).ToArray();
        var sink = 0;
        var infer = Time(20_000, i => sink += evaluator.Infer(docs[i & 255]).Count);
        output.WriteLine($"100 trees × depth 6, 3 classes: Infer {infer:F2} µs/doc (sink {sink})");
        Assert.True(infer < 500, $"Infer took {infer:F2} µs per document");
    }

    private static double Time(int iterations, Action<int> run)
    {
        // Warm up long enough for tiered compilation to replace the first, unoptimised code.
        var warmUp = Stopwatch.StartNew();
        for (var i = 0; warmUp.ElapsedMilliseconds < 400; i++) run(i);
        var best = double.MaxValue;
        for (var round = 0; round < 7; round++)
        {
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < iterations; i++) run(i);
            best = Math.Min(best, watch.Elapsed.TotalMicroseconds / iterations);
        }
        return best;
    }
}
