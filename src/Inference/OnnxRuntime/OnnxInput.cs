using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace TrainedModelsOrleans.Inference.OnnxRuntime;

/// <summary>
/// One input tensor for <see cref="OnnxSession.Run(ReadOnlySpan{OnnxInput}, CancellationToken)"/>:
/// the input's name or index, the element type, the shape and the caller's data. The data is not
/// copied; it is pinned for the duration of the call and must not change during it.
/// </summary>
public readonly struct OnnxInput
{
    // ReadOnlyMemory<T> is backed by a T[] or a MemoryManager<T>; keeping that owner untyped lets
    // one struct carry any element type without boxing.
    private readonly object? _owner;
    private readonly int _start;

    private OnnxInput(string? name, int index, OnnxElementType elementType, object? owner, int start, int length, ReadOnlyMemory<long> shape)
    {
        Name = name;
        Index = index;
        ElementType = elementType;
        _owner = owner;
        _start = start;
        Length = length;
        Shape = shape;
    }

    /// <summary>The input's name, or null when it is addressed by <see cref="Index"/>.</summary>
    public string? Name { get; }

    /// <summary>The input's position in <see cref="OnnxSession.Inputs"/>, or -1 when addressed by name.</summary>
    public int Index { get; }

    public OnnxElementType ElementType { get; }

    public ReadOnlyMemory<long> Shape { get; }

    /// <summary>Number of elements in the data.</summary>
    public int Length { get; }

    // Non-generic overloads so that arrays convert implicitly: Create("input", new float[64], [1, 64]).
    public static OnnxInput Create(string name, ReadOnlyMemory<float> data, ReadOnlyMemory<long> shape) => Create<float>(name, data, shape);

    public static OnnxInput Create(int index, ReadOnlyMemory<float> data, ReadOnlyMemory<long> shape) => Create<float>(index, data, shape);

    public static OnnxInput Create(string name, ReadOnlyMemory<double> data, ReadOnlyMemory<long> shape) => Create<double>(name, data, shape);

    public static OnnxInput Create(int index, ReadOnlyMemory<double> data, ReadOnlyMemory<long> shape) => Create<double>(index, data, shape);

    public static OnnxInput Create(string name, ReadOnlyMemory<long> data, ReadOnlyMemory<long> shape) => Create<long>(name, data, shape);

    public static OnnxInput Create(int index, ReadOnlyMemory<long> data, ReadOnlyMemory<long> shape) => Create<long>(index, data, shape);

    public static OnnxInput Create(string name, ReadOnlyMemory<int> data, ReadOnlyMemory<long> shape) => Create<int>(name, data, shape);

    public static OnnxInput Create(int index, ReadOnlyMemory<int> data, ReadOnlyMemory<long> shape) => Create<int>(index, data, shape);

    public static OnnxInput Create(string name, ReadOnlyMemory<byte> data, ReadOnlyMemory<long> shape) => Create<byte>(name, data, shape);

    public static OnnxInput Create(int index, ReadOnlyMemory<byte> data, ReadOnlyMemory<long> shape) => Create<byte>(index, data, shape);

    public static OnnxInput Create(string name, ReadOnlyMemory<bool> data, ReadOnlyMemory<long> shape) => Create<bool>(name, data, shape);

    public static OnnxInput Create(int index, ReadOnlyMemory<bool> data, ReadOnlyMemory<long> shape) => Create<bool>(index, data, shape);

    /// <summary>An input addressed by name. The element type follows from T (float, double, long, int, byte → uint8, bool, ...).</summary>
    public static OnnxInput Create<T>(string name, ReadOnlyMemory<T> data, ReadOnlyMemory<long> shape)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(name);
        return Create(name, -1, data, shape, OnnxElementTypes.Of<T>());
    }

    /// <summary>An input addressed by its position in <see cref="OnnxSession.Inputs"/>.</summary>
    public static OnnxInput Create<T>(int index, ReadOnlyMemory<T> data, ReadOnlyMemory<long> shape)
        where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return Create(null, index, data, shape, OnnxElementTypes.Of<T>());
    }

    /// <summary>An input whose element type is given explicitly (e.g. bytes holding ONNX bools); its size must equal sizeof(T).</summary>
    public static OnnxInput Create<T>(string name, ReadOnlyMemory<T> data, ReadOnlyMemory<long> shape, OnnxElementType elementType)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(name);
        return Create(name, -1, data, shape, elementType);
    }

    /// <summary>Bytes carrying one-byte elements of the given type (bool, int8 or uint8).</summary>
    public static OnnxInput Create(string name, ReadOnlyMemory<byte> data, ReadOnlyMemory<long> shape, OnnxElementType elementType) =>
        Create<byte>(name, data, shape, elementType);

    private static unsafe OnnxInput Create<T>(string? name, int index, ReadOnlyMemory<T> data, ReadOnlyMemory<long> shape, OnnxElementType elementType)
        where T : unmanaged
    {
        string what = name is null ? $"Input #{index}" : $"Input '{name}'";
        if (elementType == OnnxElementType.Undefined)
        {
            throw new ArgumentException($"{what}: element type {typeof(T).Name} has no ONNX tensor type.", nameof(data));
        }

        int size = OnnxElementTypes.SizeOf(elementType);
        if (size != sizeof(T))
        {
            throw new ArgumentException(
                $"{what}: {typeof(T).Name} data cannot carry {OnnxElementTypes.NameOf(elementType)} elements.", nameof(elementType));
        }

        if (MemoryMarshal.TryGetArray(data, out ArraySegment<T> segment))
        {
            return new OnnxInput(name, index, elementType, segment.Array, segment.Offset, segment.Count, shape);
        }

        if (MemoryMarshal.TryGetMemoryManager(data, out MemoryManager<T>? manager, out int start, out int length))
        {
            return new OnnxInput(name, index, elementType, manager, start, length, shape);
        }

        throw new ArgumentException($"{what}: unsupported memory backing.", nameof(data));
    }

    /// <summary>Copies the data's bytes into <paramref name="target"/>, which holds exactly that many.</summary>
    internal unsafe void CopyTo(Span<byte> target, int elementSize)
    {
        switch (_owner)
        {
            case Array array:
                ref byte origin = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(array), (nint)_start * elementSize);
                MemoryMarshal.CreateReadOnlySpan(ref origin, target.Length).CopyTo(target);
                return;
            case IPinnable:
                using (MemoryHandle pin = Pin(elementSize))
                {
                    new ReadOnlySpan<byte>(pin.Pointer, target.Length).CopyTo(target);
                }

                return;
        }
    }

    /// <summary>Pins the data; dispose the handle after the call.</summary>
    internal unsafe MemoryHandle Pin(int elementSize)
    {
        switch (_owner)
        {
            case Array array:
                var handle = GCHandle.Alloc(array, GCHandleType.Pinned);
                byte* origin = (byte*)handle.AddrOfPinnedObject();
                return new MemoryHandle(origin + ((long)_start * elementSize), handle);
            case IPinnable pinnable:
                return pinnable.Pin(_start);
            default:
                return default; // empty default(ReadOnlyMemory<T>)
        }
    }

    public override string ToString() =>
        $"{(Name is null ? $"#{Index}" : Name)}: {OnnxElementTypes.NameOf(ElementType)}[{string.Join(",", Shape.ToArray())}] ({Length} elements)";
}
