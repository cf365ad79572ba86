using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Inference.Trees;
using TrainedModelsOrleans.Grains.Models;
using static TrainedModelsOrleans.TreeInference.Tests.TestModels;

namespace TrainedModelsOrleans.TreeInference.Tests;

/// <summary>What the evaluator answers for a document: field names, config updates, warnings, errors.</summary>
public class ResultsTests
{
    private static TreeModelEvaluator RegressionTree(params string[] inputs) =>
        Evaluator(FooBarTree(), """{"regression":{}}""", inputs.Length == 0 ? ["foo", "bar"] : inputs);

    private static TreeModelEvaluator ClassificationTree(string config = """{"classification":{}}""") =>
        Evaluator(FooBarTree("classification", left: 1.0, right: 0.0, rootRight: 1.0, labels: """["cat","dog"]"""), config, "foo", "bar");

    [Fact]
    public void Document_without_any_input_field_gets_ES_warning()
    {
        var result = RegressionTree().Infer(Doc("""{"other":1.0}"""));
        Assert.Equal("""{"warning":"Model [a-tree-model] could not be inferred as all fields were missing"}""", result.ToJsonString());
        Assert.Equal(result.ToJsonString(), RegressionTree().Infer(Doc("""{"foo":null,"bar":null}""")).ToJsonString());
    }

    [Fact]
    public void Only_input_fields_are_read()
    {
        // bar is a feature but not an input field: ES drops it before the model sees the document.
        var evaluator = RegressionTree("foo");
        Assert.Equal(0.1, Number(evaluator.Infer(Doc("""{"foo":0.3,"bar":0.9}""")), "predicted_value"));
        Assert.Contains("warning", evaluator.Infer(Doc("""{"bar":0.9}""")).Select(p => p.Key));
    }

    [Fact]
    public void Dotted_input_fields_are_found_in_nested_objects()
    {
        var evaluator = Evaluator("""
            {"trained_model":{"tree":{"feature_names":["a.b.c","bar"],"tree_structure":[
              {"node_index":0,"split_feature":0,"threshold":0.5,"left_child":1,"right_child":2},
              {"node_index":1,"leaf_value":1.0},{"node_index":2,"leaf_value":2.0}]} } }
            """, """{"regression":{}}""", "a.b.c", "bar");
        foreach (var doc in new[] { """{"a.b.c":0.9}""", """{"a":{"b":{"c":0.9}}}""", """{"a":{"b.c":0.9}}""", """{"a.b":{"c":0.9}}""" })
            Assert.Equal(2.0, Number(evaluator.Infer(Doc(doc)), "predicted_value"));
        Assert.Equal(1.0, Number(evaluator.Infer(Doc("""{"a":{"b":{"c":0.1}}}""")), "predicted_value"));
    }

    [Fact]
    public void Default_field_map_fills_input_fields_the_document_lacks()
    {
        var config = Config("""{"regression":{}}""", ["foo", "bar"], new Dictionary<string, string> { ["old_foo"] = "foo" });
        var evaluator = TreeModelEvaluator.Create(config, Definition(FooBarTree()));
        Assert.Equal(0.3, Number(evaluator.Infer(Doc("""{"old_foo":0.9}""")), "predicted_value"));
        // A field already present is not overwritten.
        Assert.Equal(0.1, Number(evaluator.Infer(Doc("""{"old_foo":0.9,"foo":0.1,"bar":0.1}""")), "predicted_value"));
    }

    [Fact]
    public void Results_field_renames_the_prediction()
    {
        var stored = Evaluator(FooBarTree(), """{"regression":{"results_field":"price"}}""", "foo", "bar");
        Assert.Equal("""{"price":0.3}""", stored.Infer(Doc("""{"foo":0.6}""")).ToJsonString());

        var updated = RegressionTree().Infer(Doc("""{"foo":0.6}"""), Update("""{"regression":{"results_field":"my_value"}}"""));
        Assert.Equal("""{"my_value":0.3}""", updated.ToJsonString());
    }

    [Fact]
    public void Classification_update_sets_top_classes_and_their_field()
    {
        var result = ClassificationTree().Infer(Doc("""{"foo":0.6}"""),
            Update("""{"classification":{"num_top_classes":1,"results_field":"animal","top_classes_results_field":"best"}}"""));
        Assert.Equal(
            """{"animal":"dog","best":[{"class_name":"dog","class_probability":1.0,"class_score":1.0}],"prediction_probability":1.0,"prediction_score":1.0}""",
            result.ToJsonString());
    }

    [Theory]
    [InlineData("number", "[0,1]", """{"predicted_value":1,"top_classes":[{"class_name":1,"class_probability":1.0,"class_score":1.0}],""")]
    [InlineData("number", """["a","b"]""", """{"predicted_value":1.0,"top_classes":[{"class_name":1.0,"class_probability":1.0,"class_score":1.0}],""")]
    [InlineData("boolean", """["0","1"]""", """{"predicted_value":true,"top_classes":[{"class_name":true,"class_probability":1.0,"class_score":1.0}],""")]
    [InlineData("boolean", """["true","false"]""", """{"predicted_value":false,"top_classes":[{"class_name":false,"class_probability":1.0,"class_score":1.0}],""")]
    [InlineData("string", """["no","yes"]""", """{"predicted_value":"yes","top_classes":[{"class_name":"yes","class_probability":1.0,"class_score":1.0}],""")]
    public void Prediction_field_type_shapes_class_values(string fieldType, string labels, string expectedStart)
    {
        var evaluator = Evaluator(FooBarTree("classification", left: 1.0, right: 0.0, rootRight: 1.0, labels: labels),
            $$$"""{"classification":{"num_top_classes":1,"prediction_field_type":"{{{fieldType}}}"}}""", "foo", "bar");
        Assert.StartsWith(expectedStart, evaluator.Infer(Doc("""{"foo":0.6}""")).ToJsonString());
    }

    [Fact]
    public void Update_of_the_other_type_is_refused_with_ES_text()
    {
        var error = Assert.Throws<ElasticsearchException>(() =>
            RegressionTree().Infer(Doc("""{"foo":0.6}"""), Update("""{"classification":{"num_top_classes":2}}""")));
        Assert.Equal(400, error.Status);
        Assert.Equal("status_exception", error.Type);
        Assert.Equal("Model [a-tree-model] has inference config of type [regression] which is not supported by inference request of type [classification]", error.Reason);

        var nlp = Assert.Throws<ElasticsearchException>(() => ClassificationTree().Infer(Doc("""{"foo":0.6}"""), Update("""{"pass_through":{}}""")));
        Assert.Equal("Model [a-tree-model] has inference config of type [classification] which is not supported by inference request of type [pass_through]", nlp.Reason);
    }

    [Fact]
    public void Unsupported_update_is_refused_even_when_all_fields_are_missing()
    {
        // LocalModel checks the update before it looks at the document.
        Assert.Throws<ElasticsearchException>(() => RegressionTree().Infer(Doc("{}"), Update("""{"classification":{}}""")));
    }

    [Fact]
    public void Malformed_updates_fail_as_ES_parsing_fails()
    {
        var unknown = Assert.ThrowsAny<ElasticsearchException>(() => RegressionTree().Infer(Doc("""{"foo":0.6}"""), Update("""{"regression":{"num_top_classes":2}}""")));
        Assert.Equal("x_content_parse_exception", unknown.Type);
        Assert.Equal("[1:34] [inference_config] failed to parse field [regression]", unknown.Reason);
        Assert.Equal("[1:16] [regression] unknown field [num_top_classes]", Assert.IsType<ElasticsearchExceptionWithCause>(unknown).RootReason);

        var duplicate = Assert.ThrowsAny<ElasticsearchException>(() =>
            ClassificationTree().Infer(Doc("""{"foo":0.6}"""), Update("""{"classification":{"results_field":"x","top_classes_results_field":"x"}}""")));
        Assert.Equal("Invalid inference config. More than one field is configured as [x]", RootReason(duplicate));

        var reserved = Assert.ThrowsAny<ElasticsearchException>(() =>
            RegressionTree().Infer(Doc("""{"foo":0.6}"""), Update("""{"regression":{"results_field":"warning"}}""")));
        Assert.Equal("Invalid inference config. More than one field is configured as [warning]", RootReason(reserved));

        var fieldType = Assert.ThrowsAny<ElasticsearchException>(() =>
            ClassificationTree().Infer(Doc("""{"foo":0.6}"""), Update("""{"classification":{"prediction_field_type":"colour"}}""")));
        Assert.Contains("failed to parse field [prediction_field_type]", string.Join(" / ", Chain(fieldType)));
        Assert.Equal("No enum constant org.elasticsearch.xpack.core.ml.inference.trainedmodel.PredictionFieldType.COLOUR", RootReason(fieldType));
    }

    private static string RootReason(ElasticsearchException e) => e is ElasticsearchExceptionWithCause c ? c.RootReason : e.Reason;

    private static IEnumerable<string> Chain(ElasticsearchException e) =>
        e is ElasticsearchExceptionWithCause c ? c.Chain().Select(x => x.Reason) : [e.Reason];

    [Fact]
    public void Inference_config_of_the_wrong_target_type_is_refused_with_ES_text()
    {
        var evaluator = Evaluator(FooBarTree(), """{"classification":{}}""", "foo", "bar");
        var error = Assert.Throws<ElasticsearchException>(() => evaluator.Infer(Doc("""{"foo":0.6}""")));
        Assert.Equal("Cannot infer using configuration for [classification] when model target_type is [regression]", error.Reason);
    }

    [Fact]
    public void Feature_importance_request_is_accepted_and_not_computed()
    {
        var result = RegressionTree().Infer(Doc("""{"foo":0.6}"""), Update("""{"regression":{"num_top_feature_importance_values":2}}"""));
        Assert.Equal("""{"predicted_value":0.3}""", result.ToJsonString());
    }

    [Fact]
    public void Same_update_object_is_reused_across_documents()
    {
        var evaluator = RegressionTree();
        var update = Update("""{"regression":{"results_field":"v"}}""");
        Assert.Equal("""{"v":0.3}""", evaluator.Infer(Doc("""{"foo":0.6}"""), update).ToJsonString());
        Assert.Equal("""{"v":0.1}""", evaluator.Infer(Doc("""{"foo":0.1}"""), update).ToJsonString());
        Assert.Equal("""{"predicted_value":0.1}""", evaluator.Infer(Doc("""{"foo":0.1}""")).ToJsonString());
    }
}
