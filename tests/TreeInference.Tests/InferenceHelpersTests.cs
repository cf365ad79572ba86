using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Inference.Trees;
using static TrainedModelsOrleans.TreeInference.Tests.TestModels;

namespace TrainedModelsOrleans.TreeInference.Tests;

/// <summary>ES's InferenceHelpersTests (toDouble) and topClasses, plus the Java renderings results depend on.</summary>
public class InferenceHelpersTests
{
    [Theory]
    [InlineData("0.5", 0.5)]
    [InlineData("-0.5", -0.5)]
    [InlineData("5", 5.0)]
    [InlineData("-5", -5.0)]
    [InlineData(" 5.5 ", 5.5)]
    [InlineData("1e2", 100.0)]
    [InlineData("2.5d", 2.5)]
    public void String_values_are_read_as_Java_reads_doubles(string text, double expected) =>
        Assert.Equal(expected, JavaValues.ParseDouble(text));

    [Theory]
    [InlineData("")]
    [InlineData("notADouble")]
    [InlineData("1,5")]
    public void Unreadable_strings_are_missing(string text) => Assert.True(double.IsNaN(JavaValues.ParseDouble(text)));

    [Theory]
    [InlineData(1.0, "1.0")]
    [InlineData(0.1, "0.1")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(100.0, "100.0")]
    [InlineData(0.001, "0.001")]
    [InlineData(0.0001, "1.0E-4")]
    [InlineData(1234567.0, "1234567.0")]
    [InlineData(12345678.0, "1.2345678E7")]
    [InlineData(1e21, "1.0E21")]
    [InlineData(0.0, "0.0")]
    [InlineData(double.NaN, "NaN")]
    public void Doubles_print_as_Java_prints_them(double value, string expected) =>
        Assert.Equal(expected, JavaValues.DoubleToString(value));

    [Theory]
    [InlineData(1.0, "1.0")]
    [InlineData(7.0, "7.0")]
    [InlineData(-3.0, "-3.0")]
    [InlineData(0.0, "0.0")]
    [InlineData(0.25, "0.25")]
    [InlineData(double.NaN, "\"NaN\"")]
    [InlineData(double.PositiveInfinity, "\"Infinity\"")]
    public void Result_numbers_are_written_as_Jackson_writes_doubles(double value, string json)
    {
        var node = JavaValues.Number(value);
        Assert.Equal(json, node.ToJsonString());
        if (double.IsFinite(value)) Assert.Equal(value, node.GetValue<double>());
    }

    private static TreeModelEvaluator ThreeClasses(string config, string labels = """["a","b","c"]""") => Evaluator($$"""
        {"trained_model":{"tree":{"feature_names":["foo"],"target_type":"classification","classification_labels":{{labels}},
          "tree_structure":[
            {"node_index":0,"split_feature":0,"threshold":0.5,"left_child":1,"right_child":2},
            {"node_index":1,"leaf_value":[1.0,3.0,1.0]},
            {"node_index":2,"leaf_value":[2.0,2.0,2.0]}]} } }
        """, config, "foo");

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(5, 3)]
    [InlineData(-1, 3)]
    public void Num_top_classes_limits_the_list_and_minus_one_means_all(int numTopClasses, int expected)
    {
        var result = ThreeClasses($$$"""{"classification":{"num_top_classes":{{{numTopClasses}}}}}""").Infer(Doc("""{"foo":0.1}"""));
        Assert.Equal(expected, result["top_classes"]?.AsArray().Count ?? 0);
        Assert.Equal("b", result["predicted_value"]!.GetValue<string>());
    }

    [Fact]
    public void Equal_scores_keep_class_order()
    {
        var result = ThreeClasses("""{"classification":{"num_top_classes":-1}}""", """["z","y","x"]""").Infer(Doc("""{"foo":0.9}"""));
        Assert.Equal("z", result["predicted_value"]!.GetValue<string>());
        Assert.Equal(["z", "y", "x"], result["top_classes"]!.AsArray().Select(c => c!["class_name"]!.GetValue<string>()));
        Assert.Equal(1.0 / 3, Number(result, "prediction_probability"), 15);
    }

    [Fact]
    public void Label_count_that_differs_from_the_probabilities_is_a_server_error()
    {
        var evaluator = ThreeClasses("""{"classification":{}}""", """["a","b"]""");
        var error = Assert.Throws<ElasticsearchException>(() => evaluator.Infer(Doc("""{"foo":0.1}""")));
        Assert.Equal(500, error.Status);
        Assert.Equal("model returned classification probabilities of size [3] which is not equal to classification labels size [2]", error.Reason);
    }

    [Fact]
    public void Boolean_field_type_refuses_classes_other_than_zero_and_one()
    {
        var evaluator = ThreeClasses("""{"classification":{"prediction_field_type":"boolean"}}""", """["x","y","z"]""");
        // Labels that read neither as numbers nor as booleans fall back to the class index: 0 → false, 1 → true.
        Assert.False(evaluator.Infer(Doc("""{"foo":0.9}"""))["predicted_value"]!.GetValue<bool>());
        Assert.True(evaluator.Infer(Doc("""{"foo":0.1}"""))["predicted_value"]!.GetValue<bool>());

        var all = ThreeClasses("""{"classification":{"prediction_field_type":"boolean","num_top_classes":-1}}""", """["x","y","z"]""");
        var error = Assert.Throws<ElasticsearchException>(() => all.Infer(Doc("""{"foo":0.1}""")));
        Assert.Equal(400, error.Status);
        Assert.Equal("Cannot transform numbers other than 0.0 or 1.0 to boolean. Provided number [2.0]", error.Reason);
    }
}
