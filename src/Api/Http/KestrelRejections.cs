using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace TrainedModelsOrleans.Api.Http;

/// <summary>
/// Kestrel refuses a request it cannot parse (a raw control character or space in the target, an invalid header line, a
/// line or header block over its ceilings, headers too slow) itself, before any middleware, with a bare head and
/// Content-Length: 0. This turns exactly such a head into the same answer with Elasticsearch's error body; anything else
/// (a response with a body, a 2xx, a partial head) is not its business and comes back null, to go out as it was.
/// </summary>
public sealed class KestrelRejections
{
    private readonly byte[] _badRequest;
    private readonly byte[] _headersTimedOut;
    private readonly byte[] _lineTooLong;
    private readonly byte[] _headersTooLarge;
    private readonly byte[] _versionNotSupported;

    public KestrelRejections(KestrelServerLimits limits)
    {
        _badRequest = Body(400, "illegal_argument_exception", BadRequestReason);
        _headersTimedOut = Body(408, "timeout_exception", string.Create(CultureInfo.InvariantCulture,
            $"The request headers did not arrive within [{limits.RequestHeadersTimeout.TotalSeconds}s] (limit from [{InputOptions.Section}:RequestHeadersTimeout])"));
        _lineTooLong = Body(414, "too_long_http_line_exception", string.Create(CultureInfo.InvariantCulture,
            $"An HTTP line is larger than {limits.MaxRequestLineSize} bytes (Kestrel's MaxRequestLineSize: twice [{InputOptions.Section}:MaxInitialLineLength], at least 64 KB)."));
        _headersTooLarge = Body(431, "too_long_http_header_exception", string.Create(CultureInfo.InvariantCulture,
            $"HTTP header is larger than {limits.MaxRequestHeadersTotalSize} bytes or has more than {limits.MaxRequestHeaderCount} fields (Kestrel's MaxRequestHeadersTotalSize: twice [{InputOptions.Section}:MaxHeaderSize], at least 64 KB; and its MaxRequestHeaderCount)."));
        _versionNotSupported = Body(505, "illegal_argument_exception", "The request's HTTP version is not supported (HTTP/1.0 and HTTP/1.1 are)");
    }

    /// <summary>
    /// <paramref name="response"/> as Elasticsearch would answer it when it is one whole head of Kestrel's refusal
    /// ("HTTP/1.1 4xx …", Content-Length: 0, no Content-Type, nothing after the blank line); otherwise null. The status
    /// line and every other header are kept; Content-Length becomes the body's, Content-Type and X-Elastic-Product are added.
    /// </summary>
    public byte[]? Rewrite(ReadOnlySpan<byte> response)
    {
        const int StatusLineStart = 13; // "HTTP/1.1 400 "
        if (response.Length < StatusLineStart || !response.StartsWith("HTTP/1."u8) || response[8] != (byte)' ' || response[12] != (byte)' ')
            return null;
        var end = response.IndexOf("\r\n\r\n"u8);
        if (end < 0 || end + 4 != response.Length) return null;
        if (!Utf8Parser.TryParse(response.Slice(9, 3), out int status, out var digits) || digits != 3) return null;
        var body = BodyFor(status);
        if (body is null) return null;

        var statusLineEnd = response.IndexOf("\r\n"u8);
        var output = new ArrayBufferWriter<byte>(response.Length + body.Length + 96);
        output.Write(response[..(statusLineEnd + 2)]);
        var fields = response[(statusLineEnd + 2)..(end + 2)];
        var sawEmptyLength = false;
        while (!fields.IsEmpty)
        {
            var lineEnd = fields.IndexOf("\r\n"u8);
            var line = fields[..lineEnd];
            fields = fields[(lineEnd + 2)..];
            var colon = line.IndexOf((byte)':');
            if (colon <= 0) return null;
            var name = line[..colon];
            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                if (sawEmptyLength || !line[(colon + 1)..].Trim((byte)' ').SequenceEqual("0"u8)) return null;
                sawEmptyLength = true;
                output.Write(Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"Content-Length: {body.Length}\r\n")));
                continue;
            }
            if (Ascii.EqualsIgnoreCase(name, "Content-Type"u8) || Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8)
                || Ascii.EqualsIgnoreCase(name, ElasticsearchMiddleware.ProductHeader))
                return null;
            output.Write(line);
            output.Write("\r\n"u8);
        }
        if (!sawEmptyLength) return null;
        output.Write("Content-Type: application/json\r\n"u8);
        output.Write(Encoding.ASCII.GetBytes($"{ElasticsearchMiddleware.ProductHeader}: {ElasticsearchMiddleware.ProductName}\r\n\r\n"));
        output.Write(body);
        return output.WrittenSpan.ToArray();
    }

    private byte[]? BodyFor(int status) => status switch
    {
        414 => _lineTooLong,
        431 => _headersTooLarge,
        408 => _headersTimedOut,
        505 => _versionNotSupported,
        400 => _badRequest,
        // Kestrel's rarer refusals (405 for a CONNECT, 411 for an HTTP/1.0 body without a length): the same words.
        > 400 and < 500 => Body(status, "illegal_argument_exception", BadRequestReason),
        _ => null,
    };

    private const string BadRequestReason =
        "The request line or headers are not valid HTTP/1.1 (for example a raw, unencoded control character or space in the target, or an invalid header line)";

    private static byte[] Body(int status, string type, string reason) =>
        JsonSerializer.SerializeToUtf8Bytes(ElasticsearchErrors.Body(status, type, reason));
}
