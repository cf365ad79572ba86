using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Grains.Ingest.Processors;

/// <summary>ES's RemoveProcessor: the <c>field</c>s (templated) go, or everything but the <c>keep</c> fields and the metadata; <c>ignore_missing</c>.</summary>
public sealed class RemoveProcessor(string? tag, string? description, IReadOnlyList<FieldTemplate> fields, IReadOnlyList<FieldTemplate> keep,
    bool ignoreMissing) : IngestProcessor("remove", tag, description)
{
    public static RemoveProcessor Create(ProcessorConfig config, string? description)
    {
        var fields = config.Contains("field") ? config.ReadStringOrList("field") : [];
        var keep = config.Contains("keep") ? config.ReadStringOrList("keep") : [];
        if (fields.Count == 0 && keep.Count == 0) throw config.Error("keep", "or [field] must be specified");
        if (fields.Count > 0 && keep.Count > 0) throw config.Error("keep", "and [field] cannot both be used in the same processor");
        var ignoreMissing = config.ReadBoolean("ignore_missing", false);
        return new RemoveProcessor(config.Tag, description,
            fields.Select(f => FieldTemplate.Parse(f, config.Type, config.Tag, "field")).ToList(),
            keep.Select(k => FieldTemplate.Parse(k, config.Type, config.Tag, "keep")).ToList(), ignoreMissing);
    }

    protected override bool Execute(IngestDocument document)
    {
        if (keep.Count > 0)
        {
            // Every dotted path of the document goes unless a kept path is it, lies under it, or holds it.
            var kept = keep.Select(k => k.Render(document)).ToList();
            foreach (var path in AllFields(document.SourceAndMetadata, null).ToList())
            {
                if (IngestDocument.MetadataFields.Contains(path)) continue;
                if (kept.Any(k => k == path || k.StartsWith(path + ".", StringComparison.Ordinal) || path.StartsWith(k + ".", StringComparison.Ordinal))) continue;
                if (document.HasField(path)) document.RemoveField(path);
            }
            return true;
        }
        foreach (var field in fields)
        {
            var path = field.Render(document);
            if (ignoreMissing && !document.HasField(path)) continue;
            document.RemoveField(path);
        }
        return true;
    }

    // IngestDocument.getAllFields: each key, and the keys of nested objects as dotted paths.
    private static IEnumerable<string> AllFields(JsonObject map, string? prefix)
    {
        foreach (var (key, value) in map)
        {
            var path = prefix is null ? key : prefix + "." + key;
            yield return path;
            if (value is JsonObject nested)
                foreach (var inner in AllFields(nested, path)) yield return inner;
        }
    }
}
