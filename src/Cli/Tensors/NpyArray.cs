using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace TrainedModelsOrleans.Cli.Tensors;

/// <summary>
/// An array read from NumPy's <c>.npy</c> format (versions 1–3): little-endian <c>float32</c>, <c>float64</c> or
/// <c>int64</c>, in C (row-major) order — what the service's tensor form takes as <c>{"shape", "data"}</c>.
/// </summary>
public sealed partial record NpyArray(IReadOnlyList<long> Shape, string ElementType, Array Data)
{
    /// <summary>\x93NUMPY (a u8 literal would encode \x93 as two UTF-8 bytes).</summary>
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    public static NpyArray Read(string path) => Parse(File.ReadAllBytes(path));

    public static NpyArray Parse(ReadOnlySpan<byte> file)
    {
        if (file.Length < 10 || !file[..6].SequenceEqual(Magic)) throw new FormatException("not a .npy file (no \\x93NUMPY magic)");
        var major = file[6];
        var (headerLength, headerStart) = major switch
        {
            1 => (BinaryPrimitives.ReadUInt16LittleEndian(file[8..]), 10),
            2 or 3 when file.Length >= 12 => ((int)BinaryPrimitives.ReadUInt32LittleEndian(file[8..]), 12),
            _ => throw new FormatException($".npy version {major}.{file[7]} is not supported"),
        };
        if (headerStart + headerLength > file.Length) throw new FormatException(".npy header runs past the end of the file");
        var header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(file.Slice(headerStart, headerLength));

        var descr = Descr().Match(header);
        if (!descr.Success) throw new FormatException($".npy header has no 'descr': {header.Trim()}");
        if (FortranOrder().Match(header) is { Success: true } fortran && fortran.Groups[1].Value == "True")
            throw new FormatException(".npy array is in Fortran order; save it in C order (numpy.ascontiguousarray)");
        var shapeMatch = Shape_().Match(header);
        if (!shapeMatch.Success) throw new FormatException($".npy header has no 'shape': {header.Trim()}");
        var shape = shapeMatch.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(d => long.Parse(d.TrimEnd('L'), CultureInfo.InvariantCulture)).ToArray();
        var count = shape.Aggregate(1L, (a, d) => checked(a * d));

        var data = file[(headerStart + headerLength)..];
        var (order, kind, size) = (descr.Groups[1].Value, descr.Groups[2].Value, int.Parse(descr.Groups[3].Value, CultureInfo.InvariantCulture));
        if (order == ">" && size > 1) throw new FormatException($".npy element type '{descr.Groups[0].Value}' is big-endian; only little-endian is read");
        if (data.Length < count * size) throw new FormatException($".npy data holds {data.Length} bytes, the shape needs {count * size}");
        return (kind, size) switch
        {
            ("f", 4) => new NpyArray(shape, "float32", Elements(data, count, 4, s => BinaryPrimitives.ReadSingleLittleEndian(s))),
            ("f", 8) => new NpyArray(shape, "float64", Elements(data, count, 8, s => BinaryPrimitives.ReadDoubleLittleEndian(s))),
            ("i", 8) => new NpyArray(shape, "int64", Elements(data, count, 8, s => BinaryPrimitives.ReadInt64LittleEndian(s))),
            _ => throw new FormatException($".npy element type '{kind}{size}' is not supported (float32, float64 and int64 are)"),
        };
    }

    /// <summary>The service's tensor form: <c>{"shape": [...], "data": [... flat, row-major ...]}</c>.</summary>
    public JsonObject ToTensorJson()
    {
        var data = Data switch
        {
            float[] floats => floats.Select(v => (JsonNode?)JsonValue.Create(v)),
            double[] doubles => doubles.Select(v => (JsonNode?)JsonValue.Create(v)),
            long[] longs => longs.Select(v => (JsonNode?)JsonValue.Create(v)),
            _ => throw new InvalidOperationException($"unexpected element array {Data.GetType()}"),
        };
        return new JsonObject
        {
            ["shape"] = new JsonArray(Shape.Select(d => (JsonNode?)d).ToArray()),
            ["data"] = new JsonArray(data.ToArray()),
        };
    }

    private delegate T ElementReader<T>(ReadOnlySpan<byte> bytes);

    private static T[] Elements<T>(ReadOnlySpan<byte> data, long count, int size, ElementReader<T> read)
    {
        var values = new T[count];
        for (var i = 0; i < values.Length; i++) values[i] = read(data.Slice(i * size, size));
        return values;
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([<>|=]?)([a-zA-Z])(\d+)'")]
    private static partial Regex Descr();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranOrder();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex Shape_();
}
