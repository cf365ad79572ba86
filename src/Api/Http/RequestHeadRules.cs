using System.Globalization;
using Microsoft.AspNetCore.Http;
using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Api.Http;

/// <summary>
/// What the request line, the headers and the path's values may be, checked before routing's values reach a handler,
/// a grain key or a database row: Elasticsearch's line and header limits (its Netty decoder's
/// too_long_http_line_exception / too_long_http_header_exception, here with 414 and 431 as HTTP names them),
/// and ids of a bounded length without control characters.
/// </summary>
public static class RequestHeadRules
{
    /// <summary>The request line Kestrel read: "METHOD target HTTP/x.y".</summary>
    public static int InitialLineLength(string method, string rawTarget, string protocol) => method.Length + rawTarget.Length + protocol.Length + 2;

    public static ElasticsearchException? CheckInitialLine(int length, InputOptions options) =>
        length <= options.MaxInitialLineLength ? null
            : new ElasticsearchException(414, "too_long_http_line_exception", string.Create(CultureInfo.InvariantCulture,
                $"An HTTP line is larger than {options.MaxInitialLineLength} bytes (the request line has {length}; limit from [{InputOptions.Section}:MaxInitialLineLength])."));

    /// <summary>The bytes of the header block as sent: "name: value\r\n" for each value.</summary>
    public static long HeaderSize(IHeaderDictionary headers)
    {
        long size = 0;
        foreach (var (name, values) in headers)
            foreach (var value in values) size += name.Length + (value?.Length ?? 0) + 4;
        return size;
    }

    public static ElasticsearchException? CheckHeaders(long size, InputOptions options) =>
        size <= options.MaxHeaderSize ? null
            : new ElasticsearchException(431, "too_long_http_header_exception", string.Create(CultureInfo.InvariantCulture,
                $"HTTP header is larger than {options.MaxHeaderSize} bytes (limit from [{InputOptions.Section}:MaxHeaderSize])."));

    /// <summary>
    /// A path value (an id, an id list, a part number): at most <see cref="InputOptions.MaxIdLength"/> characters, no control
    /// characters (PostgreSQL cannot store NUL; logs and terminals must not get raw ones) and no unpaired surrogate.
    /// The reason shows a bounded, escaped prefix of the value, never all of it.
    /// </summary>
    public static ElasticsearchException? CheckPathValue(string name, string value, InputOptions options)
    {
        if (value.Length > options.MaxIdLength)
            return ElasticsearchException.IllegalArgument(string.Create(CultureInfo.InvariantCulture,
                $"[{name}] must not be longer than {options.MaxIdLength} characters (limit from [{InputOptions.Section}:MaxIdLength]); got {value.Length} characters: [{LoggedText.Of(value, 64)}]"));
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsControl(c))
                return ElasticsearchException.IllegalArgument($"[{name}] must not contain control characters: [{LoggedText.Of(value, 64)}]");
            if (char.IsSurrogate(c) && !(char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[++i])))
                return ElasticsearchException.IllegalArgument($"[{name}] must not contain an unpaired surrogate: [{LoggedText.Of(value, 64)}]");
        }
        return null;
    }
}
