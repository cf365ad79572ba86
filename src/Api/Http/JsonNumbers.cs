using csFastFloat;

namespace TrainedModelsOrleans.Api.Http;

/// <summary>
/// JSON number tokens as float or double, through csFastFloat (a port of Lemire's fast_float: correctly rounded, about
/// 2.5× faster than the reader's own <c>Utf8Parser</c> on the short numbers a tensor body is made of). The value is bit
/// for bit what <c>float.Parse</c> / <c>double.Parse</c> with the invariant culture gives. The package also reads forms
/// JSON does not have (<c>+1</c>, <c>.5</c>, <c>1.</c>, <c>inf</c>, surrounding text); tokens from
/// <c>Utf8JsonReader</c> never have them, and these methods say false for them anyway, so the caller's general parser
/// is the one that decides anything unusual. They never throw.
/// </summary>
public static class JsonNumbers
{
    public static bool TryParseDouble(ReadOnlySpan<byte> number, out double value)
    {
        value = 0;
        return LooksLikeJsonNumber(number)
               && FastDoubleParser.TryParseDouble(number, out var consumed, out value) && consumed == number.Length;
    }

    public static bool TryParseSingle(ReadOnlySpan<byte> number, out float value)
    {
        value = 0;
        return LooksLikeJsonNumber(number)
               && FastFloatParser.TryParseFloat(number, out var consumed, out value) && consumed == number.Length;
    }

    // A JSON number starts with '-' or a digit and ends with a digit; the package reads the rest of its grammar.
    private static bool LooksLikeJsonNumber(ReadOnlySpan<byte> number) =>
        number.Length > 0 && (number[0] == (byte)'-' || char.IsAsciiDigit((char)number[0])) && char.IsAsciiDigit((char)number[^1]);
}
