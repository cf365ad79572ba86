using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Cli.Tensors;

/// <summary>The body of <c>POST _ml/trained_models/&lt;id&gt;/_infer</c> for one document, from what the user gave.</summary>
public static class InferRequestBody
{
    public static JsonObject ForText(string field, string text) => Docs(new JsonObject { [field] = text });

    public static JsonObject ForNpy(NpyArray array) => Docs(new JsonObject { ["tensor"] = array.ToTensorJson() });

    /// <summary>
    /// A tensor file: a whole request (<c>{"docs": [...]}</c>), one document (<c>{"tensor": ...}</c> or
    /// <c>{"tensors": ...}</c>), or a bare tensor (<c>{"shape", "data"}</c>).
    /// </summary>
    public static JsonObject ForTensorJson(JsonNode? file) => file switch
    {
        JsonObject request when request.ContainsKey("docs") => request,
        JsonObject doc when doc.ContainsKey("tensor") || doc.ContainsKey("tensors") => Docs(doc),
        JsonObject tensor when tensor.ContainsKey("shape") && tensor.ContainsKey("data") => Docs(new JsonObject { ["tensor"] = tensor }),
        _ => throw new FormatException("the tensor file holds none of {\"docs\"}, {\"tensor\"}, {\"tensors\"} or {\"shape\", \"data\"}"),
    };

    private static JsonObject Docs(JsonObject doc) => new() { ["docs"] = new JsonArray(doc) };
}
