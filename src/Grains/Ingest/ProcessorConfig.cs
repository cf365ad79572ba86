using System.Text.Json;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Pipelines;

namespace TrainedModelsOrleans.Grains.Ingest;

/// <summary>
/// One processor's configuration read the way ES's ConfigurationUtils reads it: each property removed as it is
/// taken, ES's texts for a missing or mistyped property, and what is left over refused at the end.
/// </summary>
public sealed class ProcessorConfig(string type, string? tag, JsonObject config)
{
    private readonly Dictionary<string, JsonNode?> _properties =
        config.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    public string Type { get; } = type;
    public string? Tag { get; } = tag;

    public bool Contains(string name) => _properties.ContainsKey(name);

    /// <summary>The property's value, removed; null when absent or JSON null (ES's maps hold null as missing).</summary>
    public JsonNode? Remove(string name)
    {
        _properties.Remove(name, out var value);
        return value;
    }

    public string ReadString(string name, string? defaultValue = null) =>
        ReadOptionalString(name) ?? defaultValue ?? throw Error(name, "required property is missing");

    public string? ReadOptionalString(string name) => Remove(name) switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        var value => throw Error(name, $"property isn't a string, but of type [{IngestValues.JavaType(value)}]"),
    };

    public bool ReadBoolean(string name, bool defaultValue) => Remove(name) switch
    {
        null => defaultValue,
        JsonValue v when v.GetValueKind() == JsonValueKind.True => true,
        JsonValue v when v.GetValueKind() == JsonValueKind.False => false,
        var value => throw Error(name, $"property isn't a boolean, but of type [{IngestValues.JavaType(value)}]"),
    };

    public JsonNode ReadObject(string name) => Remove(name) ?? throw Error(name, "required property is missing");

    public JsonObject? ReadOptionalMap(string name) => Remove(name) switch
    {
        null => null,
        JsonObject map => map,
        var value => throw Error(name, $"property isn't a map, but of type [{IngestValues.JavaType(value)}]"),
    };

    public JsonArray? ReadOptionalList(string name) => Remove(name) switch
    {
        null => null,
        JsonArray list => list,
        var value => throw Error(name, $"property isn't a list, but of type [{IngestValues.JavaType(value)}]"),
    };

    /// <summary>A string or a list of strings (remove's <c>field</c> and <c>keep</c>).</summary>
    public IReadOnlyList<string> ReadStringOrList(string name) => ReadObject(name) switch
    {
        JsonArray list => list.Select(item => IngestValues.AsString(item)
            ?? throw Error(name, $"property isn't a string or a list of strings, it holds [{IngestValues.JavaType(item)}]")).ToList(),
        var value => [IngestValues.AsString(value) ?? throw Error(name, $"property isn't a string or a list of strings, but of type [{IngestValues.JavaType(value)}]")],
    };

    public FieldTemplate ReadTemplate(string name, string? defaultValue = null) => FieldTemplate.Parse(ReadString(name, defaultValue), Type, Tag, name);

    public IngestConfigurationException Error(string? property, string reason) => IngestConfigurationException.Create(Type, Tag, property, reason);

    /// <summary>Pipeline.create: a processor must use every property it was given.</summary>
    public void EnsureConsumed()
    {
        if (_properties.Count == 0) return;
        // Named in the order the request gave them (the dictionary's order is not kept through removals).
        var unused = config.Select(p => p.Key).Where(_properties.ContainsKey);
        throw Error(null, $"processor [{Type}] doesn't support one or more provided configuration parameters [{string.Join(", ", unused)}]");
    }
}
