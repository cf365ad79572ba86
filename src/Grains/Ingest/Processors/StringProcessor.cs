using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Grains.Ingest.Processors;

/// <summary>
/// ES's AbstractStringProcessor and its lowercase, uppercase and trim: a string (or each string of a list) at
/// <c>field</c> transformed into <c>target_field</c> (default: the field); <c>ignore_missing</c>.
/// </summary>
public sealed class StringProcessor(string type, string? tag, string? description, string field, string targetField, bool ignoreMissing)
    : IngestProcessor(type, tag, description)
{
    public static StringProcessor Create(ProcessorConfig config, string? description)
    {
        var field = config.ReadString("field");
        var ignoreMissing = config.ReadBoolean("ignore_missing", false);
        var target = config.ReadString("target_field", field);
        return new StringProcessor(config.Type, config.Tag, description, field, target, ignoreMissing);
    }

    protected override bool Execute(IngestDocument document)
    {
        var value = document.GetFieldValue(field, ignoreMissing);
        if (value is null && ignoreMissing) return true;
        if (value is null) throw IngestFailure.IllegalArgument($"field [{field}] is null, cannot process it.");
        JsonNode result;
        if (value is JsonArray list)
        {
            var converted = new JsonArray();
            foreach (var item in list)
            {
                var text = IngestValues.AsString(item) ?? throw IngestFailure.IllegalArgument(
                    $"value [{IngestValues.JavaToString(item)}] of type [{IngestValues.JavaType(item)}] in list field [{field}] cannot be cast to [java.lang.String]");
                converted.Add(Process(text));
            }
            result = converted;
        }
        else
        {
            var text = IngestValues.AsString(value) ?? throw IngestFailure.IllegalArgument(
                $"field [{field}] of type [{IngestValues.JavaType(value)}] cannot be cast to [java.lang.String]");
            result = JsonValue.Create(Process(text));
        }
        document.SetFieldValue(targetField, result);
        return true;
    }

    // Locale.ROOT case mapping; Java's String.trim() drops every character up to U+0020 at both ends.
    private string Process(string value) => Type switch
    {
        "lowercase" => value.ToLowerInvariant(),
        "uppercase" => value.ToUpperInvariant(),
        _ => value.Trim(JavaWhitespace),
    };

    private static readonly char[] JavaWhitespace = Enumerable.Range(0, 0x21).Select(c => (char)c).ToArray();
}
