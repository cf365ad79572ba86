using System.Buffers;
using System.Globalization;
using System.Text;
using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Grains.Models.Parsing;

/// <summary>
/// What a request's JSON must be before any parser builds strings from it: valid UTF-8, no unpaired UTF-16 surrogate
/// escape (.NET cannot make a string of one), no deeper nesting and no longer strings than <see cref="JsonInputLimits"/>
/// allow. One pass over the bytes; a refusal is Elasticsearch's 400 <c>x_content_parse_exception</c> with the
/// <c>[line:column]</c> of the fault, as its JSON parser reports these.
/// </summary>
public static class JsonInputRules
{
    /// <summary>The limits in force, set once from the node's settings as it starts.</summary>
    public static JsonInputLimits Limits { get; set; } = JsonInputLimits.Default;

    // Inside a string only these bytes need a look: the end, an escape, or a multi-byte UTF-8 sequence.
    private static readonly SearchValues<byte> StringSpecial = SearchValues.Create(
        [(byte)'"', (byte)'\\', .. Enumerable.Range(0x80, 0x80).Select(b => (byte)b)]);

    private static readonly SearchValues<byte> Structural = SearchValues.Create(
        [(byte)'"', (byte)'{', (byte)'[', (byte)'}', (byte)']', (byte)'/', .. Enumerable.Range(0x80, 0x80).Select(b => (byte)b)]);

    public static void Check(ReadOnlySpan<byte> utf8) => Check(utf8, Limits);

    public static void Check(ReadOnlySpan<byte> utf8, JsonInputLimits limits)
    {
        var depth = 0;
        var i = 0;
        while (i < utf8.Length)
        {
            var next = utf8[i..].IndexOfAny(Structural);
            if (next < 0) return;
            i += next;
            switch (utf8[i])
            {
                case (byte)'"':
                    i = SkipString(utf8, i, limits);
                    break;
                case (byte)'{' or (byte)'[':
                    if (++depth > limits.MaxNestingDepth)
                        throw Refused(utf8, i, string.Create(CultureInfo.InvariantCulture,
                            $"Document nesting depth ({depth}) exceeds the maximum allowed ({limits.MaxNestingDepth}, from [Input:MaxNestingDepth])"));
                    i++;
                    break;
                case (byte)'}' or (byte)']':
                    depth--;
                    i++;
                    break;
                case (byte)'/':
                    i = SkipComment(utf8, i);
                    break;
                default:
                    i = SkipUtf8(utf8, i);
                    break;
            }
        }
    }

    /// <summary>From the opening quote to just past the closing one (or the end of a truncated body).</summary>
    private static int SkipString(ReadOnlySpan<byte> utf8, int open, JsonInputLimits limits)
    {
        var i = open + 1;
        long chars = 0;
        while (true)
        {
            var next = utf8[i..].IndexOfAny(StringSpecial);
            if (next < 0) return utf8.Length;
            chars += next;
            i += next;
            if (utf8[i] == (byte)'"')
            {
                CheckLength(utf8, open, chars, limits);
                return i + 1;
            }
            if (utf8[i] == (byte)'\\')
            {
                if (i + 1 < utf8.Length && utf8[i + 1] == (byte)'u' && TryHex(utf8, i + 2, out var unit))
                {
                    if (char.IsHighSurrogate(unit))
                    {
                        if (!(i + 7 < utf8.Length && utf8[i + 6] == (byte)'\\' && utf8[i + 7] == (byte)'u'
                              && TryHex(utf8, i + 8, out var low) && char.IsLowSurrogate(low)))
                            throw Refused(utf8, i, $"Invalid UTF-16 surrogate pair: \\u{(int)unit:x4} is not followed by a low surrogate escape");
                        i += 12;
                        chars += 2;
                        continue;
                    }
                    if (char.IsLowSurrogate(unit))
                        throw Refused(utf8, i, $"Invalid UTF-16 surrogate pair: \\u{(int)unit:x4} follows no high surrogate escape");
                    i += 6;
                }
                else i += 2;
                chars++;
                continue;
            }
            var start = i;
            i = SkipUtf8(utf8, i);
            chars += i - start == 4 ? 2 : 1;
            if (chars > limits.MaxStringLength) CheckLength(utf8, open, chars, limits);
        }
    }

    private static void CheckLength(ReadOnlySpan<byte> utf8, int open, long chars, JsonInputLimits limits)
    {
        if (chars > limits.MaxStringLength)
            throw Refused(utf8, open, string.Create(CultureInfo.InvariantCulture,
                $"String value length ({chars}) exceeds the maximum allowed ({limits.MaxStringLength}, from [Input:MaxStringLength])"));
    }

    /// <summary>One well-formed UTF-8 sequence starting at <paramref name="at"/>; anything else is Jackson's "Invalid UTF-8" error.</summary>
    private static int SkipUtf8(ReadOnlySpan<byte> utf8, int at)
    {
        if (Rune.DecodeFromUtf8(utf8[at..], out _, out var length) == OperationStatus.Done) return at + length;
        var lead = utf8[at];
        // A lead byte that starts a sequence but is followed by the wrong bytes: Jackson names the middle byte.
        if (lead >= 0xC2 && lead <= 0xF4 && at + 1 < utf8.Length)
            throw Refused(utf8, at, $"Invalid UTF-8 middle byte 0x{utf8[at + 1]:x2}");
        throw Refused(utf8, at, $"Invalid UTF-8 start byte 0x{lead:x2}");
    }

    /// <summary>ES's parser allows comments; a quote or bracket inside one is not structure.</summary>
    private static int SkipComment(ReadOnlySpan<byte> utf8, int slash)
    {
        if (slash + 1 >= utf8.Length) return utf8.Length;
        if (utf8[slash + 1] == (byte)'/')
        {
            var end = utf8[slash..].IndexOf((byte)'\n');
            return end < 0 ? utf8.Length : slash + end + 1;
        }
        if (utf8[slash + 1] == (byte)'*')
        {
            var end = utf8[(slash + 2)..].IndexOf("*/"u8);
            return end < 0 ? utf8.Length : slash + 2 + end + 2;
        }
        return slash + 1;
    }

    private static bool TryHex(ReadOnlySpan<byte> utf8, int at, out char unit)
    {
        unit = '\0';
        if (at + 4 > utf8.Length) return false;
        var value = 0;
        foreach (var b in utf8.Slice(at, 4))
        {
            var digit = HexDigit(b);
            if (digit < 0) return false;
            value = value * 16 + digit;
        }
        unit = (char)value;
        return true;
    }

    private static int HexDigit(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    private static ElasticsearchException Refused(ReadOnlySpan<byte> utf8, int offset, string reason)
    {
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < offset; i++)
            if (utf8[i] == (byte)'\n') (line, lineStart) = (line + 1, i + 1);
        return EsErrors.XContentParse(string.Create(CultureInfo.InvariantCulture, $"[{line}:{offset - lineStart + 1}] {reason}"));
    }
}
