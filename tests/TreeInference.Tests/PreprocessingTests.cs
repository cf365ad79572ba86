using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Inference.Trees;
using static TrainedModelsOrleans.TreeInference.Tests.TestModels;

namespace TrainedModelsOrleans.TreeInference.Tests;

/// <summary>one_hot_encoding, target_mean_encoding and frequency_encoding as ES applies them.</summary>
public class PreprocessingTests
{
    /// <summary>ES's InferenceDefinitionTests.getClassificationDefinition: all three encoders feeding a two-tree weighted_mode ensemble.</summary>
    private const string ComplexDefinition = """
        {
          "preprocessors": [
            {"one_hot_encoding": {"field": "col1", "hot_map": {"male": "col1_male", "female": "col1_female"}}},
            {"target_mean_encoding": {"field": "col2", "feature_name": "col2_encoded", "target_map": {"S": 5.0, "M": 10.0, "L": 20}, "default_value": 5.0}},
            {"frequency_encoding": {"field": "col3", "feature_name": "col3_encoded", "frequency_map": {"none": 0.75, "true": 0.10, "false": 0.15}}}
          ],
          "trained_model": {"ensemble": {
            "feature_names": ["col1_male", "col1_female", "col2_encoded", "col3_encoded", "col4"],
            "aggregate_output": {"weighted_mode": {"num_classes": 2, "weights": [0.5, 0.5]}},
            "target_type": "classification",
            "classification_labels": ["first", "second"],
            "trained_models": [
              {"tree": {"feature_names": ["col1_male", "col1_female", "col4"], "target_type": "regression", "tree_structure": [
                {"node_index": 0, "split_feature": 0, "number_samples": 100, "split_gain": 12.0, "threshold": 10.0, "decision_type": "lte", "default_left": true, "left_child": 1, "right_child": 2},
                {"node_index": 1, "number_samples": 80, "leaf_value": 1},
                {"node_index": 2, "number_samples": 20, "leaf_value": 0}]}},
              {"tree": {"feature_names": ["col2_encoded", "col3_encoded", "col4"], "target_type": "regression", "tree_structure": [
                {"node_index": 0, "split_feature": 0, "split_gain": 12.0, "number_samples": 180, "threshold": 10.0, "decision_type": "lte", "default_left": true, "left_child": 1, "right_child": 2},
                {"node_index": 1, "number_samples": 10, "leaf_value": 1},
                {"node_index": 2, "number_samples": 170, "leaf_value": 0}]}}
            ]}}
        }
        """;

    private static TreeModelEvaluator Complex() =>
        Evaluator(ComplexDefinition, """{"classification":{"num_top_classes":2}}""", "col1", "col2", "col3", "col4");

    [Fact]
    public void Encoded_document_is_classified_as_ES_classifies_it()
    {
        // ES's testComplexInferenceDefinitionInfer: female → col1_male 0; M → 10.0 ≤ 10; both trees vote class 1.
        var result = Complex().Infer(Doc("""{"col1":"female","col2":"M","col3":"none","col4":10}"""));
        Assert.Equal("second", result["predicted_value"]!.GetValue<string>());
        Assert.Equal(1.0, Number(result, "prediction_probability"));
    }

    [Fact]
    public void Target_mean_encoding_uses_the_default_for_unseen_values()
    {
        // L → 20 > 10 sends the second tree right (class 0); an unseen value takes default_value 5.0 (left, class 1).
        Assert.Equal("first", Complex().Infer(Doc("""{"col1":"male","col2":"L"}"""))["predicted_value"]!.GetValue<string>());
        var unseen = Complex().Infer(Doc("""{"col1":"female","col2":"XL"}"""));
        Assert.Equal("second", unseen["predicted_value"]!.GetValue<string>());
    }

    private const string EncodedRegression = """
        {
          "preprocessors": [
            {"one_hot_encoding": {"field": "animal", "hot_map": {"cat": "animal_cat", "dog": "animal_dog", "1": "animal_one", "1.5": "animal_one_and_half"}}},
            {"target_mean_encoding": {"field": "size", "feature_name": "size_mean", "target_map": {"S": 1.0, "L": 3.0, "true": 7.0}, "default_value": 2.0}},
            {"frequency_encoding": {"field": "color", "feature_name": "color_freq", "frequency_map": {"red": 0.25, "blue": 0.75}}}
          ],
          "trained_model": {"ensemble": {"feature_names": [], "trained_models": [
            {"tree": {"feature_names": ["animal_cat"], "tree_structure": [
              {"node_index": 0, "split_feature": 0, "threshold": 0.5, "left_child": 1, "right_child": 2},
              {"node_index": 1, "leaf_value": 0.0}, {"node_index": 2, "leaf_value": 1.0}]}},
            {"tree": {"feature_names": ["animal_dog"], "tree_structure": [
              {"node_index": 0, "split_feature": 0, "threshold": 0.5, "left_child": 1, "right_child": 2},
              {"node_index": 1, "leaf_value": 0.0}, {"node_index": 2, "leaf_value": 10.0}]}},
            {"tree": {"feature_names": ["animal_one"], "tree_structure": [
              {"node_index": 0, "split_feature": 0, "threshold": 0.5, "left_child": 1, "right_child": 2},
              {"node_index": 1, "leaf_value": 0.0}, {"node_index": 2, "leaf_value": 1000.0}]}},
            {"tree": {"feature_names": ["animal_one_and_half"], "tree_structure": [
              {"node_index": 0, "split_feature": 0, "threshold": 0.5, "left_child": 1, "right_child": 2},
              {"node_index": 1, "leaf_value": 0.0}, {"node_index": 2, "leaf_value": 10000.0}]}},
            {"tree": {"feature_names": ["size_mean"], "tree_structure": [
              {"node_index": 0, "split_feature": 0, "threshold": 1.5, "left_child": 1, "right_child": 2},
              {"node_index": 1, "leaf_value": 100.0}, {"node_index": 2, "split_feature": 0, "threshold": 2.5, "left_child": 3, "right_child": 4},
              {"node_index": 3, "leaf_value": 200.0}, {"node_index": 4, "leaf_value": 300.0}]}},
            {"tree": {"feature_names": ["color_freq"], "tree_structure": [
              {"node_index": 0, "split_feature": 0, "threshold": 0.1, "default_left": true, "left_child": 1, "right_child": 2},
              {"node_index": 1, "leaf_value": 0.5}, {"node_index": 2, "leaf_value": 0.25}]}}
          ]}}
        }
        """;

    private static double Predict(string doc) =>
        Number(Evaluator(EncodedRegression, """{"regression":{}}""", "animal", "size", "color").Infer(Doc(doc)), "predicted_value");

    [Theory]
    [InlineData("""{"animal":"cat","size":"S","color":"red"}""", 1.0 + 100 + 0.25)]
    [InlineData("""{"animal":"dog","size":"L","color":"blue"}""", 10.0 + 300 + 0.25)]
    [InlineData("""{"animal":"bird","size":"M","color":"green"}""", 200 + 0.5)] // unseen: all one-hot columns 0, target mean default 2.0, frequency 0.0
    public void Encoders_write_the_features_the_trees_read(string doc, double expected) => Assert.Equal(expected, Predict(doc), 10);

    [Fact]
    public void Missing_encoded_field_leaves_its_features_missing()
    {
        // No animal: the one-hot columns are absent (not 0), so every split takes its default (right here, as default_left is false).
        Assert.Equal(1.0 + 10 + 1000 + 10000 + 100 + 0.25, Predict("""{"size":"S","color":"red"}"""), 10);
    }

    [Theory]
    [InlineData("""{"animal":1,"size":"S","color":"red"}""", 1000.0)] // Integer 1 → "1"
    [InlineData("""{"animal":1.5,"size":"S","color":"red"}""", 10000.0)] // Double 1.5 → "1.5"
    [InlineData("""{"animal":1.0,"size":"S","color":"red"}""", 0.0)] // Double 1.0 → "1.0", not "1"
    public void Non_string_values_are_looked_up_by_their_Java_text(string doc, double oneHotPart)
    {
        Assert.Equal(oneHotPart + 100 + 0.25, Predict(doc), 10);
    }

    [Fact]
    public void Boolean_values_are_looked_up_as_true_and_false()
    {
        Assert.Equal(300 + 0.25, Predict("""{"animal":"bird","size":true,"color":"red"}"""), 10);
    }

    [Theory]
    [InlineData("n_gram_encoding", """{"field":"text","feature_prefix":"f","n_grams":[1],"length":2}""")]
    [InlineData("custom_word_embedding", """{"embedding_quant_scaler":[],"embedding_weights":[],"src_field":"text","dest_field":"emb"}""")]
    public void Other_preprocessors_are_refused_when_the_evaluator_is_built(string name, string settings)
    {
        var definition = Definition($$"""
            {"preprocessors":[{"{{name}}":{{settings}}}],
             "trained_model":{"tree":{"feature_names":["f"],"tree_structure":[{"node_index":0,"leaf_value":1.0}]} } }
            """);
        var error = Assert.Throws<ElasticsearchException>(() => TreeModelEvaluator.Create(Config("""{"regression":{}}""", ["text"]), definition));
        Assert.Equal(400, error.Status);
        Assert.Equal($"preprocessor [{name}] is not supported for inference; supported preprocessors are [one_hot_encoding, target_mean_encoding, frequency_encoding]", error.Reason);
    }
}
