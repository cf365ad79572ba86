using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models;

namespace TrainedModelsOrleans.Grains.Ingest;

/// <summary>The errors processors raise, as the Java exceptions ES throws render: type and reason (status 400 as ES maps them).</summary>
public static class IngestFailure
{
    public static ElasticsearchException IllegalArgument(string reason) => new(400, "illegal_argument_exception", reason);

    /// <summary>Painless' runtime error: a script_exception caused by the Java exception the script hit.</summary>
    public static ElasticsearchException ScriptRuntime(string causeType, string causeReason) =>
        new ElasticsearchExceptionWithCause(400, "script_exception", "runtime error", new ElasticsearchException(400, causeType, causeReason));

    /// <summary>The innermost cause's reason (Throwable.getRootCause().getMessage(), what on_failure_message holds).</summary>
    public static string RootReason(ElasticsearchException e) => e is ElasticsearchExceptionWithCause wrapped ? wrapped.RootReason : e.Reason;
}

/// <summary>
/// ES's IngestProcessorException: the failure of one processor, with the type and tag of the processor that failed
/// (the headers CompoundProcessor reads into <c>_ingest.on_failure_processor_type/_tag</c>). Rendered as its cause.
/// </summary>
public sealed class ProcessorFailure(ElasticsearchException cause, string processorType, string? processorTag) : Exception(cause.Reason, cause)
{
    public ElasticsearchException Cause { get; } = cause;
    public string ProcessorType { get; } = processorType;
    public string? ProcessorTag { get; } = processorTag;
}
