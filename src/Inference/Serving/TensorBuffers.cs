using System.Buffers;

namespace TrainedModelsOrleans.Inference.Serving;

/// <summary>
/// Where stacked batches get their element buffers: <see cref="ArrayPool{T}.Shared"/> per element type, so a
/// batch allocates no input arrays. A rented buffer may be longer than asked for and hold an earlier batch's data.
/// </summary>
public class TensorBuffers
{
    public static TensorBuffers Shared { get; } = new();

    /// <summary>A buffer of at least <paramref name="length"/> elements of the same array type as <paramref name="like"/>.</summary>
    public virtual Array Rent(Array like, int length) => like switch
    {
        float[] => ArrayPool<float>.Shared.Rent(length),
        long[] => ArrayPool<long>.Shared.Rent(length),
        int[] => ArrayPool<int>.Shared.Rent(length),
        double[] => ArrayPool<double>.Shared.Rent(length),
        byte[] => ArrayPool<byte>.Shared.Rent(length),
        bool[] => ArrayPool<bool>.Shared.Rent(length),
        // Element types ONNX Runtime cannot take anyway: not worth a pool.
        _ => Array.CreateInstanceFromArrayType(like.GetType(), length),
    };

    /// <summary>Gives a rented buffer back; nothing may read it afterwards.</summary>
    public virtual void Return(Array buffer)
    {
        switch (buffer)
        {
            case float[] f: ArrayPool<float>.Shared.Return(f); break;
            case long[] l: ArrayPool<long>.Shared.Return(l); break;
            case int[] n: ArrayPool<int>.Shared.Return(n); break;
            case double[] d: ArrayPool<double>.Shared.Return(d); break;
            case byte[] u8: ArrayPool<byte>.Shared.Return(u8); break;
            case bool[] b: ArrayPool<bool>.Shared.Return(b); break;
        }
    }
}
