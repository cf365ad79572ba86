using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Grains.Ingest.Processors;

/// <summary>ES's SetProcessor: <c>field</c> gets <c>value</c> (templated) or a copy of <c>copy_from</c>; <c>override</c>, <c>ignore_empty_value</c>.</summary>
public sealed class SetProcessor(string? tag, string? description, FieldTemplate field, ValueSource? value, string? copyFrom,
    bool overrideEnabled, bool ignoreEmptyValue) : IngestProcessor("set", tag, description)
{
    public static SetProcessor Create(ProcessorConfig config, string? description)
    {
        var field = config.ReadTemplate("field");
        var copyFrom = config.ReadOptionalString("copy_from");
        ValueSource? value = null;
        if (copyFrom is null) value = ValueSource.Wrap(config.ReadObject("value"), config.Type, config.Tag, "value");
        else if (config.Remove("value") is not null)
            throw config.Error("copy_from", "cannot set both `copy_from` and `value` in the same processor");
        config.ReadOptionalString("media_type");
        var overrideEnabled = config.ReadBoolean("override", true);
        var ignoreEmpty = config.ReadBoolean("ignore_empty_value", false);
        return new SetProcessor(config.Tag, description, field, value, copyFrom, overrideEnabled, ignoreEmpty);
    }

    protected override bool Execute(IngestDocument document)
    {
        var path = field.Render(document);
        if (!overrideEnabled && document.HasField(path) && document.GetFieldValue(path) is not null) return true;
        JsonNode? newValue;
        if (copyFrom is not null)
        {
            newValue = document.GetFieldValue(copyFrom, ignoreEmptyValue)?.DeepClone();
            if (ignoreEmptyValue && (newValue is null || IngestValues.AsString(newValue) is "")) return true;
        }
        else
        {
            newValue = value!.Resolve(document);
            if (ignoreEmptyValue && value.IsTemplated && IngestValues.AsString(newValue) is null or "") return true;
        }
        document.SetFieldValue(path, newValue);
        return true;
    }
}
