namespace TrainedModelsOrleans.Inference.OnnxRuntime;

/// <summary>What kind of value a model input or output is, numbered as ORT's ONNXType.</summary>
public enum OnnxValueKind
{
    Unknown = 0,
    Tensor = 1,
    Sequence = 2,
    Map = 3,
    Opaque = 4,
    SparseTensor = 5,
    Optional = 6,
}
