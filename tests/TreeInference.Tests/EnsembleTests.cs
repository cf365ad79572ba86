using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Errors;
using static TrainedModelsOrleans.TreeInference.Tests.TestModels;

namespace TrainedModelsOrleans.TreeInference.Tests;

/// <summary>ES's EnsembleInferenceModelTests and each output aggregator, through the evaluator.</summary>
public class EnsembleTests
{
    private const string Classification2 = """{"classification":{"num_top_classes":2}}""";

    // ES's three trees over foo and bar.
    private const string Tree1 = """
        {"tree":{"feature_names":["foo","bar"],"tree_structure":[
          {"node_index":0,"split_feature":0,"threshold":0.5,"left_child":1,"right_child":2},
          {"node_index":1,"leaf_value":1.0},
          {"node_index":2,"split_feature":1,"threshold":0.8,"left_child":3,"right_child":4},
          {"node_index":3,"leaf_value":0.0},
          {"node_index":4,"leaf_value":1.0}]}}
        """;
    private const string Tree2 = """
        {"tree":{"feature_names":["foo","bar"],"tree_structure":[
          {"node_index":0,"split_feature":0,"threshold":0.5,"left_child":1,"right_child":2},
          {"node_index":1,"leaf_value":0.0},
          {"node_index":2,"leaf_value":1.0}]}}
        """;
    private const string Tree3 = """
        {"tree":{"feature_names":["foo","bar"],"tree_structure":[
          {"node_index":0,"split_feature":1,"threshold":1.0,"left_child":1,"right_child":2},
          {"node_index":1,"leaf_value":1.0},
          {"node_index":2,"leaf_value":0.0}]}}
        """;

    private static string Ensemble(string targetType, string aggregator, string trees, string extra = "") => $$"""
        {"trained_model":{"ensemble":{"feature_names":["foo","bar"],"target_type":"{{targetType}}",{{extra}}
          "aggregate_output":{{aggregator}},
          "trained_models":[{{trees}}]} } }
        """;

    [Theory]
    [InlineData("""{"foo":0.4,"bar":0.0}""", 0.768524783, 0.231475216, 0.230557435, 0.162032651)]
    [InlineData("""{"foo":2.0,"bar":0.7}""", 0.310025518, 0.6899744811, 0.217017863, 0.2069923443)]
    [InlineData("""{"foo":0.0,"bar":1.0}""", 0.768524783, 0.231475216, 0.230557435, 0.162032651)]
    [InlineData("""{"foo":0.3,"bar":null}""", 0.6899744811, 0.3100255188, 0.482982136, 0.0930076556)] // bar missing: default right
    public void Weighted_mode_probabilities_and_classification_weight_scores_match_ES(string doc, double p0, double p1, double s0, double s1)
    {
        // ES's testClassificationProbability: ES lists top classes by score; the expected values are per position.
        var evaluator = Evaluator(
            Ensemble("classification", """{"weighted_mode":{"weights":[0.7,0.5,1.0],"num_classes":2}}""", $"{Tree1},{Tree2},{Tree3}",
                """ "classification_weights":[0.7,0.3],"classification_labels":["zero","one"], """),
            Classification2, "foo", "bar");
        var top = evaluator.Infer(Doc(doc))["top_classes"]!.AsArray();
        Assert.Equal(p0, top[0]!["class_probability"]!.GetValue<double>(), 8);
        Assert.Equal(p1, top[1]!["class_probability"]!.GetValue<double>(), 8);
        Assert.Equal(s0, top[0]!["class_score"]!.GetValue<double>(), 8);
        Assert.Equal(s1, top[1]!["class_score"]!.GetValue<double>(), 8);
    }

    [Fact]
    public void Top_classes_are_ranked_by_score_not_probability()
    {
        var evaluator = Evaluator(
            Ensemble("classification", """{"weighted_mode":{"weights":[0.7,0.5,1.0],"num_classes":2}}""", $"{Tree1},{Tree2},{Tree3}",
                """ "classification_weights":[0.7,0.3],"classification_labels":["zero","one"], """),
            Classification2, "foo", "bar");
        // Class "one" is more probable (0.69) but "zero" scores higher (0.217 > 0.207), so "zero" wins.
        var result = evaluator.Infer(Doc("""{"foo":2.0,"bar":0.7}"""));
        Assert.Equal("zero", result["predicted_value"]!.GetValue<string>());
        Assert.Equal(0.310025518, Number(result, "prediction_probability"), 8);
        Assert.Equal(0.217017863, Number(result, "prediction_score"), 8);
        Assert.Equal(["zero", "one"], result["top_classes"]!.AsArray().Select(c => c!["class_name"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("""{"foo":0.4,"bar":0.0}""", "1")]
    [InlineData("""{"foo":2.0,"bar":0.7}""", "1")]
    [InlineData("""{"foo":0.0,"bar":1.0}""", "1")]
    [InlineData("""{"foo":0.3,"bar":null}""", "0")]
    public void Weighted_mode_picks_the_class_ES_picks(string doc, string expected)
    {
        // ES's testClassificationInference.
        var evaluator = Evaluator(Ensemble("classification", """{"weighted_mode":{"weights":[0.7,0.5,1.0],"num_classes":2}}""", $"{Tree1},{Tree2},{Tree3}"),
            """{"classification":{}}""", "foo", "bar");
        var result = evaluator.Infer(Doc(doc));
        Assert.Equal(expected, result["predicted_value"]!.GetValue<string>());
        Assert.Null(result["top_classes"]);
    }

    [Theory]
    [InlineData("""{"foo":0.4,"bar":0.0}""", "2")]
    [InlineData("""{"foo":2.0,"bar":0.7}""", "1")]
    [InlineData("""{"foo":0.0,"bar":1.0}""", "1")]
    [InlineData("""{"foo":0.6,"bar":null}""", "1")]
    public void Weighted_mode_with_three_classes_matches_ES(string doc, string expected)
    {
        // ES's testMultiClassClassificationInference.
        const string t1 = """
            {"tree":{"feature_names":["foo","bar"],"tree_structure":[
              {"node_index":0,"split_feature":0,"threshold":0.5,"left_child":1,"right_child":2},
              {"node_index":1,"leaf_value":2.0},
              {"node_index":2,"split_feature":1,"threshold":0.8,"left_child":3,"right_child":4},
              {"node_index":3,"leaf_value":0.0},
              {"node_index":4,"leaf_value":1.0}]}}
            """;
        const string t2 = """
            {"tree":{"feature_names":["foo","bar"],"tree_structure":[
              {"node_index":0,"split_feature":1,"threshold":0.5,"left_child":1,"right_child":2},
              {"node_index":1,"leaf_value":2.0},
              {"node_index":2,"leaf_value":1.0}]}}
            """;
        const string t3 = """
            {"tree":{"feature_names":["foo","bar"],"tree_structure":[
              {"node_index":0,"split_feature":1,"threshold":2.0,"left_child":1,"right_child":2},
              {"node_index":1,"leaf_value":1.0},
              {"node_index":2,"leaf_value":0.0}]}}
            """;
        var evaluator = Evaluator(Ensemble("classification", """{"weighted_mode":{"weights":[0.7,0.5,1.0],"num_classes":3}}""", $"{t1},{t2},{t3}"),
            """{"classification":{}}""", "foo", "bar");
        Assert.Equal(expected, evaluator.Infer(Doc(doc))["predicted_value"]!.GetValue<string>());
    }

    private const string RegressionTree1 = """
        {"tree":{"feature_names":["foo","bar"],"tree_structure":[
          {"node_index":0,"split_feature":0,"threshold":0.5,"left_child":1,"right_child":2},
          {"node_index":1,"leaf_value":0.3},
          {"node_index":2,"split_feature":1,"threshold":0.8,"left_child":3,"right_child":4},
          {"node_index":3,"leaf_value":0.1},
          {"node_index":4,"leaf_value":0.2}]}}
        """;
    private const string RegressionTree2 = """
        {"tree":{"feature_names":["foo","bar"],"tree_structure":[
          {"node_index":0,"split_feature":0,"threshold":0.5,"left_child":1,"right_child":2},
          {"node_index":1,"leaf_value":1.5},
          {"node_index":2,"leaf_value":0.9}]}}
        """;

    [Theory]
    [InlineData("""{"weighted_sum":{"weights":[0.5,0.5]}}""", """{"foo":0.4,"bar":0.0}""", 0.9)]
    [InlineData("""{"weighted_sum":{"weights":[0.5,0.5]}}""", """{"foo":2.0,"bar":0.7}""", 0.5)]
    [InlineData("""{"weighted_sum":{}}""", """{"foo":0.4,"bar":0.0}""", 1.8)]
    [InlineData("""{"weighted_sum":{}}""", """{"foo":2.0,"bar":0.7}""", 1.0)]
    [InlineData("""{"weighted_sum":{}}""", """{"foo":0.3,"bar":null}""", 1.8)]
    public void Weighted_sum_matches_ES(string aggregator, string doc, double expected)
    {
        // ES's testRegressionInference.
        var evaluator = Evaluator(Ensemble("regression", aggregator, $"{RegressionTree1},{RegressionTree2}"), """{"regression":{}}""", "foo", "bar");
        Assert.Equal(expected, Number(evaluator.Infer(Doc(doc)), "predicted_value"), 10);
    }

    [Fact]
    public void Weighted_sum_is_the_default_aggregator()
    {
        var evaluator = Evaluator("""
            {"trained_model":{"ensemble":{"feature_names":["foo","bar"],"trained_models":[
            """ + RegressionTree1 + "," + RegressionTree2 + "]} } }", """{"regression":{}}""", "foo", "bar");
        Assert.Equal(1.8, Number(evaluator.Infer(Doc("""{"foo":0.4,"bar":0.0}""")), "predicted_value"), 10);
    }

    [Fact]
    public void Exponent_is_exp_of_the_weighted_sum()
    {
        var evaluator = Evaluator(Ensemble("regression", """{"exponent":{"weights":[2.0,1.0]}}""", $"{RegressionTree1},{RegressionTree2}"),
            """{"regression":{}}""", "foo", "bar");
        Assert.Equal(Math.Exp(2 * 0.3 + 1.5), Number(evaluator.Infer(Doc("""{"foo":0.4}""")), "predicted_value"), 10);
    }

    [Fact]
    public void Logistic_regression_binary_is_the_sigmoid_of_the_weighted_sum()
    {
        var evaluator = Evaluator(
            Ensemble("classification", """{"logistic_regression":{"weights":[1.0,2.0]}}""", $"{RegressionTree1},{RegressionTree2}",
                """ "classification_labels":["no","yes"], """),
            """{"classification":{"num_top_classes":-1}}""", "foo", "bar");
        var result = evaluator.Infer(Doc("""{"foo":2.0,"bar":0.9}"""));
        var p = 1 / (1 + Math.Exp(-(0.2 + 2 * 0.9)));
        Assert.Equal("yes", result["predicted_value"]!.GetValue<string>());
        Assert.Equal(p, Number(result, "prediction_probability"), 12);
        var top = result["top_classes"]!.AsArray();
        Assert.Equal(1 - p, top[1]!["class_probability"]!.GetValue<double>(), 12);
    }

    [Fact]
    public void Logistic_regression_over_multi_valued_leaves_is_a_softmax()
    {
        const string tree = """
            {"tree":{"feature_names":["foo"],"target_type":"classification","tree_structure":[
              {"node_index":0,"split_feature":0,"threshold":0.5,"left_child":1,"right_child":2},
              {"node_index":1,"leaf_value":[0.1,0.5,0.2]},
              {"node_index":2,"leaf_value":[0.9,0.1,0.0]}]}}
            """;
        var evaluator = Evaluator(Ensemble("classification", """{"logistic_regression":{}}""", $"{tree},{tree}"),
            """{"classification":{"num_top_classes":3}}""", "foo");
        var result = evaluator.Infer(Doc("""{"foo":0.1}"""));
        var expected = TreeTests.SoftMax([0.2, 1.0, 0.4]);
        Assert.Equal("1", result["predicted_value"]!.GetValue<string>());
        Assert.Equal(expected[1], Number(result, "prediction_probability"), 12);
        Assert.Equal(["1", "2", "0"], result["top_classes"]!.AsArray().Select(c => c!["class_name"]!.GetValue<string>()));
    }

    [Fact]
    public void Logistic_regression_on_a_regression_target_answers_the_winning_index()
    {
        // ES allows logistic_regression for regression; the value is aggregate() of [1-p, p], i.e. 0 or 1.
        var evaluator = Evaluator(Ensemble("regression", """{"logistic_regression":{}}""", $"{RegressionTree1},{RegressionTree2}"),
            """{"regression":{}}""", "foo", "bar");
        Assert.Equal("""{"predicted_value":1.0}""", evaluator.Infer(Doc("""{"foo":0.4}""")).ToJsonString());
    }

    [Fact]
    public void Ensemble_reads_its_trees_feature_names_not_its_own()
    {
        // The ensemble lists [x, y] but its trees split on foo and bar, each by its own feature_names order.
        var evaluator = Evaluator("""
            {"trained_model":{"ensemble":{"feature_names":["x","y"],"aggregate_output":{"weighted_sum":{}},"trained_models":[
              {"tree":{"feature_names":["bar","foo"],"tree_structure":[
                {"node_index":0,"split_feature":1,"threshold":0.5,"left_child":1,"right_child":2},
                {"node_index":1,"leaf_value":1.0},{"node_index":2,"leaf_value":10.0}]}},
              {"tree":{"feature_names":["foo","bar"],"tree_structure":[
                {"node_index":0,"split_feature":1,"threshold":0.5,"left_child":1,"right_child":2},
                {"node_index":1,"leaf_value":100.0},{"node_index":2,"leaf_value":1000.0}]}}]} } }
            """, """{"regression":{}}""", "foo", "bar", "x", "y");
        Assert.Equal(1010.0, Number(evaluator.Infer(Doc("""{"foo":0.9,"bar":0.9,"x":0,"y":0}""")), "predicted_value"));
        Assert.Equal(101.0, Number(evaluator.Infer(Doc("""{"foo":0.1,"bar":0.1}""")), "predicted_value"));
    }

    [Fact]
    public void Nested_ensemble_contributes_its_aggregate()
    {
        var evaluator = Evaluator(Ensemble("regression", """{"weighted_sum":{"weights":[1.0,10.0]}}""",
            RegressionTree2 + """,{"ensemble":{"feature_names":["foo","bar"],"aggregate_output":{"exponent":{}},"trained_models":[""" + RegressionTree1 + "]}}"),
            """{"regression":{}}""", "foo", "bar");
        Assert.Equal(1.5 + 10 * Math.Exp(0.3), Number(evaluator.Infer(Doc("""{"foo":0.1}""")), "predicted_value"), 10);
    }

    [Fact]
    public void Weighted_mode_refuses_leaf_values_that_are_not_classes()
    {
        const string tree = """
            {"tree":{"feature_names":["foo"],"tree_structure":[
              {"node_index":0,"split_feature":0,"threshold":0.5,"left_child":1,"right_child":2},
              {"node_index":1,"leaf_value":0.5},{"node_index":2,"leaf_value":5.0}]}}
            """;
        var evaluator = Evaluator(Ensemble("classification", """{"weighted_mode":{"num_classes":2}}""", tree), """{"classification":{}}""", "foo");
        var notWhole = Assert.Throws<ElasticsearchException>(() => evaluator.Infer(Doc("""{"foo":0.1}""")));
        Assert.Equal("values must be whole, non-infinite, and positive", notWhole.Reason);
        var tooLarge = Assert.Throws<ElasticsearchException>(() => evaluator.Infer(Doc("""{"foo":0.9}""")));
        Assert.Equal("values contain entries larger than expected max of [1]", tooLarge.Reason);
        Assert.Equal(400, tooLarge.Status);
    }

    [Fact]
    public void Iris_random_forest_from_ES_classifies_the_three_species()
    {
        // ES's InferenceDefinitionTests.testMultiClassIrisInference: a compressed 10-tree forest.
        var evaluator = Grains.Inference.Trees.TreeModelEvaluator.Create(
            Config("""{"classification":{}}""", ["sepal_length", "sepal_width", "petal_length", "petal_width"]),
            Grains.Models.TreeEnsembleDefinition.ParseCompressed(Convert.FromBase64String(IrisForest), 1L << 30));
        Assert.Equal("Iris-setosa", Species("""{"sepal_length":5.1,"sepal_width":3.5,"petal_length":1.4,"petal_width":0.2}"""));
        Assert.Equal("Iris-versicolor", Species("""{"sepal_length":7.0,"sepal_width":3.2,"petal_length":4.7,"petal_width":1.4}"""));
        Assert.Equal("Iris-virginica", Species("""{"sepal_length":6.5,"sepal_width":3.0,"petal_length":5.2,"petal_width":2.0}"""));

        string Species(string doc) => evaluator.Infer(Doc(doc))["predicted_value"]!.GetValue<string>();
    }

    private const string IrisForest =
        "H4sIAPbiMl4C/+1b246bMBD9lVWet8jjG3b/oN9QVYgmToLEkghIL6r23wukl90YxRMGlt2WPKwEC/gYe2bOnBl+rOoyzQq3SR4OG5ev3t/9WLmicg+fc9cd1Gm5c3VSfz+2x6t1nlZVts3WaZ0ditX93Wrr0vpUuqRIH1zVXPJxVbljmie5K3b1vr3ifPw125wPj65+9u/z8fnfn+4vh0jy9LPLzw/+UGbVu8rVhyptb+wOv7iyytaH/FD+PZWVu6xo7u8e92x+3XOaSZVurtm1QydVXZ7W7XPPcIoGWpIVG/etOWbNRRu3zqp28r+B5bVrH5a7bZ2s91m+aU5Cc6LMdvu/Z3gL55hndfILdnNOtGPuS1ftD901LDKs+wFYziy3j/d3FwjgKoJ0m3xJ81N7kvn3cix64aEH1gOfX8CXkVEtemFAahvz2IcgsBCkB0GhEMTKH1Ri3xn49yosYO0BjhErDpGy3Y9JLbjSRvoQNAF+jIVvPPi2Bz67gK8iK1v0ptmsWoHoWXFDQG+x9/IeQ8Hbqm+swBGT15dr1wMCKDNA2yv0GKxE7b4+cwFBWDKQ+BlfDSgsat43tH94xD49diMtoeEVhgaN2mi6iwzMKqFjKUDPEBqCrmq6OHHd0PViMreajEEFJxlaccAi4B4CgdhzHBHdOcFqCSYTI14g2WS2z0007DfAe4Hy7DdkrI2I+9yGIhitJhhtTBjXYN+axcX1Ab7Oom2P+RgAtffDLj/A0a5vfkAbL/jWCwJHj9jT3afMzSQtQJYEhR6ibQ984+McsYQqgm4baTBKMB6LHhDo/Aj8BInDcI6q0ePG/rgMx+57hkXnU+AnVGBxCWH3zq3ijclwI/tW3lC2jSVsWM4oN1OSIc4XkjRGXjGEosylOUkUQ7AhhkBgSXYc1YvAksw4PG1kGWsAT5tOxbruOKbTnwIkSYxD1MbXsWAIUwMKzeGUeDUbRwI9Fkek5CiwqAM3Bz6NUgdUt+vBslhIo8UM6kDQac4kDiicpHfe+FwY2SQI5q3oadvnoQ3hMHEpCaHUgkqoVcRCG5aiKzCUCN03cUtJ4ikJxZTVlcWvDvarL626DiiVLH71pf0qG1y9H7mEPSQBNoTtQpFbaNzfDFfXSNJqPFJBkFb/1iiNLxhSAW3u4Ns7qHHi+i1F9fmyj1vV0sDIZonP0wh+waxjLr1vOPcmxORe7n3pKOKIhVp9Rtb4+Owa3xCX/TpFPnrig6nKTNisNl8aNEKQRfQITh9kG/NhTzcvpwRZoARZvkh8S6h7Oz1zIatZeuYWk5nvC4TJ2aFFJXBCTkcO9UuQQ0qb3FXdx4xTPH6dBeApP0CQ43QejN8kd7l64jI1krMVgJfPEf7h3uq3o/K/ztZqP1QKFagz/G+t1XxwjeIFuqkRbXoTdlOTGnwCIoKZ6ku1AbrBoN6oCdX56w3UEOO0y2B9gaLbAYWcAdpeweKa2IfIT2jz5QzXxD6AoP+DrdXtxeluV7pdWrvkcKqPp7rjS19d+wp/fff/5Ez3FPjzFNyfdpTi9JB0sDp2JR7b309mn5HuPkEAAA==";
}
