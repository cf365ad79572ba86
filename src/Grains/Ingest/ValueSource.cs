using System.Text.Json;
using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Grains.Ingest;

/// <summary>
/// ES's ValueSource: a configured value whose strings (map keys included) are templates rendered against the
/// document each time; other values are copied as they are.
/// </summary>
public sealed class ValueSource
{
    private readonly JsonNode? _constant;
    private readonly FieldTemplate? _template;
    private readonly List<ValueSource>? _items;
    private readonly List<(FieldTemplate Key, ValueSource Value)>? _members;

    private ValueSource(JsonNode? constant, FieldTemplate? template, List<ValueSource>? items, List<(FieldTemplate, ValueSource)>? members) =>
        (_constant, _template, _items, _members) = (constant, template, items, members);

    /// <summary>ES's TemplatedValue: a string (what ignore_empty_value looks at).</summary>
    public bool IsTemplated => _template is not null;

    public static ValueSource Wrap(JsonNode? value, string processorType, string? tag, string property) => value switch
    {
        JsonValue v when v.GetValueKind() == JsonValueKind.String =>
            new ValueSource(null, FieldTemplate.Parse(v.GetValue<string>(), processorType, tag, property), null, null),
        JsonArray list => new ValueSource(null, null, list.Select(item => Wrap(item, processorType, tag, property)).ToList(), null),
        JsonObject map => new ValueSource(null, null, null,
            map.Select(m => (FieldTemplate.Parse(m.Key, processorType, tag, property), Wrap(m.Value, processorType, tag, property))).ToList()),
        _ => new ValueSource(value?.DeepClone(), null, null, null),
    };

    public JsonNode? Resolve(IngestDocument document)
    {
        if (_template is not null) return JsonValue.Create(_template.Render(document));
        if (_items is not null) return new JsonArray(_items.Select(i => i.Resolve(document)).ToArray());
        if (_members is not null)
        {
            var map = new JsonObject();
            foreach (var (key, value) in _members) map[key.Render(document)] = value.Resolve(document);
            return map;
        }
        return _constant?.DeepClone();
    }
}
