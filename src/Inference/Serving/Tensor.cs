using TrainedModelsOrleans.Inference.OnnxRuntime;

namespace TrainedModelsOrleans.Inference.Serving;

/// <summary>A named tensor in managed memory: what callers send and get back (row-major, primitive element arrays).</summary>
public sealed record Tensor(string Name, OnnxElementType ElementType, long[] Shape, Array Data)
{
    public static Tensor Of(string name, float[] data, params long[] shape) => new(name, OnnxElementType.Float, shape, data);
    public static Tensor Of(string name, long[] data, params long[] shape) => new(name, OnnxElementType.Int64, shape, data);

    public long ElementCount => Shape.Aggregate(1L, (a, d) => a * d);

    /// <summary>Rows along the first dimension (the batch).</summary>
    public long Rows => Shape.Length == 0 ? 1 : Shape[0];

    public int ElementSize => Buffer.ByteLength(Data) / Math.Max(1, Data.Length);

    public long ByteLength => Buffer.ByteLength(Data);

    public T[] GetData<T>() => Data as T[] ?? throw new InvalidCastException($"Tensor {Name} holds {Data.GetType().Name}, not {typeof(T).Name}[].");

    public OnnxInput ToInput() => Data switch
    {
        float[] f => OnnxInput.Create(Name, f, Shape),
        double[] d => OnnxInput.Create(Name, d, Shape),
        long[] l => OnnxInput.Create(Name, l, Shape),
        int[] i => OnnxInput.Create(Name, i, Shape),
        bool[] b => OnnxInput.Create(Name, b, Shape),
        byte[] u8 => OnnxInput.Create(Name, (ReadOnlyMemory<byte>)u8, Shape, ElementType),
        _ => throw new NotSupportedException($"Tensor {Name}: element arrays of {Data.GetType().Name} are not supported."),
    };

    public static Tensor FromOutput(OnnxOutput output) => new(output.Name, output.ElementType, output.Shape, output.Data);

    /// <summary>Stacks tensors of equal trailing shape along the first dimension.</summary>
    public static Tensor Concat(IReadOnlyList<Tensor> parts)
    {
        var first = parts[0];
        var rows = parts.Sum(p => p.Rows);
        var data = Array.CreateInstance(first.Data.GetType().GetElementType()!, parts.Sum(p => p.Data.Length));
        var offset = 0;
        foreach (var part in parts)
        {
            Buffer.BlockCopy(part.Data, 0, data, offset, Buffer.ByteLength(part.Data));
            offset += Buffer.ByteLength(part.Data);
        }
        return first with { Shape = [rows, .. first.Shape.AsSpan(1)], Data = data };
    }

    /// <summary>Rows [start, start+count) along the first dimension.</summary>
    public Tensor SliceRows(long start, long count)
    {
        var rowElements = Shape.Length == 0 ? 1 : Shape.AsSpan(1).ToArray().Aggregate(1L, (a, d) => a * d);
        var elementSize = Buffer.ByteLength(Data) / Math.Max(1, Data.Length);
        var data = Array.CreateInstance(Data.GetType().GetElementType()!, count * rowElements);
        Buffer.BlockCopy(Data, (int)(start * rowElements * elementSize), data, 0, (int)(count * rowElements * elementSize));
        return this with { Shape = [count, .. Shape.AsSpan(1)], Data = data };
    }

    /// <summary>Same name, type and shape except the first dimension: such tensors can be batched together.</summary>
    public bool StacksWith(Tensor other) =>
        Name == other.Name && ElementType == other.ElementType && Shape.Length == other.Shape.Length && Shape.Length > 0
        && Shape.AsSpan(1).SequenceEqual(other.Shape.AsSpan(1));
}
