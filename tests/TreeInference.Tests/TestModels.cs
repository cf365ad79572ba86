using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Inference.Trees;
using TrainedModelsOrleans.Grains.Models;

namespace TrainedModelsOrleans.TreeInference.Tests;

/// <summary>Builds evaluators the way the service does: a stored config plus a parsed, validated definition.</summary>
internal static class TestModels
{
    public const string ModelId = "a-tree-model";

    public static TrainedModelConfig Config(string inferenceConfigJson, IReadOnlyList<string> inputFields, IReadOnlyDictionary<string, string>? defaultFieldMap = null)
    {
        var parsed = InferenceConfigParser.Parse(inferenceConfigJson);
        return new TrainedModelConfig
        {
            ModelId = ModelId,
            ModelType = TrainedModelType.TreeEnsemble,
            Input = new TrainedModelInput { FieldNames = inputFields },
            DefaultFieldMap = defaultFieldMap,
            InferenceConfig = parsed.ToJson(),
            TaskType = parsed.TaskType,
        };
    }

    public static TreeEnsembleDefinition Definition(string json)
    {
        var definition = TreeEnsembleDefinition.Parse(json);
        definition.Validate();
        return definition;
    }

    public static TreeModelEvaluator Evaluator(string definitionJson, string inferenceConfigJson, params string[] inputFields) =>
        TreeModelEvaluator.Create(Config(inferenceConfigJson, inputFields), Definition(definitionJson));

    public static JsonObject Doc(string json) => JsonNode.Parse(json)!.AsObject();

    public static JsonObject Update(string json) => JsonNode.Parse(json)!.AsObject();

    public static double Number(JsonObject result, string field) => result[field]!.GetValue<double>();

    /// <summary>
    /// ES's TreeInferenceModelTests tree: root splits foo at 0.5 (default left), its right child is
    /// the leaf 0.3, its left child splits bar at 0.8 (default left) into leaves 0.1 and 0.2.
    /// </summary>
    public static string FooBarTree(string targetType = "regression", double left = 0.1, double right = 0.2, double rootRight = 0.3, string? labels = null) => $$"""
        {"trained_model":{"tree":{
          "feature_names":["foo","bar"],
          "target_type":"{{targetType}}",
          {{(labels is null ? "" : $"\"classification_labels\":{labels},")}}
          "tree_structure":[
            {"node_index":0,"split_feature":0,"threshold":0.5,"default_left":true,"left_child":1,"right_child":2},
            {"node_index":1,"split_feature":1,"threshold":0.8,"default_left":true,"left_child":3,"right_child":4},
            {"node_index":2,"leaf_value":{{Java(rootRight)}}},
            {"node_index":3,"leaf_value":{{Java(left)}}},
            {"node_index":4,"leaf_value":{{Java(right)}}}
          ]} } }
        """;

    private static string Java(double d) => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
