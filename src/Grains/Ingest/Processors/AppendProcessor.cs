namespace TrainedModelsOrleans.Grains.Ingest.Processors;

/// <summary>ES's AppendProcessor: <c>value</c> (templated; a list adds each element) appended to <c>field</c>; <c>allow_duplicates</c>.</summary>
public sealed class AppendProcessor(string? tag, string? description, FieldTemplate field, ValueSource value, bool allowDuplicates)
    : IngestProcessor("append", tag, description)
{
    public static AppendProcessor Create(ProcessorConfig config, string? description)
    {
        var field = config.ReadTemplate("field");
        var value = ValueSource.Wrap(config.ReadObject("value"), config.Type, config.Tag, "value");
        var allowDuplicates = config.ReadBoolean("allow_duplicates", true);
        config.ReadOptionalString("media_type");
        return new AppendProcessor(config.Tag, description, field, value, allowDuplicates);
    }

    protected override bool Execute(IngestDocument document)
    {
        document.AppendFieldValue(field.Render(document), value.Resolve(document), allowDuplicates);
        return true;
    }
}
