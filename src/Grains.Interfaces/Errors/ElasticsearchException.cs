using Orleans;

namespace TrainedModelsOrleans.Grains.Errors;

/// <summary>
/// An error the API reports in Elasticsearch's shape:
/// {"error":{"root_cause":[{"type","reason"}],"type","reason"},"status"}.
/// Domain rules throw it; grains let it travel to the caller unchanged (Orleans serializes it with its
/// fields, so a 409 raised on one silo is still a 409 at an SDK client); the HTTP layer renders it.
/// </summary>
[GenerateSerializer, Alias("tmo.ElasticsearchException")]
public class ElasticsearchException : Exception
{
    public ElasticsearchException(int status, string type, string reason) : base(reason)
    {
        Status = status;
        Type = type;
        Reason = reason;
    }

    [Id(0)] public int Status { get; private set; }
    [Id(1)] public string Type { get; private set; }
    [Id(2)] public string Reason { get; private set; }

    /// <summary>Extra headers ES sends with some errors (e.g. none today; kept for Warning headers).</summary>
    [Id(3)] public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>ES's ExceptionsHelper.badRequestException: a status_exception with 400.</summary>
    public static ElasticsearchException BadRequest(string reason) =>
        new(400, "status_exception", reason);

    public static ElasticsearchException IllegalArgument(string reason) =>
        new(400, "illegal_argument_exception", reason);

    public static ElasticsearchException NotFound(string reason) =>
        new(404, "resource_not_found_exception", reason);

    public static ElasticsearchException Conflict(string reason) =>
        new(409, "status_exception", reason);

    public static ElasticsearchException StatusException(int status, string reason) =>
        new(status, "status_exception", reason);

    /// <summary>ES's request validation error: "Validation Failed: 1: a;2: b;".</summary>
    public static ElasticsearchException Validation(IEnumerable<string> errors)
    {
        var text = new System.Text.StringBuilder("Validation Failed: ");
        var n = 0;
        foreach (var e in errors) text.Append(++n).Append(": ").Append(e).Append(';');
        return new(400, "action_request_validation_exception", text.ToString());
    }
}
