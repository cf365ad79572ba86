using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Pipelines;

namespace TrainedModelsOrleans.Grains.Ingest;

/// <summary>
/// The mustache templates ES compiles for field names and values (ConfigurationUtils.compileTemplate, ValueSource):
/// the variable forms <c>{{a.b}}</c> (JSON-string escaped, ES's default content type), <c>{{{a.b}}}</c> and
/// <c>{{&amp;a.b}}</c> (raw), and comments. The model is the document's fields, with <c>_source</c> and
/// <c>_ingest</c> as ES adds them; a missing value renders as nothing. Sections, partials and delimiter
/// changes are refused when the pipeline is read (they are not run here).
/// </summary>
public sealed class FieldTemplate
{
    private readonly IReadOnlyList<Part> _parts;

    private FieldTemplate(string source, IReadOnlyList<Part> parts) => (Source, _parts) = (source, parts);

    public string Source { get; }

    /// <summary>True when the text holds no variable (it renders as itself).</summary>
    public bool IsConstant => _parts.All(p => p.Path is null);

    public static FieldTemplate Parse(string text, string processorType, string? tag, string property)
    {
        var parts = new List<Part>();
        var literal = new StringBuilder();
        var i = 0;
        while (i < text.Length)
        {
            var open = text.IndexOf("{{", i, StringComparison.Ordinal);
            if (open < 0)
            {
                literal.Append(text, i, text.Length - i);
                break;
            }
            literal.Append(text, i, open - i);
            var triple = open + 2 < text.Length && text[open + 2] == '{';
            var closing = triple ? "}}}" : "}}";
            var start = open + (triple ? 3 : 2);
            var close = text.IndexOf(closing, start, StringComparison.Ordinal);
            if (close < 0) throw Unsupported(text, processorType, tag, property);
            var name = text[start..close].Trim();
            var escape = !triple;
            if (!triple && name.StartsWith('&'))
            {
                name = name[1..].Trim();
                escape = false;
            }
            if (!triple && name.StartsWith('!'))
            {
                i = close + closing.Length;
                continue;
            }
            if (name.Length == 0 || name.IndexOfAny(['#', '^', '/', '>', '=', '{', '}', '<', '$']) >= 0) throw Unsupported(text, processorType, tag, property);
            if (literal.Length > 0) parts.Add(new Part(literal.ToString(), null, false));
            literal.Clear();
            parts.Add(new Part(null, name == "." ? [] : name.Split('.'), escape));
            i = close + closing.Length;
        }
        if (literal.Length > 0) parts.Add(new Part(literal.ToString(), null, false));
        return new FieldTemplate(text, parts);
    }

    public string Render(IngestDocument document)
    {
        if (_parts.Count == 1 && _parts[0].Path is null) return _parts[0].Text!;
        var text = new StringBuilder();
        foreach (var part in _parts)
        {
            if (part.Path is null)
            {
                text.Append(part.Text);
                continue;
            }
            var value = Lookup(document, part.Path);
            if (value is null) continue;
            var rendered = IngestValues.JavaToString(value);
            if (part.Escape) AppendJsonEscaped(text, rendered);
            else text.Append(rendered);
        }
        return text.ToString();
    }

    private static JsonNode? Lookup(IngestDocument document, string[] path)
    {
        if (path.Length == 0) return null;
        JsonNode? context = path[0] switch
        {
            "_ingest" => document.IngestMetadata,
            "_source" => document.SourceAndMetadata,
            var name => document.SourceAndMetadata.TryGetPropertyValue(name, out var v) ? v : null,
        };
        for (var i = 1; i < path.Length && context is not null; i++)
        {
            context = context switch
            {
                JsonObject map => map.TryGetPropertyValue(path[i], out var v) ? v : null,
                JsonArray list when int.TryParse(path[i], NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < list.Count => list[index],
                _ => null,
            };
        }
        return context;
    }

    // Jackson's JsonStringEncoder.quoteAsString: quotes, backslashes and control characters.
    private static void AppendJsonEscaped(StringBuilder text, string value)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                case '\b': text.Append("\\b"); break;
                case '\f': text.Append("\\f"); break;
                default:
                    if (c < 0x20) text.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                    else text.Append(c);
                    break;
            }
        }
    }

    private static IngestConfigurationException Unsupported(string text, string processorType, string? tag, string property) =>
        IngestConfigurationException.Create(processorType, tag, property,
            $"template [{text}] is not supported here: only the mustache variables {{{{field}}}}, {{{{{{field}}}}}} and {{{{&field}}}} are run");

    private sealed record Part(string? Text, string[]? Path, bool Escape);
}
