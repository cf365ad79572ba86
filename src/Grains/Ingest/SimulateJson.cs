using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models;

namespace TrainedModelsOrleans.Grains.Ingest;

/// <summary>
/// The simulate API's JSON, as ES writes it: a document (WriteableIngestDocument: the metadata fields as
/// strings, <c>_source</c>, <c>_ingest</c>), a processor result (SimulateProcessorResult) and a failure
/// (ElasticsearchException.generateFailureXContent, the processor wrapper unwrapped to its cause).
/// </summary>
public static class SimulateJson
{
    public static JsonObject Document(IngestDocument document)
    {
        var doc = new JsonObject();
        foreach (var name in IngestDocument.MetadataFields)
            if (document.SourceAndMetadata.TryGetPropertyValue(name, out var value) && value is not null)
                doc[name] = IngestValues.JavaToString(value);
        var source = new JsonObject();
        foreach (var (key, value) in document.SourceAndMetadata)
            if (!IngestDocument.MetadataFields.Contains(key)) source[key] = value?.DeepClone();
        doc["_source"] = source;
        doc["_ingest"] = document.IngestMetadata.DeepClone();
        return doc;
    }

    /// <summary>The <c>error</c> object: root causes, type, reason and nested causes.</summary>
    public static JsonObject Error(Exception failure)
    {
        var error = Cause(failure);
        var root = RootCause(error);
        var body = new JsonObject
        {
            ["root_cause"] = new JsonArray(new JsonObject { ["type"] = root.Type, ["reason"] = root.Reason }),
        };
        foreach (var (key, value) in Describe(error)) body[key] = value?.DeepClone();
        return body;
    }

    /// <summary>The ES exception a failure stands for: a processor failure's cause; anything unexpected as ES's generic exception.</summary>
    public static ElasticsearchException Cause(Exception failure) => failure switch
    {
        ProcessorFailure wrapped => wrapped.Cause,
        ElasticsearchException e => e,
        _ => new ElasticsearchException(500, "exception", failure.Message),
    };

    // ES guesses the root cause by following ES causes; a script's cause is a plain Java exception, so the script_exception is the root.
    private static ElasticsearchException RootCause(ElasticsearchException error) =>
        error is ElasticsearchExceptionWithCause wrapped && error.Type != "script_exception" ? RootCause(wrapped.CausedBy) : error;

    private static JsonObject Describe(ElasticsearchException error)
    {
        var body = new JsonObject { ["type"] = error.Type, ["reason"] = error.Reason };
        if (error is ElasticsearchExceptionWithCause wrapped) body["caused_by"] = Describe(wrapped.CausedBy);
        return body;
    }

    public static JsonObject ProcessorResult(string type, string? tag, string? description, (string Source, bool Result)? condition,
        IngestDocument? document, Exception? failure)
    {
        var status = condition is { Result: false } ? "skipped"
            : failure is not null ? document is null ? "error" : "error_ignored"
            : document is null ? "dropped"
            : "success";
        var result = new JsonObject { ["processor_type"] = type, ["status"] = status };
        if (description is not null) result["description"] = description;
        if (tag is not null) result["tag"] = tag;
        if (condition is { } c) result["if"] = new JsonObject { ["condition"] = c.Source, ["result"] = c.Result };
        if (failure is not null && document is not null) result["ignored_error"] = new JsonObject { ["error"] = Error(failure) };
        else if (failure is not null) result["error"] = Error(failure);
        if (document is not null) result["doc"] = Document(document);
        return result;
    }
}
