using System.Globalization;
using System.Numerics;
using System.Text.Json;

namespace TrainedModelsOrleans.Api.Http;

/// <summary>
/// A float or double output's numbers as JSON text, formatted once and written twice (nested as predicted_value,
/// flat under tensors): formatting numbers is most of the cost of writing an answer. The text is what
/// <see cref="Utf8JsonWriter"/> writes for the same values: the shortest round-trip form of a finite value, and a
/// non-finite one as a string ("NaN", "Infinity", "-Infinity"), as the general path renders them.
/// One instance per thread, reused: a response is written synchronously.
/// </summary>
internal sealed class FormattedNumbers : IDisposable
{
    /// <summary>Buffers that grew past this (a large output) are dropped after use rather than kept by the thread.</summary>
    private const int KeptBytes = 64 * 1024;

    [ThreadStatic] private static FormattedNumbers? t_instance;

    private byte[] _flat = new byte[512];
    private int _length;
    private int[] _starts = new int[64];
    private int _count;
    private byte[] _nested = new byte[512];
    private int _nestedLength;
    private bool _inUse;

    /// <summary>The numbers of <paramref name="data"/> formatted, or null for another element type.</summary>
    public static FormattedNumbers? TryFormat(Array data)
    {
        if (data is not (float[] or double[])) return null;
        var numbers = t_instance ??= new FormattedNumbers();
        if (numbers._inUse) return null;
        numbers.Fill(data);
        // In use only once filled: a fill that threw leaves the instance free for the next answer.
        numbers._inUse = true;
        return numbers;
    }

    /// <summary>The values as one flat array.</summary>
    public void WriteFlat(Utf8JsonWriter writer) => writer.WriteRawValue(_flat.AsSpan(0, _length), skipInputValidation: true);

    /// <summary>
    /// The values nested by <paramref name="shape"/> (row-major), flat for a shape of one dimension or none. False, having
    /// written nothing, when the shape does not hold exactly these values: the caller's general writer decides then.
    /// </summary>
    public bool TryWriteNested(Utf8JsonWriter writer, long[] shape)
    {
        if (shape.Length <= 1)
        {
            WriteFlat(writer);
            return true;
        }
        long elements = 1;
        foreach (var dimension in shape) elements *= dimension;
        if (elements != _count) return false;
        _nestedLength = 0;
        var number = 0;
        Nest(shape, 0, ref number);
        writer.WriteRawValue(_nested.AsSpan(0, _nestedLength), skipInputValidation: true);
        return true;
    }

    public void Dispose()
    {
        _inUse = false;
        if (_flat.Length > KeptBytes || _nested.Length > KeptBytes || _starts.Length > KeptBytes / sizeof(int)) t_instance = null;
    }

    private void Fill(Array data)
    {
        _length = 0;
        _count = 0;
        Append((byte)'[');
        switch (data)
        {
            case float[] floats:
                AppendAll<float>(floats);
                break;
            case double[] doubles:
                AppendAll<double>(doubles);
                break;
        }
        Append((byte)']');
    }

    private void StartNumber(int index)
    {
        if (index > 0) Append((byte)',');
        if (_count == _starts.Length) Array.Resize(ref _starts, _starts.Length * 2);
        _starts[_count++] = _length;
    }

    private void AppendAll<T>(T[] values) where T : IFloatingPointIeee754<T>, IUtf8SpanFormattable
    {
        for (var i = 0; i < values.Length; i++)
        {
            StartNumber(i);
            var value = values[i];
            if (T.IsFinite(value)) AppendFinite(value);
            else AppendString(value.ToString(null, CultureInfo.InvariantCulture));
        }
    }

    private void AppendFinite<T>(T value) where T : IUtf8SpanFormattable
    {
        int written;
        while (!value.TryFormat(_flat.AsSpan(_length), out written, default, CultureInfo.InvariantCulture))
            Array.Resize(ref _flat, _flat.Length * 2);
        _length += written;
    }

    private void AppendString(string text)
    {
        Append((byte)'"');
        foreach (var c in text) Append((byte)c); // "NaN", "Infinity", "-Infinity": ASCII, nothing to escape
        Append((byte)'"');
    }

    private void Append(byte b)
    {
        if (_length == _flat.Length) Array.Resize(ref _flat, _flat.Length * 2);
        _flat[_length++] = b;
    }

    /// <summary>One dimension's arrays; the innermost one's numbers are a contiguous run of the flat text.</summary>
    private void Nest(long[] shape, int dimension, ref int number)
    {
        AppendNested("["u8);
        if (dimension == shape.Length - 1)
        {
            var size = (int)shape[dimension];
            if (size > 0)
            {
                var start = _starts[number];
                // Up to the comma before the next number, or the closing bracket.
                var end = number + size < _count ? _starts[number + size] - 1 : _length - 1;
                AppendNested(_flat.AsSpan(start, end - start));
                number += size;
            }
        }
        else
        {
            for (var i = 0; i < shape[dimension]; i++)
            {
                if (i > 0) AppendNested(","u8);
                Nest(shape, dimension + 1, ref number);
            }
        }
        AppendNested("]"u8);
    }

    private void AppendNested(ReadOnlySpan<byte> bytes)
    {
        if (_nestedLength + bytes.Length > _nested.Length) Array.Resize(ref _nested, Math.Max(_nested.Length * 2, _nestedLength + bytes.Length));
        bytes.CopyTo(_nested.AsSpan(_nestedLength));
        _nestedLength += bytes.Length;
    }
}
