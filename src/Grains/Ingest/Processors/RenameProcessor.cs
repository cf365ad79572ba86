namespace TrainedModelsOrleans.Grains.Ingest.Processors;

/// <summary>ES's RenameProcessor: <c>field</c> moves to <c>target_field</c> (both templated); <c>ignore_missing</c>, <c>override</c>.</summary>
public sealed class RenameProcessor(string? tag, string? description, FieldTemplate field, FieldTemplate targetField, bool ignoreMissing,
    bool overrideEnabled) : IngestProcessor("rename", tag, description)
{
    public static RenameProcessor Create(ProcessorConfig config, string? description)
    {
        var field = config.ReadTemplate("field");
        var target = config.ReadTemplate("target_field");
        var ignoreMissing = config.ReadBoolean("ignore_missing", false);
        var overrideEnabled = config.ReadBoolean("override", false);
        return new RenameProcessor(config.Tag, description, field, target, ignoreMissing, overrideEnabled);
    }

    protected override bool Execute(IngestDocument document)
    {
        var path = field.Render(document);
        if (!document.HasField(path))
        {
            if (ignoreMissing) return true;
            throw IngestFailure.IllegalArgument($"field [{path}] doesn't exist");
        }
        var target = targetField.Render(document);
        if (document.HasField(target, failOutOfRange: true) && !overrideEnabled)
            throw IngestFailure.IllegalArgument($"field [{target}] already exists");
        var value = document.GetFieldValue(path);
        document.RemoveField(path);
        try
        {
            document.SetFieldValue(target, value);
        }
        catch
        {
            // ES puts the value back where it was before failing.
            document.SetFieldValue(path, value);
            throw;
        }
        return true;
    }
}
