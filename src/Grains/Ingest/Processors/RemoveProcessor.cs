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
            var kept = keep.Select(k => k.Render(document)).ToList();
            foreach (var name in document.SourceAndMetadata.Select(p => p.Key).ToList())
            {
                if (IngestDocument.MetadataFields.Contains(name)) continue;
                if (kept.Any(k => (k == name || k.StartsWith(name + ".", StringComparison.Ordinal)) && document.HasField(k))) continue;
                document.SourceAndMetadata.Remove(name);
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
}
