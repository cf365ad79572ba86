namespace TrainedModelsOrleans.Inference.OnnxRuntime;

/// <summary>
/// A model input or output as the session reports it. For non-tensor values (sequences, maps, ...)
/// only <see cref="Name"/> and <see cref="Kind"/> are meaningful; the type is Undefined and the shape empty.
/// </summary>
public sealed class OnnxTensorDescription
{
    public OnnxTensorDescription(string name, OnnxValueKind kind, OnnxElementType elementType, long[] shape, string?[] symbolicDimensions)
    {
        Name = name;
        Kind = kind;
        ElementType = elementType;
        Shape = shape;
        SymbolicDimensions = symbolicDimensions;
    }

    public string Name { get; }

    public OnnxValueKind Kind { get; }

    public bool IsTensor => Kind == OnnxValueKind.Tensor;

    /// <summary>"tensor", "sequence", "map", "opaque", "sparse_tensor", "optional" or "unknown".</summary>
    public string KindName => Kind switch
    {
        OnnxValueKind.Tensor => "tensor",
        OnnxValueKind.Sequence => "sequence",
        OnnxValueKind.Map => "map",
        OnnxValueKind.Opaque => "opaque",
        OnnxValueKind.SparseTensor => "sparse_tensor",
        OnnxValueKind.Optional => "optional",
        _ => "unknown",
    };

    public OnnxElementType ElementType { get; }

    /// <summary>ONNX's name for the element type, as in tensor(float): "float", "int64", ...</summary>
    public string ElementTypeName => OnnxElementTypes.NameOf(ElementType);

    /// <summary>Dimensions, -1 where the model leaves one open. Shared: do not modify.</summary>
    public long[] Shape { get; }

    /// <summary>Per dimension, the model's symbolic name (e.g. "batch") or null.</summary>
    public string?[] SymbolicDimensions { get; }

    public override string ToString() =>
        IsTensor ? $"{Name}: tensor({ElementTypeName})[{string.Join(",", Shape)}]" : $"{Name}: {KindName}";
}
