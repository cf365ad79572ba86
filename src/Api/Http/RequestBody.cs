using Microsoft.AspNetCore.Http;
using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Api.Http;

/// <summary>Reads request bodies as raw bytes whatever media type the client declared (ES clients send vnd types).</summary>
public static class RequestBody
{
    /// <summary>Declared lengths up to this are read straight into one array of that size (a lying client costs at most this).</summary>
    private const int PreallocatedByDefault = 1 << 20;

    /// <summary>
    /// The raw body (validated later by the rules that own it); a missing body is ES's parse error. A declared
    /// Content-Length up to <paramref name="preallocateUpTo"/> bytes is read once into an array of that size;
    /// callers that bound how many such reads run at once (definition uploads) may allow more.
    /// </summary>
    public static async Task<byte[]> ReadBytesAsync(HttpRequest request, bool required, long preallocateUpTo = PreallocatedByDefault)
    {
        var aborted = request.HttpContext.RequestAborted;
        byte[] body;
        if (request.ContentLength is { } declared && declared > 0 && declared <= Math.Min(preallocateUpTo, Array.MaxLength))
            body = await ReadDeclaredAsync(request.Body, (int)declared, aborted);
        else
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, aborted);
            body = buffer.ToArray();
        }
        if (required && body.Length == 0)
            throw new ElasticsearchException(400, "parse_exception", "request body is required");
        // Bad UTF-8, an unpaired surrogate, too deep or too long: refused before any parser makes strings of it.
        Grains.Models.Parsing.JsonInputRules.Check(body);
        return body;
    }

    private static async Task<byte[]> ReadDeclaredAsync(Stream stream, int declared, CancellationToken aborted)
    {
        var body = GC.AllocateUninitializedArray<byte>(declared);
        var read = 0;
        while (read < body.Length && await stream.ReadAsync(body.AsMemory(read), aborted) is > 0 and var n) read += n;
        if (read < body.Length) return body[..read];
        // A body sent compressed inflates past its declared length: keep reading what follows.
        var next = new byte[1];
        if (await stream.ReadAsync(next, aborted) == 0) return body;
        using var longer = new MemoryStream();
        longer.Write(body);
        longer.Write(next);
        await stream.CopyToAsync(longer, aborted);
        return longer.ToArray();
    }
}
