using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Api.Http;

/// <summary>Reads request bodies as JSON whatever media type the client declared (ES clients send vnd types).</summary>
public static class RequestBody
{
    /// <summary>The raw body (validated later by the rules that own it); a missing body is ES's parse error.</summary>
    public static async Task<byte[]> ReadBytesAsync(HttpRequest request, bool required)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
        if (required && buffer.Length == 0)
            throw new ElasticsearchException(400, "parse_exception", "request body is required");
        return buffer.ToArray();
    }

    public static async Task<JsonObject?> ReadObjectAsync(HttpRequest request, bool required)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
        if (buffer.Length == 0 || buffer.ToArray().All(b => b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t'))
        {
            if (required) throw new ElasticsearchException(400, "parse_exception", "request body is required");
            return null;
        }
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(buffer.ToArray(), documentOptions: new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException error)
        {
            throw new ElasticsearchException(400, "x_content_parse_exception",
                $"Failed to parse request body: {error.Message}");
        }
        return node as JsonObject
               ?? throw new ElasticsearchException(400, "x_content_parse_exception",
                   "request body must be a JSON object");
    }
}
