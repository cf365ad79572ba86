namespace TrainedModelsOrleans.Inference.OnnxRuntime;

/// <summary>One output tensor, copied out of ONNX Runtime into a managed array.</summary>
public sealed class OnnxOutput
{
    public OnnxOutput(string name, OnnxElementType elementType, long[] shape, Array data)
    {
        Name = name;
        ElementType = elementType;
        Shape = shape;
        Data = data;
    }

    public string Name { get; }

    public OnnxElementType ElementType { get; }

    public string ElementTypeName => OnnxElementTypes.NameOf(ElementType);

    public long[] Shape { get; }

    /// <summary>The elements in row-major order: float[], double[], long[], int[], byte[] (uint8), bool[], ...</summary>
    public Array Data { get; }

    /// <summary>The data as T[]; throws when T is not the output's element type.</summary>
    public T[] GetData<T>()
        where T : unmanaged
    {
        return Data as T[] ?? throw new InvalidCastException(
            $"Output '{Name}' holds {ElementTypeName} elements ({Data.GetType().Name}), not {typeof(T).Name}.");
    }

    public override string ToString() => $"{Name}: {ElementTypeName}[{string.Join(",", Shape)}]";
}
