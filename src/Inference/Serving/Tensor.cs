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

    /// <summary>
    /// Elements of <see cref="Data"/> this tensor holds, from its start: all of them, but for a batch stacked into a
    /// pooled buffer (<see cref="StackInto"/>), which may be longer than the batch.
    /// </summary>
    public int Length
    {
        get => _length ?? Data.Length;
        init => _length = value;
    }

    private readonly int? _length;

    public int ElementSize => Buffer.ByteLength(Data) / Math.Max(1, Data.Length);

    public long ByteLength => (long)ElementSize * Length;

    /// <summary>The element array itself; not for a view of a pooled buffer (read that with <see cref="AsSpan{T}"/>).</summary>
    public T[] GetData<T>()
    {
        var data = Data as T[] ?? throw new InvalidCastException($"Tensor {Name} holds {Data.GetType().Name}, not {typeof(T).Name}[].");
        return data.Length == Length ? data : throw new InvalidOperationException($"Tensor {Name} is a view of a pooled buffer: read it with AsSpan.");
    }

    /// <summary>Exactly this tensor's elements.</summary>
    public ReadOnlySpan<T> AsSpan<T>() => AsMemory<T>().Span;

    /// <summary>Exactly this tensor's elements.</summary>
    public ReadOnlyMemory<T> AsMemory<T>() =>
        (Data as T[] ?? throw new InvalidCastException($"Tensor {Name} holds {Data.GetType().Name}, not {typeof(T).Name}[]."))
        .AsMemory(0, Length);

    /// <summary>An input over exactly this tensor's elements (pinned for the run, not copied).</summary>
    public OnnxInput ToInput() => Data switch
    {
        float[] => OnnxInput.Create(Name, AsMemory<float>(), Shape),
        double[] => OnnxInput.Create(Name, AsMemory<double>(), Shape),
        long[] => OnnxInput.Create(Name, AsMemory<long>(), Shape),
        int[] => OnnxInput.Create(Name, AsMemory<int>(), Shape),
        bool[] => OnnxInput.Create(Name, AsMemory<bool>(), Shape),
        byte[] => OnnxInput.Create(Name, AsMemory<byte>(), Shape, ElementType),
        _ => throw new NotSupportedException($"Tensor {Name}: element arrays of {Data.GetType().Name} are not supported."),
    };

    public static Tensor FromOutput(OnnxOutput output) => new(output.Name, output.ElementType, output.Shape, output.Data);

    /// <summary>
    /// Stacks tensors of equal trailing shape along the first dimension, copying their rows straight into a buffer
    /// rented from the pool: the result is a view of the buffer's first elements; give it back with <see cref="TensorBuffers.Return"/>.
    /// </summary>
    public static Tensor StackInto(IReadOnlyList<Tensor> parts, TensorBuffers buffers)
    {
        var first = parts[0];
        long rows = 0;
        var length = 0;
        for (var i = 0; i < parts.Count; i++)
        {
            rows += parts[i].Rows;
            length = checked(length + parts[i].Length);
        }
        var shape = (long[])first.Shape.Clone();
        shape[0] = rows;
        var buffer = buffers.Rent(first.Data, length);
        try
        {
            switch (buffer)
            {
                // The common element types without the reflection-backed Array calls (this runs per input of a batch).
                case float[] f: Copy(parts, f); break;
                case long[] l: Copy(parts, l); break;
                case int[] n: Copy(parts, n); break;
                default: Copy(parts, buffer); break;
            }
        }
        catch
        {
            buffers.Return(buffer);
            throw;
        }
        return new Tensor(first.Name, first.ElementType, shape, buffer) { Length = length };
    }

    private static void Copy<T>(IReadOnlyList<Tensor> parts, T[] buffer)
    {
        var offset = 0;
        for (var i = 0; i < parts.Count; i++)
        {
            var part = parts[i].AsSpan<T>();
            part.CopyTo(buffer.AsSpan(offset));
            offset += part.Length;
        }
    }

    private static void Copy(IReadOnlyList<Tensor> parts, Array buffer)
    {
        var offset = 0;
        for (var i = 0; i < parts.Count; i++)
        {
            Array.Copy(parts[i].Data, 0, buffer, offset, parts[i].Length);
            offset += parts[i].Length;
        }
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
