namespace TrainedModelsOrleans.Grains.Ingest.Processors;

/// <summary>ES's ScriptProcessor for the Painless subset <see cref="PainlessSubset"/> runs: the script sees the document as <c>ctx</c>.</summary>
public sealed class ScriptProcessor(string? tag, string? description, PainlessSubset.Statement script) : IngestProcessor("script", tag, description)
{
    protected override bool Execute(IngestDocument document)
    {
        script.Execute(document.SourceAndMetadata);
        return true;
    }
}
