using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Grains.Inference.Trees;

/// <summary>
/// The Java conversions ES applies to document values and results: <c>Double.toString</c>,
/// <c>Object.toString</c> of parsed JSON (the key the encoders look up), <c>InferenceHelpers.toDouble</c>,
/// and Jackson's rendering of doubles (<c>1.0</c>, not <c>1</c>).
/// </summary>
internal static class JavaValues
{
    /// <summary>Java's <c>Double.toString</c> (shortest digits, JDK 19+): <c>1.0</c>, <c>0.001</c>, <c>1.0E7</c>, <c>1.0E-4</c>.</summary>
    public static string DoubleToString(double d)
    {
        if (double.IsNaN(d)) return "NaN";
        if (double.IsPositiveInfinity(d)) return "Infinity";
        if (double.IsNegativeInfinity(d)) return "-Infinity";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";

        // .NET's "R" gives the shortest round-trip digits; only the layout differs from Java.
        var r = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        var e = r.IndexOfAny(['E', 'e']);
        var mantissa = e < 0 ? r : r[..e];
        var exponent = e < 0 ? 0 : int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var point = mantissa.IndexOf('.');
        var intLength = point < 0 ? mantissa.Length : point;
        var digits = point < 0 ? mantissa : mantissa.Remove(point, 1);
        var leading = 0;
        while (leading < digits.Length - 1 && digits[leading] == '0') leading++;
        digits = digits[leading..].TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        var sci = intLength - leading - 1 + exponent; // value = d1.d2d3… × 10^sci

        var text = new StringBuilder(digits.Length + 8);
        if (d < 0) text.Append('-');
        if (sci is >= -3 and < 7)
        {
            if (sci >= 0)
            {
                var whole = digits.Length > sci + 1 ? digits[..(sci + 1)] : digits.PadRight(sci + 1, '0');
                var fraction = digits.Length > sci + 1 ? digits[(sci + 1)..] : "0";
                text.Append(whole).Append('.').Append(fraction);
            }
            else
            {
                text.Append("0.").Append('0', -sci - 1).Append(digits);
            }
        }
        else
        {
            text.Append(digits[0]).Append('.').Append(digits.Length > 1 ? digits[1..] : "0").Append('E').Append(sci.ToString(CultureInfo.InvariantCulture));
        }
        return text.ToString();
    }

    /// <summary>
    /// A double for a result. ES (Jackson) writes <c>1.0</c> where System.Text.Json writes <c>1</c>, so
    /// whole numbers are given Java's text; other values print the same digits either way (only
    /// exponent notation differs, e.g. <c>1E-05</c> for <c>1.0E-5</c>). NaN and infinities are
    /// quoted, as Jackson quotes them.
    /// </summary>
    public static JsonNode Number(double d)
    {
        if (!double.IsFinite(d)) return JsonValue.Create(DoubleToString(d));
        if (d != Math.Floor(d) || Math.Abs(d) >= 1e16) return JsonValue.Create(d);
        if (d == 0 && !double.IsNegative(d)) return JsonValue.Create(WholeZero)!;
        if (d == 1) return JsonValue.Create(WholeOne)!;
        return JsonValue.Create(JsonElement.Parse(DoubleToString(d)))!;
    }

    private static readonly JsonElement WholeZero = JsonElement.Parse("0.0");
    private static readonly JsonElement WholeOne = JsonElement.Parse("1.0");

    public static JsonNode Number(long l) => JsonValue.Create(l);

    /// <summary>
    /// InferenceHelpers.toDouble: numbers as they are, strings through <c>Double.valueOf</c>
    /// (empty or malformed → missing); anything else is missing. Missing is NaN, as in extractFeatures.
    /// </summary>
    public static double ToDouble(JsonNode? node)
    {
        if (node is not JsonValue value) return double.NaN;
        switch (value.GetValueKind())
        {
            case JsonValueKind.Number:
                return NumberOf(value);
            case JsonValueKind.String:
                return ParseDouble(value.GetValue<string>());
            default:
                return double.NaN;
        }
    }

    /// <summary>Java's <c>Double.valueOf(String)</c>, with null (here NaN) where it would throw.</summary>
    public static double ParseDouble(string text)
    {
        var s = text.Trim(JavaWhitespace);
        if (s.Length == 0) return double.NaN;
        // Java accepts a float/double type suffix after the number.
        if (s.Length > 1 && s[^1] is 'd' or 'D' or 'f' or 'F' && (char.IsAsciiDigit(s[^2]) || s[^2] == '.'))
            s = s[..^1];
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : double.NaN;
    }

    private static readonly char[] JavaWhitespace = Enumerable.Range(0, 33).Select(i => (char)i).ToArray();

    /// <summary>
    /// <c>value.toString()</c> of what ES's JSON parser makes of a document value: strings as they
    /// are, integers as written, decimals through <c>Double.toString</c>, lists <c>[a, b]</c>, maps <c>{k=v}</c>.
    /// </summary>
    public static string ToJavaString(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return "null";
            case JsonArray array:
                return "[" + string.Join(", ", array.Select(ToJavaString)) + "]";
            case JsonObject obj:
                return "{" + string.Join(", ", obj.Select(m => m.Key + "=" + ToJavaString(m.Value))) + "}";
            case JsonValue value:
                switch (value.GetValueKind())
                {
                    case JsonValueKind.String: return value.GetValue<string>();
                    case JsonValueKind.True: return "true";
                    case JsonValueKind.False: return "false";
                    case JsonValueKind.Number: return NumberText(value);
                    default: return "null";
                }
            default:
                return node.ToJsonString();
        }
    }

    private static string NumberText(JsonValue value)
    {
        if (value.TryGetValue<JsonElement>(out var element))
        {
            var raw = element.GetRawText();
            if (raw.AsSpan().IndexOfAny('.', 'e', 'E') >= 0) return DoubleToString(element.GetDouble());
            // Jackson reads integers as int, long or BigInteger; all print their canonical digits.
            return raw == "-0" ? "0" : raw;
        }
        if (value.TryGetValue<int>(out var i)) return i.ToString(CultureInfo.InvariantCulture);
        if (value.TryGetValue<long>(out var l)) return l.ToString(CultureInfo.InvariantCulture);
        if (value.TryGetValue<short>(out var s)) return s.ToString(CultureInfo.InvariantCulture);
        if (value.TryGetValue<byte>(out var b)) return b.ToString(CultureInfo.InvariantCulture);
        if (value.TryGetValue<float>(out var f)) return DoubleToString(f);
        return DoubleToString(NumberOf(value));
    }

    private static double NumberOf(JsonValue value)
    {
        if (value.TryGetValue<double>(out var d)) return d;
        if (value.TryGetValue<JsonElement>(out var element)) return element.TryGetDouble(out d) ? d : double.NaN;
        if (value.TryGetValue<int>(out var i)) return i;
        if (value.TryGetValue<long>(out var l)) return l;
        if (value.TryGetValue<float>(out var f)) return f;
        if (value.TryGetValue<decimal>(out var m)) return (double)m;
        if (value.TryGetValue<short>(out var s)) return s;
        if (value.TryGetValue<byte>(out var b)) return b;
        if (value.TryGetValue<uint>(out var ui)) return ui;
        if (value.TryGetValue<ulong>(out var ul)) return ul;
        return double.NaN;
    }
}
