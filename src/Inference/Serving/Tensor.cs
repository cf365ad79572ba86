using TrainedModelsOrleans.Inference.OnnxRuntime;

namespace TrainedModelsOrleans.Inference.Serving;

/// <summary>A named tensor in managed memory: what callers send and get back (row-major, primitive element arrays).</summary>
public sealed record Tensor(string Name, OnnxElementType ElementType, long[] Shape, Array Data)
{
    public static Tensor Of(string name, float[] data, params long[] shape) => new(name, OnnxElementType.Float, shape, data);
    public static Tensor Of(string name, long[] data, params long[] shape) => new(name, OnnxElementType.Int64, shape, data);

    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (var dim in Shape) count *= dim;
            return count;
        }
    }

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
        long rows = 0;
        var length = 0;
        for (var i = 0; i < parts.Count; i++)
        {
            rows += parts[i].Rows;
            length += parts[i].Data.Length;
        }
        var shape = (long[])first.Shape.Clone();
        shape[0] = rows;
        return new Tensor(first.Name, first.ElementType, shape, first.Data switch
        {
            float[] => Stack<float>(parts, length),
            long[] => Stack<long>(parts, length),
            int[] => Stack<int>(parts, length),
            _ => Stack(parts, length),
        });
    }

    private static T[] Stack<T>(IReadOnlyList<Tensor> parts, int length)
    {
        var data = GC.AllocateUninitializedArray<T>(length);
        var offset = 0;
        for (var i = 0; i < parts.Count; i++)
        {
            var part = (T[])parts[i].Data;
            part.CopyTo(data, offset);
            offset += part.Length;
        }
        return data;
    }

    private static Array Stack(IReadOnlyList<Tensor> parts, int length)
    {
        var data = Array.CreateInstanceFromArrayType(parts[0].Data.GetType(), length);
        var offset = 0;
        for (var i = 0; i < parts.Count; i++)
        {
            Array.Copy(parts[i].Data, 0, data, offset, parts[i].Data.Length);
            offset += parts[i].Data.Length;
        }
        return data;
    }

    /// <summary>Rows [start, start+count) along the first dimension.</summary>
    public Tensor SliceRows(long start, long count)
    {
        long rowElements = 1;
        for (var i = 1; i < Shape.Length; i++) rowElements *= Shape[i];
        var from = checked((int)(start * rowElements));
        var length = checked((int)(count * rowElements));
        var shape = new long[Math.Max(1, Shape.Length)];
        shape[0] = count;
        for (var i = 1; i < Shape.Length; i++) shape[i] = Shape[i];
        return new Tensor(Name, ElementType, shape, Data switch
        {
            // The common element types without the reflection-backed Array calls (this runs per request of a batch).
            float[] f => f.AsSpan(from, length).ToArray(),
            long[] l => l.AsSpan(from, length).ToArray(),
            int[] n => n.AsSpan(from, length).ToArray(),
            _ => Slice(Data, from, length),
        });
    }

    private static Array Slice(Array data, int from, int length)
    {
        var slice = Array.CreateInstanceFromArrayType(data.GetType(), length);
        Array.Copy(data, from, slice, 0, length);
        return slice;
    }

    /// <summary>Same name, type and shape except the first dimension: such tensors can be batched together.</summary>
    public bool StacksWith(Tensor other) =>
        Name == other.Name && ElementType == other.ElementType && Shape.Length == other.Shape.Length && Shape.Length > 0
        && Shape.AsSpan(1).SequenceEqual(other.Shape.AsSpan(1));
}
