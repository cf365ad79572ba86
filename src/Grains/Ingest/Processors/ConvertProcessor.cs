using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;

namespace TrainedModelsOrleans.Grains.Ingest.Processors;

/// <summary>
/// ES's ConvertProcessor: <c>field</c> (each element of a list) converted to <c>type</c> (integer, long, float,
/// double, string, boolean, ip, auto) into <c>target_field</c> (default: the field); <c>ignore_missing</c>.
/// Conversions parse the value's Java <c>toString()</c>, as ES's do.
/// </summary>
public sealed class ConvertProcessor(string? tag, string? description, string field, string targetField, string type, bool ignoreMissing)
    : IngestProcessor("convert", tag, description)
{
    private static readonly string[] Types = ["integer", "long", "float", "double", "string", "boolean", "ip", "auto"];

    public static ConvertProcessor Create(ProcessorConfig config, string? description)
    {
        var field = config.ReadString("field");
        var typeName = config.ReadString("type");
        var type = typeName.ToLowerInvariant();
        if (!Types.Contains(type)) throw config.Error("type", $"type [{typeName}] not supported, cannot convert field.");
        var target = config.ReadString("target_field", field);
        var ignoreMissing = config.ReadBoolean("ignore_missing", false);
        return new ConvertProcessor(config.Tag, description, field, target, type, ignoreMissing);
    }

    protected override bool Execute(IngestDocument document)
    {
        var old = document.GetFieldValue(field, ignoreMissing);
        if (old is null && ignoreMissing) return true;
        if (old is null) throw IngestFailure.IllegalArgument($"Field [{field}] is null, cannot be converted to type [{type}]");
        JsonNode? converted = old is JsonArray list
            ? new JsonArray(list.Select(item => Convert(item, type)).ToArray())
            : Convert(old, type);
        document.SetFieldValue(targetField, converted);
        return true;
    }

    public static JsonNode? Convert(JsonNode? value, string type)
    {
        var text = IngestValues.JavaToString(value);
        switch (type)
        {
            case "integer":
                return TryInteger(text, out var i) ? JsonValue.Create(i) : throw Unable(text, "integer");
            case "long":
                return TryLong(text, out var l) ? JsonValue.Create(l) : throw Unable(text, "long");
            case "float":
                return TryDouble(text, out var f) ? IngestValues.JavaNumber(f, isFloat: true) : throw Unable(text, "float");
            case "double":
                return TryDouble(text, out var d) ? IngestValues.JavaNumber(d) : throw Unable(text, "double");
            case "string":
                return JsonValue.Create(text);
            case "boolean":
                return TryBoolean(text, out var b) ? JsonValue.Create(b) : throw IngestFailure.IllegalArgument($"[{text}] is not a boolean value, cannot convert to boolean");
            case "ip":
                return IPAddress.TryParse(text, out _) && (text.Contains('.') || text.Contains(':'))
                    ? JsonValue.Create(text)
                    : throw IngestFailure.IllegalArgument($"'{text}' is not an IP string literal.");
            default:
                // auto: only strings change; the first type that parses, in ES's order.
                if (IngestValues.AsString(value) is null) return value?.DeepClone();
                if (TryBoolean(text, out var autoBool)) return JsonValue.Create(autoBool);
                if (TryInteger(text, out var autoInt)) return JsonValue.Create(autoInt);
                if (TryLong(text, out var autoLong)) return JsonValue.Create(autoLong);
                // Float.parseFloat takes whatever Double.parseDouble takes, so ES's double step is never reached.
                if (TryDouble(text, out var autoFloat)) return IngestValues.JavaNumber(autoFloat, isFloat: true);
                return value?.DeepClone();
        }
    }

    private static Exception Unable(string text, string type) => IngestFailure.IllegalArgument($"unable to convert [{text}] to {type}");

    private static bool TryBoolean(string text, out bool value)
    {
        value = text.Equals("true", StringComparison.OrdinalIgnoreCase);
        return value || text.Equals("false", StringComparison.OrdinalIgnoreCase);
    }

    // Integer.decode for 0x / -0x, else Integer.parseInt.
    private static bool TryInteger(string text, out int value)
    {
        if (TryHex(text, out var hex) && hex is >= int.MinValue and <= int.MaxValue)
        {
            value = (int)hex;
            return true;
        }
        return JavaNumbers.TryParseInt(text, out value);
    }

    private static bool TryLong(string text, out long value) =>
        TryHex(text, out value) || JavaNumbers.TryParseLong(text, out value);

    private static bool TryHex(string text, out long value)
    {
        value = 0;
        var negative = text.StartsWith("-0x", StringComparison.Ordinal);
        if (!negative && !text.StartsWith("0x", StringComparison.Ordinal)) return false;
        if (!long.TryParse(text.AsSpan(negative ? 3 : 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value) || value < 0) return false;
        if (negative) value = -value;
        return true;
    }

    // Double.parseDouble: surrounding whitespace, an f/d suffix, NaN and Infinity.
    private static bool TryDouble(string text, out double value)
    {
        var trimmed = text.Trim();
        if (trimmed.Length > 1 && trimmed[^1] is 'f' or 'F' or 'd' or 'D' && !trimmed.EndsWith("Infinity", StringComparison.Ordinal)) trimmed = trimmed[..^1];
        if (trimmed is "NaN") { value = double.NaN; return true; }
        if (trimmed is "Infinity" or "+Infinity") { value = double.PositiveInfinity; return true; }
        if (trimmed is "-Infinity") { value = double.NegativeInfinity; return true; }
        return double.TryParse(trimmed, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
            CultureInfo.InvariantCulture, out value);
    }
}
