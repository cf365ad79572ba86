using Microsoft.AspNetCore.Http;
using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Api.Http;

/// <summary>Reads request bodies as raw bytes whatever media type the client declared (ES clients send vnd types).</summary>
public static class RequestBody
{
    /// <summary>The raw body (validated later by the rules that own it); a missing body is ES's parse error.</summary>
    public static async Task<byte[]> ReadBytesAsync(HttpRequest request, bool required)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
        if (required && buffer.Length == 0)
            throw new ElasticsearchException(400, "parse_exception", "request body is required");
        // Bad UTF-8, an unpaired surrogate, too deep or too long: refused before any parser makes strings of it.
        Grains.Models.Parsing.JsonInputRules.Check(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        return buffer.ToArray();
    }
}
