using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Grains.Ingest.Processors;

/// <summary>ES's FailProcessor: fails the document with the (templated) <c>message</c>, a fail_processor_exception.</summary>
public sealed class FailProcessor(string? tag, string? description, FieldTemplate message) : IngestProcessor("fail", tag, description)
{
    public static FailProcessor Create(ProcessorConfig config, string? description) =>
        new(config.Tag, description, config.ReadTemplate("message"));

    protected override bool Execute(IngestDocument document) =>
        throw new ElasticsearchException(500, "fail_processor_exception", message.Render(document));
}

/// <summary>ES's DropProcessor: the document goes no further and is not indexed.</summary>
public sealed class DropProcessor(string? tag, string? description) : IngestProcessor("drop", tag, description)
{
    protected override bool Execute(IngestDocument document) => false;
}
