using System.Buffers;
using System.Globalization;
using System.Text.Json;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Serving;

namespace TrainedModelsOrleans.Api.Http;

/// <summary>
/// The _infer body in its tensor form, read straight from the request bytes into typed arrays, and the answer
/// written straight into the response (no JSON DOM on either side). Only the plain, valid case is read here:
/// <see cref="TryRead"/> says false for anything else (another field, a text doc, a shape the model does not
/// take, a number of the wrong kind), and the caller gives the request to the general parser, whose errors are
/// Elasticsearch's. So both paths answer alike, and nothing on this one throws on bad input.
/// </summary>
public static class TensorInferJson
{
    private static ReadOnlySpan<byte> Docs => "docs"u8;
    private static ReadOnlySpan<byte> TimeoutField => "timeout"u8;
    private static ReadOnlySpan<byte> TensorField => "tensor"u8;
    private static ReadOnlySpan<byte> TensorsField => "tensors"u8;
    private static ReadOnlySpan<byte> ShapeField => "shape"u8;
    private static ReadOnlySpan<byte> DataField => "data"u8;

    /// <summary>Reads {"docs":[{"tensor"|"tensors":…}, …], "timeout"?} for a model with <paramref name="signature"/>'s inputs.</summary>
    public static bool TryRead(in ReadOnlySequence<byte> body, OnnxModelSignature signature, out InferenceTensor[][] docs, out string? timeout)
    {
        docs = [];
        timeout = null;
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            InferenceTensor[][]? read = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals(Docs) && read is null)
                {
                    if (!TryReadDocs(ref reader, signature, out read)) return false;
                }
                else if (reader.ValueTextEquals(TimeoutField) && timeout is null)
                {
                    if (!reader.Read() || reader.TokenType != JsonTokenType.String) return false;
                    timeout = reader.GetString();
                }
                else return false;
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read() || read is null || read.Length == 0) return false;
            docs = read;
            return true;
        }
        catch (JsonException)
        {
            return false; // malformed JSON: the general parser words the error
        }
    }

    private static bool TryReadDocs(ref Utf8JsonReader reader, OnnxModelSignature signature, out InferenceTensor[][]? docs)
    {
        docs = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray) return false;
        var list = new List<InferenceTensor[]>(1);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject || !reader.Read() || reader.TokenType != JsonTokenType.PropertyName) return false;
            InferenceTensor[] doc;
            if (reader.ValueTextEquals(TensorField))
            {
                if (signature.Inputs.Count != 1 || !reader.Read() || !TryReadTensor(ref reader, signature.Inputs[0], out var tensor)) return false;
                doc = [tensor];
            }
            else if (reader.ValueTextEquals(TensorsField))
            {
                if (!TryReadNamedTensors(ref reader, signature, out doc)) return false;
            }
            else return false;
            // A tensor doc holds that one field.
            if (!reader.Read() || reader.TokenType != JsonTokenType.EndObject) return false;
            list.Add(doc);
        }
        docs = list.ToArray();
        return true;
    }

    private static bool TryReadNamedTensors(ref Utf8JsonReader reader, OnnxModelSignature signature, out InferenceTensor[] doc)
    {
        doc = new InferenceTensor[signature.Inputs.Count];
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
        var found = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var index = -1;
            for (var i = 0; i < signature.Inputs.Count; i++)
                if (reader.ValueTextEquals(signature.Inputs[i].Name)) { index = i; break; }
            if (index < 0 || doc[index] is not null || !reader.Read() || !TryReadTensor(ref reader, signature.Inputs[index], out doc[index])) return false;
            found++;
        }
        return reader.TokenType == JsonTokenType.EndObject && found == doc.Length;
    }

    /// <summary>{"shape":[…],"data":[…]} in either order, checked against the input as the general parser checks it.</summary>
    private static bool TryReadTensor(ref Utf8JsonReader reader, OnnxTensorInfo input, out InferenceTensor tensor)
    {
        tensor = null!;
        if (reader.TokenType != JsonTokenType.StartObject) return false;
        long[]? shape = null;
        Array? data = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals(ShapeField) && shape is null)
            {
                if (!TryReadShape(ref reader, out shape)) return false;
            }
            else if (reader.ValueTextEquals(DataField) && data is null)
            {
                var read = input.ElementType switch
                {
                    "float" => TryReadNumbers<float, FloatReader>(ref reader, out data),
                    "double" => TryReadNumbers<double, DoubleReader>(ref reader, out data),
                    "int64" => TryReadNumbers<long, Int64Reader>(ref reader, out data),
                    "int32" => TryReadNumbers<int, Int32Reader>(ref reader, out data),
                    _ => false,
                };
                if (!read) return false;
            }
            else return false;
        }
        if (reader.TokenType != JsonTokenType.EndObject || shape is null || data is null || shape.Length != input.Shape.Count) return false;
        long count = 1;
        for (var i = 0; i < shape.Length; i++)
        {
            if (input.Shape[i] >= 0 && input.Shape[i] != shape[i]) return false;
            count *= shape[i];
            if (count > int.MaxValue) return false;
        }
        if (count != data.Length) return false;
        tensor = new InferenceTensor(input.Name, input.ElementType, shape, data);
        return true;
    }

    private static bool TryReadShape(ref Utf8JsonReader reader, out long[]? shape)
    {
        shape = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray) return false;
        Span<long> dims = stackalloc long[16];
        var count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || count == dims.Length || !reader.TryGetInt64(out var dim) || dim < 0) return false;
            dims[count++] = dim;
        }
        if (count == 0) return false;
        shape = dims[..count].ToArray();
        return true;
    }

    /// <summary>A flat array of numbers of one type, gathered in a pooled buffer, then copied once into an array of its exact length.</summary>
    private static bool TryReadNumbers<T, TReader>(ref Utf8JsonReader reader, out Array? data) where TReader : INumberReader<T>
    {
        data = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray) return false;
        var buffer = ArrayPool<T>.Shared.Rent(256);
        var count = 0;
        try
        {
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.Number || !TReader.TryRead(ref reader, out var value)) return false;
                if (count == buffer.Length)
                {
                    var larger = ArrayPool<T>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan().CopyTo(larger);
                    ArrayPool<T>.Shared.Return(buffer);
                    buffer = larger;
                }
                buffer[count++] = value;
            }
            data = buffer.AsSpan(0, count).ToArray();
            return true;
        }
        finally
        {
            ArrayPool<T>.Shared.Return(buffer);
        }
    }

    private interface INumberReader<T>
    {
        static abstract bool TryRead(ref Utf8JsonReader reader, out T value);
    }

    // Non-finite values (1e39 as a float) go to the general parser, which decides what they mean. Numbers in one
    // segment try JsonNumbers (csFastFloat) first; what it declines is parsed by the reader as before.
    private readonly struct FloatReader : INumberReader<float>
    {
        public static bool TryRead(ref Utf8JsonReader reader, out float value) =>
            ((!reader.HasValueSequence && JsonNumbers.TryParseSingle(reader.ValueSpan, out value)) || reader.TryGetSingle(out value)) &&
            float.IsFinite(value);
    }

    private readonly struct DoubleReader : INumberReader<double>
    {
        public static bool TryRead(ref Utf8JsonReader reader, out double value) =>
            ((!reader.HasValueSequence && JsonNumbers.TryParseDouble(reader.ValueSpan, out value)) || reader.TryGetDouble(out value)) &&
            double.IsFinite(value);
    }

    private readonly struct Int64Reader : INumberReader<long>
    {
        public static bool TryRead(ref Utf8JsonReader reader, out long value) => reader.TryGetInt64(out value);
    }

    private readonly struct Int32Reader : INumberReader<int>
    {
        public static bool TryRead(ref Utf8JsonReader reader, out int value) => reader.TryGetInt32(out value);
    }

    /// <summary>
    /// {"inference_results":[…]}, each doc's outputs as the general path renders them (TensorDocuments.Render):
    /// the first output nested as predicted_value, then every output flat under tensors. The first output's numbers
    /// are written twice, so a float or double one is formatted once and its text reused (formatting is most of the
    /// writing).
    /// </summary>
    public static void Write(Utf8JsonWriter writer, InferenceTensor[][] results)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("inference_results");
        foreach (var outputs in results)
        {
            writer.WriteStartObject();
            FormattedNumbers? first = null;
            try
            {
                if (outputs.Length > 0)
                {
                    writer.WritePropertyName("predicted_value");
                    first = FormattedNumbers.TryFormat(outputs[0].Data);
                    if (first is null || !first.TryWriteNested(writer, outputs[0].Shape)) WriteNested(writer, outputs[0].Data, outputs[0].Shape);
                }
                writer.WriteStartObject("tensors");
                for (var o = 0; o < outputs.Length; o++)
                {
                    var output = outputs[o];
                    writer.WriteStartObject(output.Name);
                    writer.WriteStartArray("shape");
                    foreach (var dim in output.Shape) writer.WriteNumberValue(dim);
                    writer.WriteEndArray();
                    writer.WritePropertyName("data");
                    if (o == 0 && first is not null) first.WriteFlat(writer);
                    else WriteFlat(writer, output.Data, 0, output.Data.Length);
                    writer.WriteEndObject();
                }
                writer.WriteEndObject();
            }
            finally
            {
                first?.Dispose();
            }
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteNested(Utf8JsonWriter writer, Array data, long[] shape)
    {
        if (shape.Length <= 1)
        {
            WriteFlat(writer, data, 0, data.Length);
            return;
        }
        var position = 0;
        Build(0);

        void Build(int dimension)
        {
            writer.WriteStartArray();
            if (dimension == shape.Length - 1)
            {
                WriteFlat(writer, data, position, (int)shape[dimension], asArray: false);
                position += (int)shape[dimension];
            }
            else
                for (var i = 0; i < shape[dimension]; i++) Build(dimension + 1);
            writer.WriteEndArray();
        }
    }

    /// <summary>Values as JSON numbers; a non-finite float or double as its invariant text, as the general path writes it.</summary>
    private static void WriteFlat(Utf8JsonWriter writer, Array data, int start, int count, bool asArray = true)
    {
        if (asArray) writer.WriteStartArray();
        var end = start + count;
        switch (data)
        {
            case float[] f:
                for (var i = start; i < end; i++)
                    if (float.IsFinite(f[i])) writer.WriteNumberValue(f[i]);
                    else writer.WriteStringValue(f[i].ToString(CultureInfo.InvariantCulture));
                break;
            case double[] d:
                for (var i = start; i < end; i++)
                    if (double.IsFinite(d[i])) writer.WriteNumberValue(d[i]);
                    else writer.WriteStringValue(d[i].ToString(CultureInfo.InvariantCulture));
                break;
            case long[] l:
                for (var i = start; i < end; i++) writer.WriteNumberValue(l[i]);
                break;
            case int[] n:
                for (var i = start; i < end; i++) writer.WriteNumberValue(n[i]);
                break;
            case byte[] b:
                for (var i = start; i < end; i++) writer.WriteNumberValue(b[i]);
                break;
            case bool[] b:
                for (var i = start; i < end; i++) writer.WriteBooleanValue(b[i]);
                break;
            case short[] s:
                for (var i = start; i < end; i++) writer.WriteNumberValue(s[i]);
                break;
            case sbyte[] s:
                for (var i = start; i < end; i++) writer.WriteNumberValue(s[i]);
                break;
            case ushort[] s:
                for (var i = start; i < end; i++) writer.WriteNumberValue(s[i]);
                break;
            case uint[] u:
                for (var i = start; i < end; i++) writer.WriteNumberValue(u[i]);
                break;
            case ulong[] u:
                for (var i = start; i < end; i++) writer.WriteNumberValue(u[i]);
                break;
            case Half[] h:
                for (var i = start; i < end; i++) writer.WriteNumberValue((float)h[i]);
                break;
            default:
                for (var i = start; i < end; i++)
                    if (data.GetValue(i)?.ToString() is { } text) writer.WriteStringValue(text);
                    else writer.WriteNullValue();
                break;
        }
        if (asArray) writer.WriteEndArray();
    }
}
