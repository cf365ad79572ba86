using System.Globalization;
using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Grains.Models.Parsing;

/// <summary>The value tokens a field accepts, as ES's ObjectParser.ValueType declares them.</summary>
[Flags]
internal enum Accepts
{
    StringToken = 1,
    NumberToken = 2,
    BoolToken = 4,
    NullToken = 8,
    ObjectToken = 16,
    ArrayToken = 32,

    String = StringToken,
    Long = NumberToken | StringToken,
    Int = NumberToken | StringToken,
    Double = NumberToken | StringToken,
    Boolean = BoolToken | StringToken,
    StringArray = ArrayToken | StringToken,
    DoubleArray = ArrayToken | NumberToken | StringToken,
    Object = ObjectToken,
    ObjectArray = ObjectToken | ArrayToken,
    Value = StringToken | NumberToken | BoolToken | NullToken,
    Any = StringToken | NumberToken | BoolToken | NullToken | ObjectToken | ArrayToken,
}

/// <summary>
/// A strict object parser with ES's ObjectParser behaviour and messages: unknown fields
/// (<c>[name] unknown field [x] did you mean [y]?</c>), unsupported token types
/// (<c>[name] x doesn't support values of type: VALUE_NUMBER</c>), and every failure inside a
/// field wrapped as <c>[name] failed to parse field [x]</c>, each prefixed with <c>[line:col]</c>.
/// </summary>
internal sealed class ObjectParser(string name)
{
    private const string OffsetKey = "tmo.es.offset";
    private const string NoWrapKey = "tmo.es.nowrap";

    private readonly Dictionary<string, (Accepts Accepts, Action<JsonItem> Handle)> fields = new(StringComparer.Ordinal);

    public string Name { get; } = name;

    public ObjectParser Declare(string field, Accepts accepts, Action<JsonItem> handle)
    {
        fields[field] = (accepts, handle);
        return this;
    }

    /// <summary>A field ES declares but ignores (e.g. <c>doc_type</c>).</summary>
    public ObjectParser Ignore(string field, Accepts accepts) => Declare(field, accepts, _ => { });

    public void Parse(JsonBody body, JsonItem item)
    {
        if (item.Kind != JsonKind.Object)
            throw At(EsErrors.XContentParse($"{body.Location(item.Start)} [{Name}] Expected START_OBJECT but was: {item.TokenName}"), item.Start);

        foreach (var member in item.Members!)
        {
            var value = member.Value;
            if (!fields.TryGetValue(member.Name, out var field))
                throw At(EsErrors.XContentParse($"{body.Location(member.NameStart)} [{Name}] unknown field [{member.Name}]{Suggest(member.Name, fields.Keys)}"), value.Start);
            if (!Supports(field.Accepts, value.Kind))
                throw At(EsErrors.XContentParse($"{body.Location(value.Start)} [{Name}] {member.Name} doesn't support values of type: {value.TokenName}"), value.Start);
            try
            {
                field.Handle(value);
            }
            catch (ElasticsearchException e) when (!IsNoWrap(e))
            {
                throw WrapField(body, Name, member.Name, e, value.End);
            }
        }
    }

    /// <summary>ES's "[parser] failed to parse field [x]" wrapper, located where the inner failure happened.</summary>
    public static ElasticsearchException WrapField(JsonBody body, string parser, string field, ElasticsearchException inner, int fallbackOffset)
    {
        var offset = OffsetOf(inner) ?? fallbackOffset;
        var wrapped = new ElasticsearchExceptionWithCause(400, "x_content_parse_exception",
            $"{body.Location(offset)} [{parser}] failed to parse field [{field}]", inner);
        return At(wrapped, offset);
    }

    /// <summary>Records where a failure happened, for the wrappers around it.</summary>
    public static ElasticsearchException At(ElasticsearchException e, int offset)
    {
        if (!e.Data.Contains(OffsetKey)) e.Data[OffsetKey] = offset;
        return e;
    }

    /// <summary>Marks an error that must reach the caller as is, not wrapped in "failed to parse field".</summary>
    public static ElasticsearchException NoWrap(ElasticsearchException e)
    {
        e.Data[NoWrapKey] = true;
        return e;
    }

    public static bool IsNoWrap(ElasticsearchException e) => e.Data.Contains(NoWrapKey);

    private static int? OffsetOf(ElasticsearchException e) => e.Data[OffsetKey] is int o ? o : null;

    private static bool Supports(Accepts accepts, JsonKind kind) => kind switch
    {
        JsonKind.String => accepts.HasFlag(Accepts.StringToken),
        JsonKind.Number => accepts.HasFlag(Accepts.NumberToken),
        JsonKind.True or JsonKind.False => accepts.HasFlag(Accepts.BoolToken),
        JsonKind.Null => accepts.HasFlag(Accepts.NullToken),
        JsonKind.Object => accepts.HasFlag(Accepts.ObjectToken),
        _ => accepts.HasFlag(Accepts.ArrayToken),
    };

    /// <summary>ES's SuggestingErrorOnUnknown: candidates with Lucene Levenshtein similarity above 0.5.</summary>
    public static string Suggest(string unknown, IEnumerable<string> candidates)
    {
        var scored = candidates
            .Select(c => (Score: Similarity(unknown, c), Name: c))
            .Where(s => s.Score > 0.5f)
            .OrderByDescending(s => s.Score).ThenBy(s => s.Name, StringComparer.Ordinal)
            .Select(s => s.Name)
            .ToList();
        return scored.Count switch
        {
            0 => "",
            1 => $" did you mean [{scored[0]}]?",
            _ => $" did you mean any of {EsErrors.JavaList(scored)}?",
        };
    }

    private static float Similarity(string a, string b)
    {
        if (a.Length == 0 || b.Length == 0) return a == b ? 1f : 0f;
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) prev[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return 1f - (float)prev[b.Length] / Math.Max(a.Length, b.Length);
    }
}

/// <summary>Reads scalar and list values the way ES's XContentParser coerces them.</summary>
internal static class Values
{
    public static string String(JsonItem v) => v.ScalarText;

    public static bool Boolean(JsonItem v) => v.Kind switch
    {
        JsonKind.True => true,
        JsonKind.False => false,
        _ => v.Text switch
        {
            "true" => true,
            "false" => false,
            _ => throw EsErrors.IllegalArgument($"Failed to parse value [{v.Text}] as only [true] or [false] are allowed."),
        },
    };

    public static double Double(JsonItem v)
    {
        if (double.TryParse(v.ScalarText, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return d;
        throw NumberFormat(v.ScalarText);
    }

    public static long Long(JsonItem v)
    {
        var text = v.ScalarText;
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return l;
        // ES coerces decimals ("1.0", 1.5) by truncation, and refuses values out of range.
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || double.IsNaN(d) || double.IsInfinity(d))
            throw NumberFormat(text);
        if (d is >= 9.2233720368547758E18 or < -9.2233720368547758E18)
            throw EsErrors.IllegalArgument($"Value [{text}] is out of range for a long");
        return (long)Math.Truncate(d);
    }

    public static int Int(JsonItem v)
    {
        var l = Long(v);
        if (l is > int.MaxValue or < int.MinValue)
            throw EsErrors.IllegalArgument($"Value [{v.ScalarText}] is out of range for an integer");
        return (int)l;
    }

    /// <summary>declareStringArray: an array of values, or a single value taken as a one-element list.</summary>
    public static List<string> StringList(JsonItem v) => List(v, String);

    public static List<double> DoubleList(JsonItem v) => List(v, Double);

    private static List<T> List<T>(JsonItem v, Func<JsonItem, T> item)
    {
        if (v.Kind != JsonKind.Array) return [item(v)];
        var list = new List<T>(v.Items!.Count);
        foreach (var element in v.Items)
        {
            if (!element.IsScalar || element.Kind == JsonKind.Null)
                throw EsErrors.IllegalArgument($"expected value but got [{element.TokenName}]");
            list.Add(item(element));
        }
        return list;
    }

    private static ElasticsearchException NumberFormat(string text) =>
        new(400, "number_format_exception", $"For input string: \"{text}\"");
}
