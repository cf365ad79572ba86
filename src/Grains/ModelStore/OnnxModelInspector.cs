using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Inference.OnnxRuntime;

namespace TrainedModelsOrleans.Grains.ModelStore;

/// <summary>Opens a definition with ONNX Runtime and records its inputs and outputs in the config.</summary>
public sealed class OnnxModelInspector
{
    public TrainedModelConfig Describe(TrainedModelConfig config, byte[] definition)
    {
        try
        {
            using var session = new OnnxSession(definition, new OnnxSessionOptions { IntraOpThreads = 1, InterOpThreads = 1 });
            return config with
            {
                Onnx = new OnnxModelSignature
                {
                    Inputs = session.Inputs.Select(Describe).ToArray(),
                    Outputs = session.Outputs.Select(Describe).ToArray(),
                },
            };
        }
        catch (OnnxRuntimeException e)
        {
            throw ElasticsearchException.BadRequest(
                $"model [{config.ModelId}] definition cannot be loaded by ONNX Runtime: {e.OrtMessage}");
        }
    }

    private static OnnxTensorInfo Describe(OnnxTensorDescription tensor) => new()
    {
        Name = tensor.Name,
        ElementType = tensor.IsTensor ? tensor.ElementTypeName : tensor.KindName,
        Shape = tensor.Shape,
    };
}
