using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models;

namespace TrainedModelsOrleans.Api.Http;

/// <summary>Writes errors in Elasticsearch's body: {"error":{"root_cause":[…],"type","reason"},"status"}.</summary>
public static class ElasticsearchErrors
{
    public static JsonObject Body(int status, string type, string reason) => new()
    {
        ["error"] = new JsonObject
        {
            ["root_cause"] = new JsonArray(new JsonObject { ["type"] = type, ["reason"] = reason }),
            ["type"] = type,
            ["reason"] = reason,
        },
        ["status"] = status,
    };

    public static async Task WriteAsync(HttpContext context, ElasticsearchException error)
    {
        if (error.Headers is not null)
            foreach (var (name, value) in error.Headers) context.Response.Headers.Append(name, value);
        var body = Body(error.Status, error.Type, error.Reason);
        if (error is ElasticsearchExceptionWithCause wrapped) body["error"]!["caused_by"] = CausedBy(wrapped.CausedBy);
        context.Response.StatusCode = error.Status;
        await ElasticsearchJson.WriteAsync(context, body);
    }

    /// <summary>ES nests the cause of a wrapped error: "caused_by":{"type","reason","caused_by"?}.</summary>
    private static JsonObject CausedBy(ElasticsearchException cause)
    {
        var node = new JsonObject { ["type"] = cause.Type, ["reason"] = cause.Reason };
        if (cause is ElasticsearchExceptionWithCause inner) node["caused_by"] = CausedBy(inner.CausedBy);
        return node;
    }

    public static async Task WriteAsync(HttpContext context, int status, string type, string reason)
    {
        context.Response.StatusCode = status;
        await ElasticsearchJson.WriteAsync(context, Body(status, type, reason));
    }
}

/// <summary>JSON responses with the media type the client asked for (plain or compatible-with=8).</summary>
public static class ElasticsearchJson
{
    private const string CompatibleMediaType = "application/vnd.elasticsearch+json;compatible-with=8";
    private const string CompatibleMediaType7 = "application/vnd.elasticsearch+json;compatible-with=7";

    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public static async Task WriteAsync(HttpContext context, JsonNode body)
    {
        context.Response.ContentType = ContentTypeFor(context.Request);
        if (HttpMethods.IsHead(context.Request.Method)) return;
        var pretty = context.Request.Query.ContainsKey("pretty") && context.Request.Query["pretty"] != "false";
        await using var writer = new Utf8JsonWriter(context.Response.Body, new JsonWriterOptions { Indented = pretty });
        body.WriteTo(writer);
        await writer.FlushAsync(context.RequestAborted);
    }

    public static IResult Ok(JsonNode body) => new JsonNodeResult(body, StatusCodes.Status200OK);

    public static IResult Acknowledged() => Ok(new JsonObject { ["acknowledged"] = true });

    /// <summary>
    /// The media type of an answer: the compatible one, with the version asked for, when the client asked for one
    /// (Accept first, then Content-Type; the middleware has refused any other version).
    /// </summary>
    public static string ContentTypeFor(HttpRequest request)
    {
        var accept = request.Headers.Accept;
        var contentType = request.ContentType;
        if (accept.Count == 0 && contentType is null or "application/json") return "application/json";
        var version = MediaTypeHeaders.TryVersion(accept.ToString(), out var fromAccept) && fromAccept is { } a ? a
            : MediaTypeHeaders.TryVersion(contentType, out var fromContent) && fromContent is { } c ? c
            : 0;
        return version switch
        {
            0 => "application/json",
            7 => CompatibleMediaType7,
            _ => CompatibleMediaType,
        };
    }

    private sealed class JsonNodeResult(JsonNode body, int status) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            return WriteAsync(httpContext, body);
        }
    }
}
