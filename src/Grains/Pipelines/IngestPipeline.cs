using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Ingest;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Pipelines;

/// <summary>A stored ingest pipeline: its body as given (returned by GET) and the model ids its inference processors name.</summary>
/// <param name="InferenceModelIds">
/// The model ids or aliases named by inference processors, found as ES's InferenceProcessorInfoExtractor finds them:
/// in <c>processors</c>, inside a <c>foreach</c>'s <c>processor</c>, and inside the <c>on_failure</c> of processors
/// other than <c>inference</c> and <c>foreach</c>, at most 10 levels deep; not in the pipeline's own <c>on_failure</c>.
/// </param>
public sealed record ParsedPipeline(string Id, JsonObject Body, IReadOnlyList<string> InferenceModelIds)
{
    /// <summary>Deprecation warnings for the response's <c>Warning</c> header (pipeline names ES 9 will refuse).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>
/// <c>PUT / GET / DELETE _ingest/pipeline/&lt;id&gt;</c>: the body checked as ES's Pipeline.create and
/// ConfigurationUtils read it (texts and order included), and the GET / DELETE id matching of IngestService.
/// Processors are not run here; only <c>inference</c> and <c>foreach</c> are checked beyond their shape.
/// </summary>
public static class IngestPipeline
{
    /// <summary>The processor types an Elasticsearch 8.x node with the default modules knows.</summary>
    public static readonly IReadOnlySet<string> ProcessorTypes = new HashSet<string>(StringComparer.Ordinal)
    {
        "append", "attachment", "bytes", "circle", "community_id", "convert", "csv", "date", "date_index_name", "dissect",
        "dot_expander", "drop", "enrich", "fail", "fingerprint", "foreach", "geo_grid", "geoip", "grok", "gsub", "html_strip",
        "inference", "ip_location", "join", "json", "kv", "lowercase", "network_direction", "pipeline", "redact",
        "registered_domain", "remove", "rename", "reroute", "script", "set", "set_security_user", "sort", "split", "terminate",
        "trim", "uppercase", "uri_parts", "urldecode", "user_agent",
    };

    private const int MaxReferenceSearchDepth = 10;

    public static ParsedPipeline Parse(string id, string body) => Parse(id, Encoding.UTF8.GetBytes(body));

    /// <summary>
    /// Checks a PUT body. Throws 400: no body → <c>parse_exception</c> "request body or source parameter is required";
    /// malformed JSON → <c>x_content_parse_exception</c>; a broken rule → <see cref="IngestConfigurationException"/>
    /// (<c>parse_exception</c>), e.g. "[processors] required property is missing", "[model_id] required property is
    /// missing" (processor_type inference), "No processor type exists with name [x]", "pipeline [id] doesn't support one
    /// or more provided configuration parameters [x]".
    /// </summary>
    public static ParsedPipeline Parse(string id, ReadOnlySpan<byte> body)
    {
        RestParameters.RequireBody(body);
        var json = JsonBody.Parse(body);
        if (json.Root.Kind != JsonKind.Object)
            throw EsErrors.XContentParse($"{json.Location(json.Root.Start)} Expected START_OBJECT but was: {json.Root.TokenName}");

        var config = new Config(json.Root);
        ReadOptionalString(config, null, null, "description");
        ReadOptionalInt(config, "version");
        ReadOptionalMap(config, "_meta");
        ReadOptionalBoolean(config, null, null, "deprecated");
        var processors = config.RemoveNonNull("processors")
            ?? throw IngestConfigurationException.Create(null, null, "processors", "required property is missing");
        ReadProcessors(RequireList(processors, null, null, "processors"), "processors");
        var onFailure = config.RemoveNonNull("on_failure");
        var onFailureList = onFailure is null ? null : RequireList(onFailure, null, null, "on_failure");
        if (onFailureList is not null) ReadProcessors(onFailureList, "on_failure");
        if (config.Count > 0)
            throw EsErrors.Parse($"pipeline [{id}] doesn't support one or more provided configuration parameters {EsErrors.JavaList(config.Names)}");
        if (onFailureList is { Count: 0 }) throw EsErrors.Parse($"pipeline [{id}] cannot have an empty on_failure option defined");

        var modelIds = new List<string>();
        foreach (var element in processors.Items!)
            foreach (var member in element.Members!)
                CollectModelIds(member.Name, member.Value, 0, modelIds);

        return new ParsedPipeline(id, (JsonObject)json.Root.ToNode()!, modelIds.Distinct(StringComparer.Ordinal).ToList())
        {
            Warnings = IdWarning(id) is { } warning ? [warning] : [],
        };
    }

    /// <summary>Every model id or alias named by the pipelines' inference processors (the stop and alias-delete checks use it).</summary>
    public static IReadOnlySet<string> ReferencedModelIds(IEnumerable<ParsedPipeline> pipelines) =>
        pipelines.SelectMany(p => p.InferenceModelIds).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// <c>GET _ingest/pipeline[/&lt;ids&gt;]</c>: a comma-separated list of ids and <c>*</c> patterns (none: all).
    /// ES answers <c>{"&lt;id&gt;":{…body…}, …}</c> with 200, or <c>{}</c> with 404 when nothing matched.
    /// </summary>
    public static (int Status, JsonObject Body) Get(string? idExpression, IReadOnlyDictionary<string, JsonObject> pipelines)
    {
        var matched = Select(idExpression, pipelines.Keys);
        var body = new JsonObject();
        foreach (var id in matched) body[id] = pipelines[id].DeepClone();
        return (matched.Count == 0 ? 404 : 200, body);
    }

    /// <summary>IngestService.innerGetPipelines: ids in the order asked, patterns expanded in id order, duplicates once.</summary>
    public static IReadOnlyList<string> Select(string? idExpression, IEnumerable<string> pipelineIds)
    {
        var ids = pipelineIds.Order(StringComparer.Ordinal).ToList();
        var asked = string.IsNullOrEmpty(idExpression) ? [] : idExpression.Split(',');
        if (asked.Length == 0) return ids;
        var result = new List<string>();
        foreach (var id in asked)
        {
            if (id.Contains('*')) result.AddRange(ids.Where(p => SimpleMatch(id, p)));
            else if (ids.Contains(id, StringComparer.Ordinal)) result.Add(id);
        }
        return result.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// <c>DELETE _ingest/pipeline/&lt;id&gt;</c> (the id may hold <c>*</c>): the ids to delete. Nothing matched →
    /// 404 <c>resource_not_found_exception</c> "pipeline [id] is missing", unless the id is <c>*</c>.
    /// </summary>
    public static IReadOnlyList<string> SelectForDelete(string idPattern, IEnumerable<string> pipelineIds)
    {
        var matched = pipelineIds.Where(p => SimpleMatch(idPattern, p)).Order(StringComparer.Ordinal).ToList();
        if (matched.Count == 0 && idPattern != "*") throw EsErrors.NotFound($"pipeline [{idPattern}] is missing");
        return matched;
    }

    /// <summary>
    /// ES 9's deprecation warning for a pipeline name that would not be a valid index name
    /// (MetadataCreateIndexService.validateIndexOrAliasName); null when the name is fine. ES 8 accepts any name.
    /// </summary>
    public static string? IdWarning(string id)
    {
        string? reason = null;
        if (id.Length == 0) reason = "must not be empty";
        else if (id.IndexOfAny(InvalidFileNameChars) >= 0)
            reason = "must not contain the following characters [' ','\"','*',',','/','<','>','?','\\','|']";
        else if (id.Contains('#')) reason = "must not contain '#'";
        else if (id.Contains(':')) reason = "must not contain ':'";
        else if (id[0] is '_' or '-' or '+') reason = "must not start with '_', '-', or '+'";
        else if (Encoding.UTF8.GetByteCount(id) > 255) reason = $"index name is too long, ({Encoding.UTF8.GetByteCount(id)} > 255)";
        else if (id is "." or "..") reason = "must not be '.' or '..'";
        return reason is null ? null : $"Pipeline name [{id}] will be disallowed in a future version for the following reason: {reason}";
    }

    private static readonly char[] InvalidFileNameChars = [' ', '"', '*', ',', '/', '<', '>', '?', '\\', '|'];

    // ConfigurationUtils.readProcessorConfigs: each entry is an object holding one processor type.
    private static void ReadProcessors(List<JsonItem> list, string property)
    {
        foreach (var element in list)
        {
            if (element.Kind != JsonKind.Object)
                throw IngestConfigurationException.Create(null, null, property, $"property isn't a list of maps, but contains [{JavaType(element)}]");
            if (element.Members!.Count != 1)
                throw IngestConfigurationException.Create(null, null, property,
                    $"each processor must be an object with exactly one processor type, found {EsErrors.JavaList(element.Members.Select(m => m.Name))}");
            ReadProcessor(element.Members[0].Name, element.Members[0].Value);
        }
    }

    // ConfigurationUtils.readProcessor.
    private static void ReadProcessor(string type, JsonItem value)
    {
        if (value.Kind == JsonKind.String && type == "script") return;
        if (value.Kind != JsonKind.Object)
            throw IngestConfigurationException.Create(type, null, null, $"property isn't a map, but of type [{JavaType(value)}]");

        var config = new Config(value);
        var tag = ReadOptionalString(config, null, null, "tag");
        ReadOptionalString(config, null, tag, "description");
        if (config.RemoveNonNull("if") is { } condition && condition.Kind is not (JsonKind.Object or JsonKind.String))
            throw IngestConfigurationException.Create("conditional", null, "script",
                $"property isn't a map or string, but of type [{JavaType(condition)}]");
        if (!ProcessorTypes.Contains(type))
            throw IngestConfigurationException.Create(type, tag, null, $"No processor type exists with name [{type}]");
        ReadOptionalBoolean(config, null, null, "ignore_failure");
        if (config.RemoveNonNull("on_failure") is { } onFailure)
        {
            var list = RequireList(onFailure, null, null, "on_failure");
            ReadProcessors(list, "on_failure");
            if (list.Count == 0) throw IngestConfigurationException.Create(type, tag, "on_failure", "processors list cannot be empty");
        }

        switch (type)
        {
            case "inference":
                // InferenceProcessor.Factory: model_id first, the rest has defaults.
                ReadRequiredString(config, type, tag, "model_id");
                break;
            case "foreach":
                ReadRequiredString(config, type, tag, "field");
                ReadOptionalBoolean(config, type, tag, "ignore_missing");
                var inner = config.RemoveNonNull("processor") ?? throw IngestConfigurationException.Create(type, tag, "processor", "required property is missing");
                if (inner.Kind != JsonKind.Object)
                    throw IngestConfigurationException.Create(type, tag, "processor", $"property isn't a map, but of type [{JavaType(inner)}]");
                if (inner.Members!.Count != 1)
                    throw IngestConfigurationException.Create(type, tag, "processor", "Must specify exactly one processor type");
                ReadProcessor(inner.Members[0].Name, inner.Members[0].Value);
                break;
        }
    }

    // InferenceProcessorInfoExtractor.addModelsAndPipelines.
    private static void CollectModelIds(string type, JsonItem definition, int level, List<string> modelIds)
    {
        if (level > MaxReferenceSearchDepth || definition.Kind != JsonKind.Object) return;
        var members = definition.Members!;
        if (type == "inference")
        {
            if (members.FirstOrDefault(m => m.Name == "model_id")?.Value is { Kind: JsonKind.String } modelId) modelIds.Add(modelId.Text!);
            return;
        }
        if (type == "foreach")
        {
            if (members.FirstOrDefault(m => m.Name == "processor")?.Value is { Kind: JsonKind.Object } inner)
                foreach (var member in inner.Members!) CollectModelIds(member.Name, member.Value, level + 1, modelIds);
            return;
        }
        if (members.FirstOrDefault(m => m.Name == "on_failure")?.Value is { Kind: JsonKind.Array } onFailure)
            foreach (var element in onFailure.Items!.Where(e => e.Kind == JsonKind.Object))
                foreach (var member in element.Members!) CollectModelIds(member.Name, member.Value, level + 1, modelIds);
    }

    private static string? ReadOptionalString(Config config, string? type, string? tag, string property) =>
        config.Remove(property) switch
        {
            null or { Kind: JsonKind.Null } => null,
            { Kind: JsonKind.String } value => value.Text,
            var value => throw IngestConfigurationException.Create(type, tag, property, $"property isn't a string, but of type [{JavaType(value)}]"),
        };

    private static string ReadRequiredString(Config config, string? type, string? tag, string property)
    {
        var value = config.Peek(property);
        if (value is null or { Kind: JsonKind.Null }) throw IngestConfigurationException.Create(type, tag, property, "required property is missing");
        return ReadOptionalString(config, type, tag, property)!;
    }

    private static void ReadOptionalBoolean(Config config, string? type, string? tag, string property)
    {
        var value = config.Remove(property);
        if (value is null or { Kind: JsonKind.Null or JsonKind.True or JsonKind.False }) return;
        throw IngestConfigurationException.Create(type, tag, property, $"property isn't a boolean, but of type [{JavaType(value)}]");
    }

    // ConfigurationUtils.readIntProperty: Integer.parseInt(value.toString()).
    private static void ReadOptionalInt(Config config, string property)
    {
        var value = config.Remove(property);
        if (value is null or { Kind: JsonKind.Null }) return;
        var text = JavaToString(value);
        if (!JavaNumbers.TryParseInt(text, out _))
            throw IngestConfigurationException.Create(null, null, property, $"property cannot be converted to an int [{text}]");
    }

    private static void ReadOptionalMap(Config config, string property)
    {
        var value = config.Remove(property);
        if (value is null or { Kind: JsonKind.Null or JsonKind.Object }) return;
        throw IngestConfigurationException.Create(null, null, property, $"property isn't a map, but of type [{JavaType(value)}]");
    }

    private static List<JsonItem> RequireList(JsonItem value, string? type, string? tag, string property) =>
        value.Kind == JsonKind.Array
            ? value.Items!
            : throw IngestConfigurationException.Create(type, tag, property, $"property isn't a list, but of type [{JavaType(value)}]");

    /// <summary>The Java class ES's map holds for a JSON value (what its "of type [...]" messages print).</summary>
    private static string JavaType(JsonItem value) => value.Kind switch
    {
        JsonKind.String => "java.lang.String",
        JsonKind.True or JsonKind.False => "java.lang.Boolean",
        JsonKind.Array => "java.util.ArrayList",
        JsonKind.Object => "java.util.HashMap",
        JsonKind.Null => "null",
        _ => IngestValues.JavaClass(IngestValues.NumberOfText(value.Text!)),
    };

    /// <summary>The value's Java <c>toString()</c> for scalars (doubles as Java prints them).</summary>
    private static string JavaToString(JsonItem value) => value.Kind switch
    {
        JsonKind.Number when JavaType(value) == "java.lang.Double" =>
            EsErrors.JavaDouble(double.Parse(value.Text!, NumberStyles.Float, CultureInfo.InvariantCulture)),
        JsonKind.Object or JsonKind.Array => value.ToNode()!.ToJsonString(),
        _ => value.ScalarText,
    };

    /// <summary>Regex.simpleMatch with only <c>*</c> as a wildcard.</summary>
    private static bool SimpleMatch(string pattern, string value)
    {
        var parts = pattern.Split('*');
        if (parts.Length == 1) return pattern == value;
        if (!value.StartsWith(parts[0], StringComparison.Ordinal)) return false;
        var position = parts[0].Length;
        for (var i = 1; i < parts.Length - 1; i++)
        {
            var found = value.IndexOf(parts[i], position, StringComparison.Ordinal);
            if (found < 0) return false;
            position = found + parts[i].Length;
        }
        var last = parts[^1];
        return value.Length - position >= last.Length && value.EndsWith(last, StringComparison.Ordinal);
    }


    /// <summary>A configuration map read the way ES reads one: each property removed as it is taken.</summary>
    private sealed class Config(JsonItem item)
    {
        private readonly List<JsonMember> members = [.. item.Members!];

        public int Count => members.Count;
        public IEnumerable<string> Names => members.Select(m => m.Name);

        public JsonItem? Peek(string name) => members.FirstOrDefault(m => m.Name == name)?.Value;

        public JsonItem? Remove(string name)
        {
            var index = members.FindIndex(m => m.Name == name);
            if (index < 0) return null;
            var value = members[index].Value;
            members.RemoveAt(index);
            return value;
        }

        /// <summary>ES's maps hold JSON null as a missing value.</summary>
        public JsonItem? RemoveNonNull(string name) => Remove(name) is { Kind: not JsonKind.Null } value ? value : null;
    }
}
