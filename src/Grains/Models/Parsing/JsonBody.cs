using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Grains.Models.Parsing;

internal enum JsonKind { Object, Array, String, Number, True, False, Null }

/// <summary>
/// A JSON value that remembers where it sits in the request body, so errors can carry ES's
/// <c>[line:column]</c> prefix (Jackson's token location: 1-based line, 1-based byte column).
/// </summary>
internal sealed class JsonItem
{
    public required JsonKind Kind { get; init; }

    /// <summary>Byte offset of the token's first byte (the opening quote or bracket).</summary>
    public required int Start { get; init; }

    /// <summary>Byte offset of the closing bracket for containers; <see cref="Start"/> for scalars.</summary>
    public int End { get; set; }

    /// <summary>String value, or the raw text of a number.</summary>
    public string? Text { get; init; }

    public List<JsonMember>? Members { get; init; }
    public List<JsonItem>? Items { get; init; }

    /// <summary>The name Elasticsearch's XContentParser gives this token.</summary>
    public string TokenName => Kind switch
    {
        JsonKind.Object => "START_OBJECT",
        JsonKind.Array => "START_ARRAY",
        JsonKind.String => "VALUE_STRING",
        JsonKind.Number => "VALUE_NUMBER",
        JsonKind.True or JsonKind.False => "VALUE_BOOLEAN",
        _ => "VALUE_NULL",
    };

    public bool IsScalar => Kind is not (JsonKind.Object or JsonKind.Array);

    /// <summary>The text ES's <c>parser.text()</c> returns for a scalar (numbers and booleans as written).</summary>
    public string ScalarText => Kind switch
    {
        JsonKind.String or JsonKind.Number => Text!,
        JsonKind.True => "true",
        JsonKind.False => "false",
        _ => "null",
    };

    public JsonNode? ToNode() => Kind switch
    {
        JsonKind.Object => new JsonObject(Members!.Select(m => KeyValuePair.Create(m.Name, m.Value.ToNode()))),
        JsonKind.Array => new JsonArray(Items!.Select(i => i.ToNode()).ToArray()),
        JsonKind.String => System.Text.Json.Nodes.JsonValue.Create(Text!),
        JsonKind.Number => JsonNode.Parse(Text!),
        JsonKind.True => System.Text.Json.Nodes.JsonValue.Create(true),
        JsonKind.False => System.Text.Json.Nodes.JsonValue.Create(false),
        _ => null,
    };
}

internal sealed record JsonMember(string Name, int NameStart, JsonItem Value);

/// <summary>A parsed request body: the bytes, the tree, and line/column lookup.</summary>
internal sealed class JsonBody
{
    private readonly byte[] utf8;
    private int[]? lineStarts;

    private JsonBody(byte[] utf8) => this.utf8 = utf8;

    public JsonItem Root { get; private set; } = null!;

    /// <summary>
    /// Parses a request body. No body → <c>parse_exception</c> "request body is required" (RestRequest);
    /// malformed JSON or a duplicate key → <c>x_content_parse_exception</c> (ES parses with strict duplicate detection).
    /// Comments are allowed, as ES's JSON parser allows them.
    /// </summary>
    public static JsonBody Parse(ReadOnlySpan<byte> body) => ParseOwned(body.ToArray());

    /// <summary>As <see cref="Parse(ReadOnlySpan{byte})"/>, over an array the caller hands over (no copy; it must not change it).</summary>
    public static JsonBody ParseOwned(byte[] bytes)
    {
        if (IsBlank(bytes)) throw EsErrors.Parse("request body is required");
        JsonInputRules.Check(bytes);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions
        {
            CommentHandling = JsonCommentHandling.Skip, MaxDepth = JsonInputRules.Limits.MaxNestingDepth + 1,
        });
        var parsed = new JsonBody(bytes);
        try
        {
            if (!reader.Read()) throw EsErrors.Parse("request body is required");
            parsed.Root = ReadValue(ref reader, parsed);
            // The reader refuses content after the root value; this drains trailing comments.
            while (reader.Read()) { }
            return parsed;
        }
        catch (JsonException e)
        {
            var line = (e.LineNumber ?? 0) + 1;
            var column = (e.BytePositionInLine ?? 0) + 1;
            var message = e.Message;
            var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
            if (cut > 0) message = message[..cut];
            throw EsErrors.XContentParse($"[{line}:{column}] Failed to parse the request body as JSON: {message.TrimEnd()}");
        }
    }

    public static JsonBody Parse(string body) => Parse(Encoding.UTF8.GetBytes(body));

    private static bool IsBlank(byte[] bytes)
    {
        foreach (var b in bytes)
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')) return false;
        return true;
    }

    private static JsonItem ReadValue(ref Utf8JsonReader reader, JsonBody body)
    {
        var start = (int)reader.TokenStartIndex;
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
            {
                var members = new List<JsonMember>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                var obj = new JsonItem { Kind = JsonKind.Object, Start = start, Members = members };
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    var nameStart = (int)reader.TokenStartIndex;
                    var name = reader.GetString()!;
                    if (!seen.Add(name))
                        throw EsErrors.XContentParse($"{body.Location(nameStart)} Duplicate field '{name}'");
                    reader.Read();
                    members.Add(new JsonMember(name, nameStart, ReadValue(ref reader, body)));
                }
                obj.End = (int)reader.TokenStartIndex;
                return obj;
            }
            case JsonTokenType.StartArray:
            {
                var items = new List<JsonItem>();
                var arr = new JsonItem { Kind = JsonKind.Array, Start = start, Items = items };
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    items.Add(ReadValue(ref reader, body));
                arr.End = (int)reader.TokenStartIndex;
                return arr;
            }
            case JsonTokenType.String:
                return new JsonItem { Kind = JsonKind.String, Start = start, End = start, Text = reader.GetString() };
            case JsonTokenType.Number:
                return new JsonItem { Kind = JsonKind.Number, Start = start, End = start, Text = Encoding.UTF8.GetString(reader.ValueSpan) };
            case JsonTokenType.True:
                return new JsonItem { Kind = JsonKind.True, Start = start, End = start };
            case JsonTokenType.False:
                return new JsonItem { Kind = JsonKind.False, Start = start, End = start };
            default:
                return new JsonItem { Kind = JsonKind.Null, Start = start, End = start };
        }
    }

    /// <summary>ES's location prefix for a byte offset: <c>[line:column]</c>.</summary>
    public string Location(int offset)
    {
        lineStarts ??= ComputeLineStarts(utf8);
        var line = Array.BinarySearch(lineStarts, offset);
        if (line < 0) line = ~line - 1;
        var column = offset - lineStarts[line] + 1;
        return string.Create(CultureInfo.InvariantCulture, $"[{line + 1}:{column}]");
    }

    private static int[] ComputeLineStarts(byte[] bytes)
    {
        var starts = new List<int> { 0 };
        for (var i = 0; i < bytes.Length; i++)
            if (bytes[i] == (byte)'\n') starts.Add(i + 1);
        return starts.ToArray();
    }
}
