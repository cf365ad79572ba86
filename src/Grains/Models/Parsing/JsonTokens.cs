using System.Text.Json;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Grains.Models.Parsing;

/// <summary>ES's XContentParser token names for a JSON node, as its parse errors print them.</summary>
public static class JsonTokens
{
    public static string Name(JsonNode? node) => node switch
    {
        null => "VALUE_NULL",
        JsonObject => "START_OBJECT",
        JsonArray => "START_ARRAY",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "VALUE_STRING",
            JsonValueKind.Number => "VALUE_NUMBER",
            JsonValueKind.True or JsonValueKind.False => "VALUE_BOOLEAN",
            _ => "VALUE_NULL",
        },
        _ => "VALUE_NULL",
    };

    /// <summary>ES's ObjectParser refusal of a field whose value is of a type it does not take.</summary>
    public static ElasticsearchException Unsupported(string parser, string field, JsonNode? value) =>
        EsErrors.XContentParse($"[{parser}] {field} doesn't support values of type: {Name(value)}");
}
