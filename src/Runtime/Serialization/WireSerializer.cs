using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Runtime.Serialization;

/// <summary>
/// Encodes call arguments, results and exceptions for the wire.
/// <list type="bullet">
/// <item>Arguments: int32 count, then per argument an int32 length (-1 = null) and the bytes: a <c>byte[]</c> is carried
/// raw, anything else as System.Text.Json UTF-8 of its declared type. All integers little-endian.</item>
/// <item>Result: empty for <see cref="NoResult"/>/void, else a marker byte (0 = null, 1 = value) and the value encoded as an argument is.</item>
/// <item>Exception: a UTF-8 JSON envelope <c>{kind, type, message, stackTrace, data?, inner?}</c>; an unknown kind decodes as <see cref="RemoteException"/>.</item>
/// </list>
/// Thread-safe; configure <see cref="JsonOptions"/> before the first call.
/// </summary>
public sealed class WireSerializer
{
    /// <summary>How many inner exceptions deep an exception is carried.</summary>
    public const int MaxExceptionDepth = 8;

    private const string RemoteKind = "remote";
    private const int ScratchKeepBytes = 1 << 20;

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_scratch;

    private readonly IExceptionCodec[] _codecs;
    private readonly Dictionary<string, IExceptionCodec> _codecsByKind;

    public WireSerializer(JsonSerializerOptions? options = null, IEnumerable<IExceptionCodec>? exceptionCodecs = null)
    {
        JsonOptions = options ?? new JsonSerializerOptions();
        _codecs = exceptionCodecs?.ToArray() ?? [];
        _codecsByKind = new Dictionary<string, IExceptionCodec>(StringComparer.Ordinal);
        foreach (var codec in _codecs)
        {
            if (codec.Kind == RemoteKind || BuiltInExceptions.ByKind.ContainsKey(codec.Kind) || !_codecsByKind.TryAdd(codec.Kind, codec))
                throw new ArgumentException($"Exception codec kind '{codec.Kind}' is used twice or reserved.", nameof(exceptionCodecs));
        }
    }

    public JsonSerializerOptions JsonOptions { get; }

    public byte[] SerializeArguments(object?[] args, IReadOnlyList<Type> declaredTypes)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length != declaredTypes.Count)
            throw new ArgumentException($"{args.Length} arguments given for {declaredTypes.Count} declared parameters.", nameof(args));

        var scratch = RentScratch();
        // Pass 1 writes the JSON arguments into the scratch buffer and measures everything; pass 2 copies into one exact array.
        Span<int> jsonEnds = args.Length <= 32 ? stackalloc int[args.Length] : new int[args.Length];
        var total = 4;
        Utf8JsonWriter? writer = null;
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                total += 4;
                switch (args[i])
                {
                    case null:
                        break;
                    case byte[] raw when declaredTypes[i] == typeof(byte[]):
                        total += raw.Length;
                        break;
                    default:
                        var start = scratch.WrittenCount;
                        WriteJson(ref writer, scratch, args[i], declaredTypes[i]);
                        total += scratch.WrittenCount - start;
                        break;
                }
                jsonEnds[i] = scratch.WrittenCount;
            }

            var payload = new byte[total];
            var span = payload.AsSpan();
            BinaryPrimitives.WriteInt32LittleEndian(span, args.Length);
            var position = 4;
            var jsonStart = 0;
            for (var i = 0; i < args.Length; i++)
            {
                ReadOnlySpan<byte> bytes = args[i] switch
                {
                    null => default,
                    byte[] raw when declaredTypes[i] == typeof(byte[]) => raw,
                    _ => scratch.WrittenSpan[jsonStart..jsonEnds[i]],
                };
                BinaryPrimitives.WriteInt32LittleEndian(span[position..], args[i] is null ? -1 : bytes.Length);
                bytes.CopyTo(span[(position + 4)..]);
                position += 4 + bytes.Length;
                jsonStart = jsonEnds[i];
            }
            return payload;
        }
        finally
        {
            writer?.Dispose();
            ReturnScratch(scratch);
        }
    }

    public object?[] DeserializeArguments(ReadOnlySpan<byte> payload, IReadOnlyList<Type> declaredTypes)
    {
        if (payload.Length < 4) throw new WireFormatException($"Argument payload of {payload.Length} bytes is truncated.");
        var count = BinaryPrimitives.ReadInt32LittleEndian(payload);
        if (count != declaredTypes.Count)
            throw new WireFormatException($"Argument payload holds {count} arguments; {declaredTypes.Count} are declared.");

        var args = new object?[count];
        var position = 4;
        for (var i = 0; i < count; i++)
        {
            if (payload.Length - position < 4) throw new WireFormatException($"Argument payload is truncated at argument {i}.");
            var length = BinaryPrimitives.ReadInt32LittleEndian(payload[position..]);
            position += 4;
            if (length == -1)
            {
                args[i] = DefaultOf(declaredTypes[i]);
                continue;
            }
            if (length < 0 || length > payload.Length - position)
                throw new WireFormatException($"Argument {i} claims {length} bytes; {payload.Length - position} remain.");
            args[i] = ReadValue(payload.Slice(position, length), declaredTypes[i], $"argument {i}");
            position += length;
        }
        if (position != payload.Length)
            throw new WireFormatException($"Argument payload has {payload.Length - position} trailing bytes.");
        return args;
    }

    public byte[] SerializeResult(object? value, Type declaredType)
    {
        if (IsNoResult(declaredType)) return [];
        if (value is null) return [0];
        if (value is byte[] raw && declaredType == typeof(byte[]))
        {
            var payload = new byte[raw.Length + 1];
            payload[0] = 1;
            raw.CopyTo(payload, 1);
            return payload;
        }

        var scratch = RentScratch();
        Utf8JsonWriter? writer = null;
        try
        {
            scratch.GetSpan(1)[0] = 1;
            scratch.Advance(1);
            WriteJson(ref writer, scratch, value, declaredType);
            return scratch.WrittenSpan.ToArray();
        }
        finally
        {
            writer?.Dispose();
            ReturnScratch(scratch);
        }
    }

    public object? DeserializeResult(ReadOnlySpan<byte> payload, Type declaredType)
    {
        if (IsNoResult(declaredType)) return null;
        if (payload.IsEmpty) throw new WireFormatException($"Result payload for {declaredType} is empty.");
        return payload[0] switch
        {
            0 when payload.Length == 1 => DefaultOf(declaredType),
            1 => ReadValue(payload[1..], declaredType, "result"),
            _ => throw new WireFormatException($"Result payload for {declaredType} starts with an unknown marker {payload[0]}."),
        };
    }

    public byte[] SerializeException(Exception e) =>
        JsonSerializer.SerializeToUtf8Bytes(EncodeExceptionNode(e), JsonOptions);

    public Exception DeserializeException(ReadOnlySpan<byte> payload)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(payload);
        }
        catch (JsonException e)
        {
            throw new WireFormatException($"Exception payload of {payload.Length} bytes is not valid JSON: {e.Message}", e);
        }
        if (node is not JsonObject envelope) throw new WireFormatException("Exception payload is not a JSON object.");
        return DecodeExceptionNode(envelope);
    }

    /// <summary>An exception as a JSON envelope; codecs use this to nest an inner exception in their data.</summary>
    public JsonObject EncodeExceptionNode(Exception e) => Encode(e, 0);

    /// <summary>Recreates an exception from an envelope made by <see cref="EncodeExceptionNode"/>.</summary>
    public Exception DecodeExceptionNode(JsonObject envelope) => Decode(envelope, 0);

    private JsonObject Encode(Exception e, int depth)
    {
        var type = e.GetType();
        var envelope = new JsonObject
        {
            ["type"] = type.FullName ?? type.Name,
            ["stackTrace"] = e.StackTrace,
        };
        var codec = Array.Find(_codecs, c => c.CanEncode(e));
        if (codec is not null)
        {
            envelope["kind"] = codec.Kind;
            envelope["message"] = e.Message;
            envelope["data"] = codec.Encode(e, this);
            return envelope;
        }

        if (BuiltInExceptions.ByType.TryGetValue(type, out var builtIn))
        {
            envelope["kind"] = type.Name;
            envelope["message"] = BuiltInExceptions.RawMessage(e);
            envelope["data"] = builtIn.Encode(e);
        }
        else
        {
            envelope["kind"] = RemoteKind;
            envelope["message"] = e.Message;
        }
        if (e.InnerException is { } inner && depth < MaxExceptionDepth) envelope["inner"] = Encode(inner, depth + 1);
        return envelope;
    }

    private Exception Decode(JsonObject envelope, int depth)
    {
        string kind, type, message;
        string? stackTrace;
        JsonObject? data;
        JsonNode? innerNode;
        try
        {
            kind = envelope["kind"]?.GetValue<string>() ?? throw new WireFormatException("Exception envelope has no kind.");
            type = envelope["type"]?.GetValue<string>() ?? kind;
            message = envelope["message"]?.GetValue<string>() ?? "";
            stackTrace = envelope["stackTrace"]?.GetValue<string>();
            data = envelope["data"] as JsonObject;
            innerNode = envelope["inner"];
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new WireFormatException($"Exception envelope is malformed: {e.Message}", e);
        }
        if (innerNode is not null and not JsonObject) throw new WireFormatException("Exception envelope's inner exception is not an object.");
        var inner = innerNode is JsonObject innerEnvelope && depth < MaxExceptionDepth ? Decode(innerEnvelope, depth + 1) : null;

        Exception result;
        if (_codecsByKind.TryGetValue(kind, out var codec))
        {
            try
            {
                result = codec.Decode(data ?? [], this);
            }
            catch (Exception failure)
            {
                return new RemoteException(type, message, stackTrace, failure);
            }
        }
        else if (BuiltInExceptions.ByKind.TryGetValue(kind, out var builtIn))
        {
            try
            {
                result = builtIn.Create(message, data, inner);
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException)
            {
                throw new WireFormatException($"Exception envelope of kind {kind} is malformed: {e.Message}", e);
            }
        }
        else
        {
            return new RemoteException(type, message, stackTrace, inner);
        }

        if (!string.IsNullOrEmpty(stackTrace) && result.StackTrace is null)
        {
            try
            {
                ExceptionDispatchInfo.SetRemoteStackTrace(result, stackTrace);
            }
            catch (InvalidOperationException)
            {
                // A codec handed back an exception that was already thrown; it keeps its own trace.
            }
        }
        return result;
    }

    private void WriteJson(ref Utf8JsonWriter? writer, ArrayBufferWriter<byte> scratch, object? value, Type declaredType)
    {
        if (writer is null) writer = new Utf8JsonWriter(scratch, new JsonWriterOptions { Encoder = JsonOptions.Encoder, SkipValidation = true });
        else writer.Reset(scratch);
        JsonSerializer.Serialize(writer, value, declaredType, JsonOptions);
        writer.Flush();
    }

    private object? ReadValue(ReadOnlySpan<byte> bytes, Type declaredType, string what)
    {
        if (declaredType == typeof(byte[])) return bytes.ToArray();
        try
        {
            return JsonSerializer.Deserialize(bytes, declaredType, JsonOptions);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            throw new WireFormatException($"The {what} is not a valid {declaredType}: {e.Message}", e);
        }
    }

    private static bool IsNoResult(Type declaredType) => declaredType == typeof(NoResult) || declaredType == typeof(void);

    private static object? DefaultOf(Type type) =>
        type.IsValueType && Nullable.GetUnderlyingType(type) is null ? Activator.CreateInstance(type) : null;

    private static ArrayBufferWriter<byte> RentScratch()
    {
        var scratch = t_scratch ?? new ArrayBufferWriter<byte>(1024);
        t_scratch = null; // a nested call on this thread (a converter serializing through us) gets its own
        scratch.ResetWrittenCount();
        return scratch;
    }

    private static void ReturnScratch(ArrayBufferWriter<byte> scratch)
    {
        if (scratch.Capacity <= ScratchKeepBytes) t_scratch = scratch;
    }
}
