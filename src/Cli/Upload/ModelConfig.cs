using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Cli.Upload;

/// <summary>The body of <c>PUT _ml/trained_models/&lt;id&gt;</c>: from a config file, or built from a task type as Eland builds it.</summary>
public static class ModelConfig
{
    /// <summary>Eland's default input field name.</summary>
    public const string DefaultInputField = "text_field";

    /// <summary>
    /// An ONNX model of <paramref name="taskType"/> (any task the service accepts: it checks the name and the settings);
    /// <paramref name="labels"/> become <c>classification_labels</c>, <paramref name="tokenization"/> the tokenizer
    /// (the service defaults to <c>bert</c> for NLP tasks).
    /// </summary>
    public static JsonObject ForTask(string taskType, string inputField, IReadOnlyList<string>? labels, string? tokenization, string? description)
    {
        var settings = new JsonObject();
        if (labels is { Count: > 0 }) settings["classification_labels"] = new JsonArray(labels.Select(l => (JsonNode?)l).ToArray());
        if (tokenization is not null) settings["tokenization"] = new JsonObject { [tokenization] = new JsonObject() };
        var config = new JsonObject { ["model_type"] = "onnx" };
        if (description is not null) config["description"] = description;
        config["input"] = new JsonObject { ["field_names"] = new JsonArray(inputField) };
        config["inference_config"] = new JsonObject { [taskType] = settings };
        return config;
    }

    /// <summary>A config file as Eland writes one; <c>model_type</c> defaults to <c>onnx</c>, the only type this service deploys.</summary>
    public static JsonObject FromFile(string path)
    {
        var config = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
            ?? throw new FormatException($"{path} does not hold a JSON object");
        config.TryAdd("model_type", "onnx");
        return config;
    }
}
