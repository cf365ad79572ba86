using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.TestSupport;

/// <summary>Bodies for the model-store APIs.</summary>
public static class ModelUploads
{
    public static JsonObject OnnxConfig(string field = "input", string task = "pass_through") => new()
    {
        ["model_type"] = "onnx",
        ["description"] = "a test model",
        ["tags"] = new JsonArray("test"),
        ["inference_config"] = new JsonObject { [task] = new JsonObject() },
        ["input"] = new JsonObject { ["field_names"] = new JsonArray(field) },
    };

    /// <summary>Splits a definition into base64 parts, as the Eland uploader does.</summary>
    public static IReadOnlyList<JsonObject> Parts(byte[] definition, int count)
    {
        var size = (definition.Length + count - 1) / count;
        return Enumerable.Range(0, count).Select(i =>
        {
            var slice = definition.AsSpan(i * size, Math.Min(size, definition.Length - i * size));
            return new JsonObject
            {
                ["definition"] = Convert.ToBase64String(slice),
                ["total_definition_length"] = definition.Length,
                ["total_parts"] = count,
            };
        }).ToArray();
    }

    public static JsonObject TreeModel() => JsonNode.Parse("""
        {
          "input": {"field_names": ["col1"]},
          "inference_config": {"regression": {}},
          "definition": {
            "trained_model": {
              "tree": {
                "feature_names": ["col1"],
                "tree_structure": [
                  {"node_index": 0, "split_feature": 0, "threshold": 5.0, "left_child": 1, "right_child": 2},
                  {"node_index": 1, "leaf_value": 1.0},
                  {"node_index": 2, "leaf_value": 2.0}
                ],
                "target_type": "regression"
              }
            }
          }
        }
        """)!.AsObject();
}
