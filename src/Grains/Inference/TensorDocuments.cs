using System.Text.Json;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Serving;

namespace TrainedModelsOrleans.Grains.Inference;

/// <summary>
/// Our extension beyond Elasticsearch for any ONNX model: a doc gives tensors, either the model's only
/// input as {"tensor":{"shape":[…],"data":[…]}} or inputs by name as {"tensors":{"&lt;input&gt;":{"shape","data"}}};
/// the result holds every output as {"tensors":{"&lt;output&gt;":{"shape","data"}}} and the first output, nested,
/// as predicted_value (like pass_through).
/// </summary>
public static class TensorDocuments
{
    public static bool IsTensorDoc(JsonObject doc) => doc.ContainsKey("tensor") || doc.ContainsKey("tensors");

    /// <param name="beforeData">Called with each tensor's input name and checked shape before its data is converted (the limits' check).</param>
    public static InferenceTensor[] Parse(JsonObject doc, int index, OnnxModelSignature signature, Action<string, long[]>? beforeData = null)
    {
        if (doc.Count != 1) throw Invalid(index, "", "a tensor doc holds only [tensor] or [tensors]");
        if (doc["tensor"] is { } single)
        {
            if (signature.Inputs.Count != 1)
                throw Invalid(index, "tensor", $"the model has {signature.Inputs.Count} inputs [{string.Join(", ", signature.Inputs.Select(i => i.Name))}]; name them in [tensors]");
            return [ParseTensor(single, index, "tensor", signature.Inputs[0], beforeData)];
        }
        var named = doc["tensors"] as JsonObject ?? throw Invalid(index, "tensors", "must be an object of input name to tensor");
        foreach (var (name, _) in named)
            if (signature.Inputs.All(i => i.Name != name))
                throw Invalid(index, $"tensors][{name}", $"the model has no input [{name}]; its inputs are [{string.Join(", ", signature.Inputs.Select(i => i.Name))}]");
        return signature.Inputs.Select(input => ParseTensor(
            named[input.Name] ?? throw Invalid(index, "tensors", $"input [{input.Name}] is missing"), index, $"tensors][{input.Name}", input, beforeData)).ToArray();
    }

    public static JsonObject Render(InferenceTensor[] outputs, string resultsField = "predicted_value")
    {
        var tensors = new JsonObject();
        foreach (var output in outputs)
            tensors[output.Name] = new JsonObject { ["shape"] = new JsonArray(output.Shape.Select(d => (JsonNode?)d).ToArray()), ["data"] = Flat(output.Data) };
        var result = new JsonObject();
        if (outputs.Length > 0) result[resultsField] = Nested(outputs[0].Data, outputs[0].Shape);
        result["tensors"] = tensors;
        return result;
    }

    private static InferenceTensor ParseTensor(JsonNode node, int index, string path, OnnxTensorInfo input, Action<string, long[]>? beforeData)
    {
        if (node is not JsonObject tensor) throw Invalid(index, path, "must be an object with [shape] and [data]");
        if (tensor["shape"] is not JsonArray shapeArray || shapeArray.Count == 0) throw Invalid(index, path + "][shape", "must be a non-empty array of dimensions");
        var shape = new long[shapeArray.Count];
        for (var i = 0; i < shape.Length; i++)
        {
            if (shapeArray[i] is not JsonValue dim || !dim.TryGetValue<long>(out shape[i]) || shape[i] < 0)
                throw Invalid(index, path + "][shape", $"dimension [{i}] must be a non-negative integer");
        }
        if (shape.Length != input.Shape.Count)
            throw Invalid(index, path + "][shape", $"has {shape.Length} dimensions, but input [{input.Name}] has {input.Shape.Count} ([{string.Join(",", input.Shape)}])");
        for (var i = 0; i < shape.Length; i++)
            if (input.Shape[i] >= 0 && input.Shape[i] != shape[i])
                throw Invalid(index, path + "][shape", $"dimension [{i}] is {shape[i]}, but input [{input.Name}] needs {input.Shape[i]}");
        beforeData?.Invoke(input.Name, shape);
        if (tensor["data"] is not JsonArray data) throw Invalid(index, path + "][data", "must be a flat array of numbers");
        long count;
        try { count = shape.Aggregate(1L, (a, d) => checked(a * d)); }
        catch (OverflowException) { throw Invalid(index, path + "][shape", $"[{string.Join(",", shape)}] has more elements than a tensor can hold"); }
        if (data.Count != count) throw Invalid(index, path + "][data", $"has {data.Count} values, but shape [{string.Join(",", shape)}] needs {count}");
        try
        {
            Array values = input.ElementType switch
            {
                // ES refuses non-finite floats in float fields; 1e39 would otherwise become Infinity and come back as "NaN".
                "float" => data.Select(v => Finite(v!.GetValue<float>())).ToArray(),
                "double" => data.Select(v => Finite(v!.GetValue<double>())).ToArray(),
                "int64" => data.Select(v => v!.GetValue<long>()).ToArray(),
                "int32" => data.Select(v => v!.GetValue<int>()).ToArray(),
                "uint8" => data.Select(v => v!.GetValue<byte>()).ToArray(),
                "bool" => data.Select(v => v!.GetValue<bool>()).ToArray(),
                _ => throw Invalid(index, path, $"input [{input.Name}] has element type [{input.ElementType}], which the tensor form does not support"),
            };
            return new InferenceTensor(input.Name, input.ElementType, shape, values);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or NullReferenceException or OverflowException)
        {
            throw Invalid(index, path + "][data", $"must hold only finite {input.ElementType} values");
        }
    }

    private static float Finite(float value) => float.IsFinite(value) ? value : throw new OverflowException();

    private static double Finite(double value) => double.IsFinite(value) ? value : throw new OverflowException();

    private static ElasticsearchException Invalid(int index, string path, string rule) =>
        ElasticsearchException.BadRequest($"[docs][{index}]{(path.Length > 0 ? "[" + path + "]" : "")} {rule}");

    private static JsonArray Flat(Array data)
    {
        var array = new JsonArray();
        for (var i = 0; i < data.Length; i++) array.Add(Value(data, i));
        return array;
    }

    /// <summary>A typed JSON number (boxed values do not serialize with the web defaults).</summary>
    private static JsonNode? Value(Array data, int index) => data switch
    {
        float[] f => float.IsFinite(f[index]) ? JsonValue.Create(f[index]) : JsonValue.Create(f[index].ToString(System.Globalization.CultureInfo.InvariantCulture)),
        double[] d => double.IsFinite(d[index]) ? JsonValue.Create(d[index]) : JsonValue.Create(d[index].ToString(System.Globalization.CultureInfo.InvariantCulture)),
        long[] l => JsonValue.Create(l[index]),
        int[] n => JsonValue.Create(n[index]),
        byte[] b => JsonValue.Create(b[index]),
        bool[] b => JsonValue.Create(b[index]),
        short[] s => JsonValue.Create(s[index]),
        sbyte[] sb => JsonValue.Create(sb[index]),
        ushort[] us => JsonValue.Create(us[index]),
        uint[] ui => JsonValue.Create(ui[index]),
        ulong[] ul => JsonValue.Create(ul[index]),
        Half[] h => JsonValue.Create((float)h[index]),
        _ => JsonValue.Create(data.GetValue(index)?.ToString()),
    };

    private static JsonNode Nested(Array data, long[] shape)
    {
        if (shape.Length <= 1) return Flat(data);
        var position = 0;
        return Build(0);

        JsonArray Build(int dimension)
        {
            var array = new JsonArray();
            for (var i = 0; i < shape[dimension]; i++)
            {
                if (dimension == shape.Length - 1) array.Add(Value(data, position++));
                else array.Add(Build(dimension + 1));
            }
            return array;
        }
    }
}
