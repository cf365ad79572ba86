using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Models.Parsing;
using TrainedModelsOrleans.Grains.Deployments;

namespace TrainedModelsOrleans.Grains.Ingest;

/// <summary>
/// JSON values seen as the Java objects ES's ingest maps hold: their class names (for error texts), their
/// <c>toString()</c> (for templates, convert and messages), and the numbers Painless compares.
/// </summary>
public static class IngestValues
{
    public enum NumberKind { None, Integer, Long, BigInteger, Float, Double }

    /// <summary>The Java class of a value, as ES's messages print it.</summary>
    public static string JavaType(JsonNode? value) => value switch
    {
        null => "null",
        JsonObject => "java.util.HashMap",
        JsonArray => "java.util.ArrayList",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "java.lang.String",
            JsonValueKind.True or JsonValueKind.False => "java.lang.Boolean",
            _ => JavaClass(Number(v)),
        },
        _ => "java.lang.Object",
    };

    /// <summary>The Java class Jackson reads a number of this kind into.</summary>
    public static string JavaClass(NumberKind kind) => kind switch
    {
        NumberKind.Integer => "java.lang.Integer",
        NumberKind.Long => "java.lang.Long",
        NumberKind.BigInteger => "java.math.BigInteger",
        NumberKind.Float => "java.lang.Float",
        _ => "java.lang.Double",
    };

    /// <summary>How Jackson reads a JSON number into Java (int, then long, then BigInteger; any fraction or exponent a double).</summary>
    public static NumberKind Number(JsonNode? node)
    {
        if (node is not JsonValue value || value.GetValueKind() != JsonValueKind.Number) return NumberKind.None;
        if (value.TryGetValue<JsonElement>(out var element)) return NumberOfText(element.GetRawText());
        if (value.TryGetValue<int>(out _)) return NumberKind.Integer;
        if (value.TryGetValue<long>(out _)) return NumberKind.Long;
        if (value.TryGetValue<float>(out _)) return NumberKind.Float;
        return NumberKind.Double;
    }

    /// <summary>How Jackson reads a JSON number's text (see <see cref="Number"/>).</summary>
    public static NumberKind NumberOfText(string text)
    {
        if (text.IndexOfAny(['.', 'e', 'E']) >= 0) return NumberKind.Double;
        if (JavaNumbers.TryParseInt(text, out _)) return NumberKind.Integer;
        if (JavaNumbers.TryParseLong(text, out _)) return NumberKind.Long;
        return NumberKind.BigInteger;
    }

    public static bool TryGetDouble(JsonNode? node, out double number)
    {
        number = 0;
        if (node is not JsonValue value || value.GetValueKind() != JsonValueKind.Number) return false;
        if (value.TryGetValue<JsonElement>(out var element)) return element.TryGetDouble(out number);
        if (value.TryGetValue<int>(out var i)) number = i;
        else if (value.TryGetValue<long>(out var l)) number = l;
        else if (value.TryGetValue<float>(out var f)) number = f;
        else if (value.TryGetValue<double>(out var d)) number = d;
        else return false;
        return true;
    }

    public static string? AsString(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    /// <summary>Java's <c>String.valueOf</c> of the value: <c>1.0</c> for a double, <c>{a=1, b=[x, y]}</c> for a map.</summary>
    public static string JavaToString(JsonNode? node)
    {
        var text = new StringBuilder();
        Append(text, node);
        return text.ToString();
    }

    private static void Append(StringBuilder text, JsonNode? node)
    {
        switch (node)
        {
            case null:
                text.Append("null");
                return;
            case JsonObject map:
                text.Append('{');
                var first = true;
                foreach (var (key, value) in map)
                {
                    if (!first) text.Append(", ");
                    first = false;
                    text.Append(key).Append('=');
                    Append(text, value);
                }
                text.Append('}');
                return;
            case JsonArray list:
                text.Append('[');
                for (var i = 0; i < list.Count; i++)
                {
                    if (i > 0) text.Append(", ");
                    Append(text, list[i]);
                }
                text.Append(']');
                return;
            case JsonValue value:
                switch (value.GetValueKind())
                {
                    case JsonValueKind.String:
                        text.Append(value.GetValue<string>());
                        return;
                    case JsonValueKind.True:
                        text.Append("true");
                        return;
                    case JsonValueKind.False:
                        text.Append("false");
                        return;
                }
                var kind = Number(value);
                if (kind is NumberKind.Double or NumberKind.Float && TryGetDouble(value, out var d))
                    text.Append(kind == NumberKind.Float ? JavaFloat((float)d) : EsErrors.JavaDouble(d));
                else text.Append(value.ToJsonString());
                return;
        }
    }

    /// <summary>
    /// A double (or float) as Jackson writes it: Java's toString (<c>2.0</c>, not <c>2</c>); NaN and the infinities
    /// as strings, as Jackson quotes them.
    /// </summary>
    public static JsonNode JavaNumber(double value, bool isFloat = false)
    {
        if (!double.IsFinite(value)) return JsonValue.Create(isFloat ? JavaFloat((float)value) : EsErrors.JavaDouble(value));
        return JsonNode.Parse(isFloat ? JavaFloat((float)value) : EsErrors.JavaDouble(value))!;
    }

    /// <summary>Java's <c>Float.toString</c> for ordinary values.</summary>
    public static string JavaFloat(float f)
    {
        if (float.IsNaN(f)) return "NaN";
        if (float.IsInfinity(f)) return f > 0 ? "Infinity" : "-Infinity";
        var s = f.ToString("R", CultureInfo.InvariantCulture);
        return s.Contains('.') || s.Contains('E') ? s : s + ".0";
    }
}
