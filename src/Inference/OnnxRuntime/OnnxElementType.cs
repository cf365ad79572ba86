namespace TrainedModelsOrleans.Inference.OnnxRuntime;

/// <summary>Tensor element types, numbered as ONNX's TensorProto.DataType.</summary>
public enum OnnxElementType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
    Complex64 = 14,
    Complex128 = 15,
    BFloat16 = 16,
    Float8E4M3FN = 17,
    Float8E4M3FNUZ = 18,
    Float8E5M2 = 19,
    Float8E5M2FNUZ = 20,
    UInt4 = 21,
    Int4 = 22,
    Float4E2M1 = 23,
}

public static class OnnxElementTypes
{
    /// <summary>The name ONNX prints inside tensor(...), e.g. "float", "int64", "bool".</summary>
    public static string NameOf(OnnxElementType type) => type switch
    {
        OnnxElementType.Float => "float",
        OnnxElementType.UInt8 => "uint8",
        OnnxElementType.Int8 => "int8",
        OnnxElementType.UInt16 => "uint16",
        OnnxElementType.Int16 => "int16",
        OnnxElementType.Int32 => "int32",
        OnnxElementType.Int64 => "int64",
        OnnxElementType.String => "string",
        OnnxElementType.Bool => "bool",
        OnnxElementType.Float16 => "float16",
        OnnxElementType.Double => "double",
        OnnxElementType.UInt32 => "uint32",
        OnnxElementType.UInt64 => "uint64",
        OnnxElementType.Complex64 => "complex64",
        OnnxElementType.Complex128 => "complex128",
        OnnxElementType.BFloat16 => "bfloat16",
        OnnxElementType.Float8E4M3FN => "float8e4m3fn",
        OnnxElementType.Float8E4M3FNUZ => "float8e4m3fnuz",
        OnnxElementType.Float8E5M2 => "float8e5m2",
        OnnxElementType.Float8E5M2FNUZ => "float8e5m2fnuz",
        OnnxElementType.UInt4 => "uint4",
        OnnxElementType.Int4 => "int4",
        OnnxElementType.Float4E2M1 => "float4e2m1",
        _ => "undefined",
    };

    private static readonly Dictionary<string, OnnxElementType> ByName =
        Enum.GetValues<OnnxElementType>().Where(t => NameOf(t) != "undefined").ToDictionary(NameOf, t => t, StringComparer.Ordinal);

    /// <summary>The element type of an ONNX name ("float", "int64", …); throws ArgumentException for others.</summary>
    public static OnnxElementType Parse(string name) =>
        ByName.TryGetValue(name, out var type) ? type : throw new ArgumentException($"unknown ONNX element type [{name}]", nameof(name));

    /// <summary>Bytes per element for the types this binding can pass in and copy out; 0 for the rest.</summary>
    public static int SizeOf(OnnxElementType type) => type switch
    {
        OnnxElementType.UInt8 or OnnxElementType.Int8 or OnnxElementType.Bool => 1,
        OnnxElementType.UInt16 or OnnxElementType.Int16 or OnnxElementType.Float16 or OnnxElementType.BFloat16 => 2,
        OnnxElementType.Float or OnnxElementType.Int32 or OnnxElementType.UInt32 => 4,
        OnnxElementType.Double or OnnxElementType.Int64 or OnnxElementType.UInt64 => 8,
        _ => 0,
    };

    /// <summary>The element type a managed element type maps to (byte → uint8; pass Bool explicitly for byte-encoded booleans).</summary>
    public static OnnxElementType Of<T>()
        where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return OnnxElementType.Float;
        if (typeof(T) == typeof(double)) return OnnxElementType.Double;
        if (typeof(T) == typeof(long)) return OnnxElementType.Int64;
        if (typeof(T) == typeof(int)) return OnnxElementType.Int32;
        if (typeof(T) == typeof(byte)) return OnnxElementType.UInt8;
        if (typeof(T) == typeof(bool)) return OnnxElementType.Bool;
        if (typeof(T) == typeof(sbyte)) return OnnxElementType.Int8;
        if (typeof(T) == typeof(short)) return OnnxElementType.Int16;
        if (typeof(T) == typeof(ushort)) return OnnxElementType.UInt16;
        if (typeof(T) == typeof(uint)) return OnnxElementType.UInt32;
        if (typeof(T) == typeof(ulong)) return OnnxElementType.UInt64;
        if (typeof(T) == typeof(Half)) return OnnxElementType.Float16;
        return OnnxElementType.Undefined;
    }
}
