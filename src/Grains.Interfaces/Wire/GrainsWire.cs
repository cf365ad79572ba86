using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Serving;
using TrainedModelsOrleans.Runtime.Serialization;

namespace TrainedModelsOrleans.Grains.Wire;

/// <summary>
/// How the grain interfaces' own types cross process boundaries. Silos and cluster clients both build
/// their <see cref="WireSerializer"/> from here, so the two ends always agree.
/// </summary>
public static class GrainsWire
{
    public static WireSerializer CreateSerializer() => new(JsonOptions(), ExceptionCodecs());

    public static JsonSerializerOptions JsonOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.General);
        options.Converters.Add(new InferenceTensorConverter());
        return options;
    }

    /// <summary>Most specific first: the serializer asks them in this order.</summary>
    public static IReadOnlyList<IExceptionCodec> ExceptionCodecs() => [new ElasticsearchExceptionCodec()];
}

/// <summary>ES errors keep their status, type, reason, headers and nested causes, so a remote 409 is still a 409.</summary>
internal sealed class ElasticsearchExceptionCodec : IExceptionCodec
{
    public string Kind => "elasticsearch";

    public bool CanEncode(Exception e) => e is ElasticsearchException;

    public JsonObject Encode(Exception e, WireSerializer serializer) => Write((ElasticsearchException)e);

    public Exception Decode(JsonObject data, WireSerializer serializer) => Read(data);

    private static JsonObject Write(ElasticsearchException e)
    {
        var node = new JsonObject { ["status"] = e.Status, ["type"] = e.Type, ["reason"] = e.Reason };
        if (e.Headers is { } headers)
        {
            var written = new JsonObject();
            foreach (var (name, value) in headers) written[name] = value;
            node["headers"] = written;
        }
        if (e is ElasticsearchExceptionWithCause wrapped) node["caused_by"] = Write(wrapped.CausedBy);
        return node;
    }

    private static ElasticsearchException Read(JsonObject node)
    {
        var status = node["status"]!.GetValue<int>();
        var type = node["type"]!.GetValue<string>();
        var reason = node["reason"]!.GetValue<string>();
        var headers = node["headers"] is JsonObject written
            ? written.ToDictionary(p => p.Key, p => p.Value!.GetValue<string>())
            : null;
        return node["caused_by"] is JsonObject cause
            ? new ElasticsearchExceptionWithCause(status, type, reason, Read(cause)) { Headers = headers }
            : new ElasticsearchException(status, type, reason) { Headers = headers };
    }
}

/// <summary>A tensor's data travels as the raw bytes of its primitive array (base64 in JSON), not as a list of numbers.</summary>
internal sealed class InferenceTensorConverter : JsonConverter<InferenceTensor>
{
    private static readonly Dictionary<string, Type> PrimitiveTypes = new[]
    {
        typeof(float), typeof(double), typeof(long), typeof(int), typeof(short), typeof(sbyte),
        typeof(byte), typeof(ushort), typeof(uint), typeof(ulong), typeof(bool),
    }.ToDictionary(t => t.Name, StringComparer.Ordinal);

    public override InferenceTensor Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var node = JsonNode.Parse(ref reader) as JsonObject ?? throw new JsonException("A tensor must be an object.");
        var name = node["name"]?.GetValue<string>() ?? throw new JsonException("A tensor needs [name].");
        var elementType = node["element_type"]?.GetValue<string>() ?? throw new JsonException("A tensor needs [element_type].");
        var shape = node["shape"]?.Deserialize<long[]>() ?? throw new JsonException("A tensor needs [shape].");
        var clr = node["clr"]?.GetValue<string>() ?? throw new JsonException("A tensor needs [clr].");
        Array data;
        if (clr == nameof(String))
        {
            data = node["data"]?.Deserialize<string[]>() ?? throw new JsonException("A tensor needs [data].");
        }
        else
        {
            if (!PrimitiveTypes.TryGetValue(clr, out var type)) throw new JsonException($"Tensor element type [{clr}] is not supported.");
            var bytes = Convert.FromBase64String(node["data"]?.GetValue<string>() ?? throw new JsonException("A tensor needs [data]."));
            var size = System.Runtime.InteropServices.Marshal.SizeOf(type == typeof(bool) ? typeof(byte) : type);
            if (bytes.Length % size != 0) throw new JsonException("Tensor data is not a whole number of elements.");
            data = Array.CreateInstance(type, bytes.Length / size);
            Buffer.BlockCopy(bytes, 0, data, 0, bytes.Length);
        }
        return new InferenceTensor(name, elementType, shape, data);
    }

    public override void Write(Utf8JsonWriter writer, InferenceTensor value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("name", value.Name);
        writer.WriteString("element_type", value.ElementType);
        writer.WritePropertyName("shape");
        JsonSerializer.Serialize(writer, value.Shape, options);
        var element = value.Data.GetType().GetElementType()!;
        writer.WriteString("clr", element.Name);
        writer.WritePropertyName("data");
        if (value.Data is string[] strings)
        {
            JsonSerializer.Serialize(writer, strings, options);
        }
        else
        {
            if (!PrimitiveTypes.ContainsKey(element.Name)) throw new JsonException($"Tensor element type [{element.Name}] cannot be sent.");
            var bytes = new byte[Buffer.ByteLength(value.Data)];
            Buffer.BlockCopy(value.Data, 0, bytes, 0, bytes.Length);
            writer.WriteBase64StringValue(bytes);
        }
        writer.WriteEndObject();
    }
}
