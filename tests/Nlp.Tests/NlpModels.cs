using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Inference.OnnxRuntime;

namespace TrainedModelsOrleans.Nlp.Tests;

/// <summary>Stored model configs as the model store keeps them (defaults filled by the config parser), and hand-made outputs.</summary>
internal static class NlpModels
{
    public const string ModelId = "my-model";

    public static TrainedModelConfig Config(string inferenceConfig, string inputField = "input")
    {
        var parsed = InferenceConfigParser.Parse(inferenceConfig);
        return new TrainedModelConfig
        {
            ModelId = ModelId,
            ModelType = TrainedModelType.Onnx,
            Input = new TrainedModelInput { FieldNames = [inputField] },
            InferenceConfig = parsed.ToJson(),
            TaskType = parsed.TaskType,
        };
    }

    public static VocabularyUpload Vocabulary(IReadOnlyList<string>? entries = null) =>
        new() { ModelId = ModelId, Vocabulary = entries ?? TestVocabularies.Cased };

    public static JsonObject Update(string json) => JsonNode.Parse(json)!.AsObject();

    public static OnnxOutput Output(float[] data, params long[] shape) => new("output", OnnxElementType.Float, shape, data);

    public static OnnxTensorDescription Input(string name, OnnxElementType type = OnnxElementType.Int64, long sequence = -1, long batch = -1) =>
        new(name, OnnxValueKind.Tensor, type, [batch, sequence], ["batch", "sequence"]);

    public static double[] Doubles(JsonNode? array) => array!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
}
