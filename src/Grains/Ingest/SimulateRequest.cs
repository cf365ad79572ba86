using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Models.Parsing;
using TrainedModelsOrleans.Grains.Pipelines;

namespace TrainedModelsOrleans.Grains.Ingest;

/// <summary>
/// <c>POST _ingest/pipeline[/&lt;id&gt;]/_simulate</c> (ES's SimulatePipelineRequest): the inline <c>pipeline</c>
/// (checked as a PUT body is, under the id <c>_simulate_pipeline</c>) unless a stored one is named, and the
/// <c>docs</c>, each a <c>_source</c> with <c>_index</c> and <c>_id</c> (defaults <c>_index</c> and <c>_id</c>),
/// optional <c>_routing</c>, <c>_version</c> (default -3, "match any"), <c>_version_type</c>, <c>_if_seq_no</c>,
/// <c>_if_primary_term</c>. Errors are ES's texts.
/// </summary>
public sealed record SimulateRequest(JsonObject? Pipeline, IReadOnlyList<IngestDocument> Documents)
{
    public const string SimulatedPipelineId = "_simulate_pipeline";

    private static readonly string[] VersionTypes = ["internal", "external", "external_gte"];

    /// <param name="body">The request body.</param>
    /// <param name="storedPipeline">Whether the path names a stored pipeline (then the body's <c>pipeline</c> is not read).</param>
    /// <param name="now">The ingest timestamp the documents get.</param>
    public static SimulateRequest Parse(ReadOnlySpan<byte> body, bool storedPipeline, DateTimeOffset now)
    {
        RequireBody(body);
        var json = JsonBody.Parse(body);
        if (json.Root.Kind != JsonKind.Object)
            throw EsErrors.XContentParse($"{json.Location(json.Root.Start)} Expected START_OBJECT but was: {json.Root.TokenName}");
        var root = (JsonObject)json.Root.ToNode()!;

        JsonObject? pipeline = null;
        if (!storedPipeline)
        {
            pipeline = root["pipeline"] switch
            {
                null => throw IngestConfigurationException.Create(null, null, "pipeline", "required property is missing"),
                JsonObject map => map,
                var other => throw IngestConfigurationException.Create(null, null, "pipeline", $"property isn't a map, but of type [{IngestValues.JavaType(other)}]"),
            };
            IngestPipeline.Parse(SimulatedPipelineId, Encoding.UTF8.GetBytes(pipeline.ToJsonString()));
        }

        var docs = root["docs"] switch
        {
            null => throw IngestConfigurationException.Create(null, null, "docs", "required property is missing"),
            JsonArray list => list,
            var other => throw IngestConfigurationException.Create(null, null, "docs", $"property isn't a list, but of type [{IngestValues.JavaType(other)}]"),
        };
        if (docs.Count == 0) throw IngestFailure.IllegalArgument("must specify at least one document in [docs]");
        var timestamp = JavaTimestamp(now);
        var documents = docs.Select(doc => Document(doc as JsonObject
            ?? throw IngestFailure.IllegalArgument("malformed [docs] section, should include an inner object"), timestamp)).ToList();
        return new SimulateRequest(pipeline, documents);
    }

    /// <summary>ES's REST layer: a simulate request needs a body.</summary>
    public static void RequireBody(ReadOnlySpan<byte> body) => RestParameters.RequireBody(body);

    private static IngestDocument Document(JsonObject data, string timestamp)
    {
        var source = data["_source"] switch
        {
            null => throw IngestConfigurationException.Create(null, null, "_source", "required property is missing"),
            JsonObject map => (JsonObject)map.DeepClone(),
            var other => throw IngestConfigurationException.Create(null, null, "_source", $"property isn't a map, but of type [{IngestValues.JavaType(other)}]"),
        };
        source["_index"] = StringOrInt(data, "_index") ?? "_index";
        source["_id"] = StringOrInt(data, "_id") ?? "_id";
        if (StringOrInt(data, "_routing") is { } routing) source["_routing"] = routing;
        source["_version"] = data.ContainsKey("_version") ? Long(data, "_version") : -3L;
        if (data.ContainsKey("_version_type"))
        {
            var versionType = IngestValues.AsString(data["_version_type"])
                ?? throw IngestConfigurationException.Create(null, null, "_version_type", $"property isn't a string, but of type [{IngestValues.JavaType(data["_version_type"])}]");
            if (!VersionTypes.Contains(versionType)) throw IngestFailure.IllegalArgument($"No version type match [{versionType}]");
            source["_version_type"] = versionType;
        }
        foreach (var name in new[] { "_if_seq_no", "_if_primary_term" })
            if (data.ContainsKey(name)) source[name] = Long(data, name);
        return new IngestDocument(source, new JsonObject { ["timestamp"] = timestamp });
    }

    // ConfigurationUtils.readStringOrIntProperty.
    private static string? StringOrInt(JsonObject data, string name) => data[name] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        JsonValue v when IngestValues.Number(v) == IngestValues.NumberKind.Integer => v.ToJsonString(),
        var other => throw IngestConfigurationException.Create(null, null, name, $"property isn't a string or int, but of type [{IngestValues.JavaType(other)}]"),
    };

    // readOptionalStringOrLongProperty, then Long.parseLong; null is refused.
    private static long Long(JsonObject data, string name)
    {
        var value = data[name] ?? throw IngestFailure.IllegalArgument($"[{name}] cannot be null");
        var kind = IngestValues.Number(value);
        var text = IngestValues.AsString(value) ?? (kind is IngestValues.NumberKind.Integer or IngestValues.NumberKind.Long ? value.ToJsonString() : null)
                   ?? throw IngestConfigurationException.Create(null, null, name, $"property isn't a string or long, but of type [{IngestValues.JavaType(value)}]");
        return JavaNumbers.TryParseLong(text, out var number)
            ? number
            : throw new Errors.ElasticsearchException(400, "number_format_exception", $"For input string: \"{text}\"");
    }

    /// <summary>Java's ZonedDateTime.toString in UTC: seconds shown unless zero with no fraction, the fraction in groups of three digits.</summary>
    public static string JavaTimestamp(DateTimeOffset now)
    {
        var utc = now.UtcDateTime;
        var text = new StringBuilder(utc.ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture));
        var nanos = (utc.Ticks % TimeSpan.TicksPerSecond) * 100;
        if (utc.Second != 0 || nanos != 0) text.Append(':').Append(utc.Second.ToString("00", CultureInfo.InvariantCulture));
        if (nanos != 0)
        {
            var fraction = nanos.ToString("000000000", CultureInfo.InvariantCulture);
            text.Append('.').Append(nanos % 1_000_000 == 0 ? fraction[..3] : nanos % 1000 == 0 ? fraction[..6] : fraction);
        }
        return text.Append('Z').ToString();
    }
}
