using System.Text.Json.Nodes;
using static TrainedModelsOrleans.TreeInference.Tests.TestModels;

namespace TrainedModelsOrleans.TreeInference.Tests;

/// <summary>ES's TreeInferenceModelTests, through the evaluator: same trees, same documents, same results.</summary>
public class TreeTests
{
    private const string Regression = """{"regression":{}}""";

    [Theory]
    [InlineData("""{"foo":0.6,"bar":0.0}""", 0.3)] // right at the root
    [InlineData("""{"foo":0.3,"bar":0.7}""", 0.1)] // left, left
    [InlineData("""{"foo":0.3,"bar":0.9}""", 0.2)] // left, right
    [InlineData("""{"foo":"0.3","bar":"0.9"}""", 0.2)] // numbers given as strings
    [InlineData("""{"foo":0.3,"bar":null}""", 0.1)] // missing bar takes default_left
    [InlineData("""{"foo":0.3}""", 0.1)]
    public void Tree_follows_the_path_ES_follows(string doc, double expected)
    {
        var evaluator = Evaluator(FooBarTree(), Regression, "foo", "bar");
        Assert.Equal(expected, Number(evaluator.Infer(Doc(doc)), "predicted_value"), 10);
    }

    [Fact]
    public void Regression_result_is_rendered_as_ES_renders_it()
    {
        var evaluator = Evaluator(FooBarTree(rootRight: 1.0), Regression, "foo", "bar");
        Assert.Equal("""{"predicted_value":1.0}""", evaluator.Infer(Doc("""{"foo":0.6,"bar":0.0}""")).ToJsonString());
    }

    [Fact]
    public void Stump_answers_its_leaf_whatever_the_features()
    {
        var evaluator = Evaluator("""{"trained_model":{"tree":{"feature_names":[],"tree_structure":[{"node_index":0,"leaf_value":42.0}]}}}""",
            Regression, "foo", "bar");
        Assert.Equal(42.0, Number(evaluator.Infer(Doc("""{"foo":0.6,"bar":0.0}""")), "predicted_value"));
    }

    [Fact]
    public void Classification_tree_puts_all_probability_on_the_leaf_class()
    {
        // ES's testTreeClassificationProbability: leaves 1.0 (right of root), 1.0 and 0.0 under the left child; labels cat, dog.
        var evaluator = Evaluator(FooBarTree("classification", left: 1.0, right: 0.0, rootRight: 1.0, labels: """["cat","dog"]"""),
            """{"classification":{"num_top_classes":2}}""", "foo", "bar");
        foreach (var doc in new[] { """{"foo":0.6,"bar":0.0}""", """{"foo":0.3,"bar":0.7}""", """{"foo":0.3,"bar":null}""" })
        {
            var result = evaluator.Infer(Doc(doc));
            Assert.Equal(
                """{"predicted_value":"dog","top_classes":[{"class_name":"dog","class_probability":1.0,"class_score":1.0},{"class_name":"cat","class_probability":0.0,"class_score":0.0}],"prediction_probability":1.0,"prediction_score":1.0}""",
                result.ToJsonString());
        }
    }

    [Fact]
    public void Classification_tree_without_labels_names_classes_by_index()
    {
        var evaluator = Evaluator(FooBarTree("classification", left: 2.0, right: 0.0, rootRight: 1.0),
            """{"classification":{"num_top_classes":-1}}""", "foo", "bar");
        var result = evaluator.Infer(Doc("""{"foo":0.3,"bar":0.1}"""));
        Assert.Equal("2", result["predicted_value"]!.GetValue<string>());
        // Three classes (the highest leaf value is 2); ties keep class order.
        Assert.Equal(["2", "0", "1"], result["top_classes"]!.AsArray().Select(c => c!["class_name"]!.GetValue<string>()));
    }

    [Fact]
    public void Multi_valued_leaves_are_class_scores_through_softmax()
    {
        var evaluator = Evaluator("""
            {"trained_model":{"tree":{"feature_names":["foo"],"target_type":"classification","classification_labels":["a","b","c"],
              "tree_structure":[
                {"node_index":0,"split_feature":0,"threshold":0.5,"left_child":1,"right_child":2},
                {"node_index":1,"leaf_value":[1.0,2.0,3.0]},
                {"node_index":2,"leaf_value":[3.0,2.0,1.0]}]}}}
            """, """{"classification":{"num_top_classes":3}}""", "foo");
        var result = evaluator.Infer(Doc("""{"foo":0.1}"""));
        var expected = SoftMax([1.0, 2.0, 3.0]);
        Assert.Equal("c", result["predicted_value"]!.GetValue<string>());
        Assert.Equal(expected[2], Number(result, "prediction_probability"), 12);
        var top = result["top_classes"]!.AsArray();
        Assert.Equal(["c", "b", "a"], top.Select(c => c!["class_name"]!.GetValue<string>()));
        Assert.Equal(expected[0], top[2]!["class_probability"]!.GetValue<double>(), 12);
    }

    [Theory]
    [InlineData("lt", 0.4, 1.0)]
    [InlineData("lt", 0.5, 2.0)]
    [InlineData("lte", 0.5, 1.0)]
    [InlineData("lte", 0.6, 2.0)]
    [InlineData("gt", 0.6, 1.0)]
    [InlineData("gt", 0.5, 2.0)]
    [InlineData("gte", 0.5, 1.0)]
    [InlineData("gte", 0.4, 2.0)]
    public void Decision_type_sends_feature_op_threshold_left(string decisionType, double foo, double expected)
    {
        var evaluator = Evaluator(SingleSplit(decisionType, defaultLeft: false), Regression, "foo", "bar");
        Assert.Equal(expected, Number(evaluator.Infer(Doc($$"""{"foo":{{foo}},"bar":1}""")), "predicted_value"));
    }

    [Theory]
    [InlineData(true, 1.0)]
    [InlineData(false, 2.0)]
    public void Missing_feature_follows_default_left(bool defaultLeft, double expected)
    {
        var evaluator = Evaluator(SingleSplit("lte", defaultLeft), Regression, "foo", "bar");
        // foo is missing, but bar is present so the document is inferred.
        Assert.Equal(expected, Number(evaluator.Infer(Doc("""{"bar":1}""")), "predicted_value"));
        // Values that are not numbers are missing too: booleans, objects, unparsable strings, empty strings.
        foreach (var foo in new[] { "true", """{"x":1}""", "\"cat\"", "\"\"", "[0.1]" })
            Assert.Equal(expected, Number(evaluator.Infer(Doc($$"""{"foo":{{foo}},"bar":1}""")), "predicted_value"));
    }

    [Fact]
    public void Missing_threshold_comparison_with_infinity_takes_default_branch()
    {
        // TreeInferenceModel treats any non-finite value as missing.
        var evaluator = Evaluator(SingleSplit("lte", defaultLeft: false), Regression, "foo", "bar");
        Assert.Equal(2.0, Number(evaluator.Infer(Doc("""{"foo":"-Infinity","bar":1}""")), "predicted_value"));
        Assert.Equal(1.0, Number(evaluator.Infer(Doc("""{"foo":"-1e300","bar":1}""")), "predicted_value"));
    }

    private static string SingleSplit(string decisionType, bool defaultLeft) => $$"""
        {"trained_model":{"tree":{"feature_names":["foo","bar"],"tree_structure":[
          {"node_index":0,"split_feature":0,"threshold":0.5,"decision_type":"{{decisionType}}","default_left":{{(defaultLeft ? "true" : "false")}},"left_child":1,"right_child":2},
          {"node_index":1,"leaf_value":1.0},
          {"node_index":2,"leaf_value":2.0}]} } }
        """;

    internal static double[] SoftMax(double[] values)
    {
        var max = values.Max();
        var exps = values.Select(v => Math.Exp(v - max)).ToArray();
        var sum = exps.Sum();
        return exps.Select(e => e / sum).ToArray();
    }
}
