using System.Collections.Frozen;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace TrainedModelsOrleans.Api.Http;

/// <summary>Whether a route reads a request body (ES: whether the handler consumes the content).</summary>
public enum BodyUse { None, Optional, Required }

/// <summary>How the REST layer reads a parameter the API itself ignores (ES still parses it: a bad value is a 400).</summary>
public enum ParameterKind { Time, Bool, Int }

/// <summary>
/// What one route accepts: its query parameters (besides its path parameters and the global ones), those of them
/// checked here because no handler reads them, and a body or not.
/// </summary>
public sealed record RouteContract(string Route, BodyUse Body, FrozenSet<string> Parameters, FrozenDictionary<string, ParameterKind> Checked);

/// <summary>
/// The query parameters each API accepts, in one table. ElasticsearchMiddleware enforces it as ES's BaseRestHandler
/// does: a parameter no one reads is 400 "request [path] contains unrecognized parameter: [x]" (with "did you mean"),
/// a body sent to an API that takes none is 400 "request [METHOD path] does not support having a body".
/// A new endpoint adds its line here: every endpoint of the API must have one (checked as the endpoints are built).
/// </summary>
public static class RouteContracts
{
    /// <summary>Parameters every API accepts: ES's REST layer reads them for any request (the channel and error rendering).</summary>
    public static readonly FrozenSet<string> Global =
        new[] { "pretty", "human", "error_trace", "filter_path", "format" }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly string[] CatParameters = ["h", "help", "s", "v:bool", "bytes", "time", "ts:bool", "pri:bool"];

    private static readonly string[] GetModels =
        ["allow_no_match", "from", "size", "include", "tags", "decompress_definition", "exclude_generated"];

    // Declared after the lists it uses: static fields initialize in order.
    private static readonly FrozenDictionary<string, RouteContract> Table = new[]
    {
        Route("GET /", BodyUse.None),
        Route("GET /_ml/info", BodyUse.None),

        Route("PUT /_ml/trained_models/{model_id}", BodyUse.Required, "defer_definition_decompression", "wait_for_completion"),
        Route("GET /_ml/trained_models", BodyUse.None, GetModels),
        Route("GET /_ml/trained_models/{model_id}", BodyUse.None, GetModels),
        Route("DELETE /_ml/trained_models/{model_id}", BodyUse.None, "force", "timeout:time"),
        Route("PUT /_ml/trained_models/{model_id}/definition/{part}", BodyUse.Required),
        Route("PUT /_ml/trained_models/{model_id}/vocabulary", BodyUse.Required),
        Route("GET /_ml/trained_models/_stats", BodyUse.None, "allow_no_match", "from", "size"),
        Route("GET /_ml/trained_models/{model_id}/_stats", BodyUse.None, "allow_no_match", "from", "size"),
        Route("POST /_ml/trained_models/{model_id}/_infer", BodyUse.Required, "timeout"),
        Route("POST /_ml/trained_models/{model_id}/deployment/_infer", BodyUse.Required, "timeout"),

        Route("POST /_ml/trained_models/{model_id}/deployment/_start", BodyUse.Optional,
            "deployment_id", "number_of_allocations", "threads_per_allocation", "queue_capacity", "cache_size", "priority", "timeout",
            "wait_for", "model_threads", "inference_threads"),
        Route("POST /_ml/trained_models/{deployment_id}/deployment/_update", BodyUse.Optional, "number_of_allocations", "timeout", "master_timeout"),
        Route("POST /_ml/trained_models/{deployment_id}/deployment/_stop", BodyUse.Optional, "allow_no_match", "force", "finish_pending_work"),
        Route("POST /_ml/trained_models/{deployment_id}/deployment/cache/_clear", BodyUse.None),
        Route("PUT /_ml/trained_models/{model_id}/model_aliases/{model_alias}", BodyUse.None, "reassign"),
        Route("DELETE /_ml/trained_models/{model_id}/model_aliases/{model_alias}", BodyUse.None),

        Route("PUT /_ingest/pipeline/{id}", BodyUse.Required, "master_timeout:time", "timeout:time", "if_version:int"),
        Route("GET /_ingest/pipeline/{id}", BodyUse.None, "master_timeout:time", "summary:bool"),
        Route("GET /_ingest/pipeline", BodyUse.None, "master_timeout:time", "summary:bool"),
        Route("DELETE /_ingest/pipeline/{id}", BodyUse.None, "master_timeout:time", "timeout:time"),
        Route("GET /_ingest/pipeline/_simulate", BodyUse.Required, "verbose"),
        Route("POST /_ingest/pipeline/_simulate", BodyUse.Required, "verbose"),
        Route("GET /_ingest/pipeline/{id}/_simulate", BodyUse.Required, "verbose"),
        Route("POST /_ingest/pipeline/{id}/_simulate", BodyUse.Required, "verbose"),

        Route("GET /_cat/ml/trained_models", BodyUse.None, [.. CatParameters, "allow_no_match", "from", "size"]),
        Route("GET /_cat/ml/trained_models/{model_id}", BodyUse.None, [.. CatParameters, "allow_no_match", "from", "size"]),

        // The operator's ML page (not an ES API): its files, and the node and alias data the page reads beside _stats.
        Route("GET /_ml/ui", BodyUse.None),
        Route("GET /_ml/ui/{asset}", BodyUse.None),
        Route("GET /_ml/ui/api/cluster", BodyUse.None),
        // Not an ES API: Prometheus' scrape of our metrics (Endpoints/PrometheusEndpoints).
        Route("GET /_prometheus/metrics", BodyUse.None),

        Route("GET /_security/_authenticate", BodyUse.None),
        Route("POST /_security/api_key", BodyUse.Required, "refresh"),
        Route("PUT /_security/api_key", BodyUse.Required, "refresh"),
        Route("GET /_security/api_key", BodyUse.None, "id", "name", "username", "realm_name", "owner", "with_limited_by", "active_only",
            "with_profile_uid"),
        Route("DELETE /_security/api_key", BodyUse.Required),
        Route("GET /_security/user", BodyUse.None, "with_profile_uid"),
        Route("GET /_security/user/{username}", BodyUse.None, "with_profile_uid"),
        Route("PUT /_security/user/{username}", BodyUse.Required, "refresh"),
        Route("POST /_security/user/{username}", BodyUse.Required, "refresh"),
        Route("DELETE /_security/user/{username}", BodyUse.None, "refresh"),
        Route("PUT /_security/user/{username}/_password", BodyUse.Required, "refresh"),
        Route("POST /_security/user/{username}/_password", BodyUse.Required, "refresh"),
        Route("PUT /_security/user/_password", BodyUse.Required, "refresh"),
        Route("POST /_security/user/_password", BodyUse.Required, "refresh"),
    }.ToFrozenDictionary(r => r.Route, StringComparer.Ordinal);

    /// <summary>
    /// A line: the route, its body, and its parameters; <c>name:time</c>, <c>name:bool</c> or <c>name:int</c> marks one
    /// that ES parses but we do not use, so that its value is still checked as ES checks it.
    /// </summary>
    private static RouteContract Route(string route, BodyUse body, params string[] parameters)
    {
        // The path's own parameters are accepted too: ES reads them from the same parameter map.
        var pathParameters = route.Split('/').Where(s => s.StartsWith('{')).Select(s => s.Trim('{', '}'));
        // An API that reads a body also takes it from the source parameter (RestRequest.contentOrSourceParam).
        var names = parameters.Select(p => p.Split(':')[0]).Concat(body == BodyUse.None ? [] : ["source", "source_content_type"]);
        var checkedOnes = parameters.Where(p => p.Contains(':')).ToFrozenDictionary(p => p.Split(':')[0],
            p => Enum.Parse<ParameterKind>(p.Split(':')[1], ignoreCase: true), StringComparer.Ordinal);
        return new RouteContract(route, body, names.Concat(pathParameters).ToFrozenSet(StringComparer.Ordinal), checkedOnes);
    }

    /// <summary>RestRequest's typed readers' errors for the parameters the API ignores but ES would parse.</summary>
    public static void CheckValues(RouteContract contract, IQueryCollection query)
    {
        foreach (var (name, kind) in contract.Checked)
        {
            if (!query.TryGetValue(name, out var values)) continue;
            var value = values.ToString();
            switch (kind)
            {
                case ParameterKind.Time:
                    Grains.Deployments.TimeValue.Parse(value, name);
                    break;
                case ParameterKind.Bool:
                    QueryParameters.ParseBool(value);
                    break;
                case ParameterKind.Int when !int.TryParse(value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out _):
                    throw Grains.Errors.ElasticsearchException.IllegalArgument($"Failed to parse int parameter [{name}] with value [{value}]");
            }
        }
    }

    /// <summary>Every line's route ("GET /_ml/info"), for the tables kept beside this one (RouteActions).</summary>
    public static IEnumerable<string> Routes => Table.Keys;

    /// <summary>Every line of the table (the hostile-input property test drives its requests from it).</summary>
    public static IReadOnlyCollection<RouteContract> All => Table.Values;

    /// <summary>The line of an endpoint ("GET /_ml/info"), or null for a route the table does not have.</summary>
    public static RouteContract? Find(string method, string pattern) =>
        Table.GetValueOrDefault($"{(method == HttpMethods.Head ? HttpMethods.Get : method)} {Normalize(pattern)}");

    private static string Normalize(string pattern)
    {
        if (!pattern.StartsWith('/')) pattern = "/" + pattern;
        return pattern.Length > 1 ? pattern.TrimEnd('/') : pattern;
    }

    /// <summary>
    /// Gives every endpoint mapped on <paramref name="api"/> its line as metadata, where the middleware finds it with
    /// no lookup of its own; an endpoint without a line fails as the endpoints are built (add its line above).
    /// </summary>
    public static void Apply(IEndpointConventionBuilder api) => api.Add(endpoint =>
    {
        if (endpoint is not RouteEndpointBuilder route) return;
        var method = route.Metadata.OfType<HttpMethodMetadata>().SelectMany(m => m.HttpMethods).FirstOrDefault() ?? HttpMethods.Get;
        var pattern = route.RoutePattern.RawText ?? "/";
        endpoint.Metadata.Add(Find(method, pattern)
            ?? throw new InvalidOperationException($"{method} {pattern} has no line in RouteContracts: declare the parameters it accepts"));
    });

    /// <summary>BaseRestHandler.unrecognized: the unknown names in order, each with the accepted names it is close to.</summary>
    public static string Unrecognized(string path, IEnumerable<string> unknown, IEnumerable<string> candidates)
    {
        var invalids = unknown.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var accepted = candidates.Distinct(StringComparer.Ordinal).ToArray();
        var message = new System.Text.StringBuilder($"request [{path}] contains unrecognized parameter{(invalids.Length > 1 ? "s" : "")}: ");
        for (var i = 0; i < invalids.Length; i++)
        {
            if (i > 0) message.Append(", ");
            message.Append('[').Append(invalids[i]).Append(']');
            var close = accepted.Select(c => (Score: Similarity(invalids[i], c), Name: c)).Where(c => c.Score > 0.5f)
                .OrderByDescending(c => c.Score).ThenBy(c => c.Name, StringComparer.Ordinal).Select(c => c.Name).ToArray();
            if (close.Length == 1) message.Append(" -> did you mean [").Append(close[0]).Append("]?");
            else if (close.Length > 1) message.Append(" -> did you mean any of [").Append(string.Join(", ", close)).Append("]?");
        }
        return message.ToString();
    }

    /// <summary>Lucene's LevenshteinDistance.getDistance: 1 − edits / the longer length (in float, as Lucene computes it).</summary>
    public static float Similarity(string target, string other)
    {
        if (target.Length == 0 || other.Length == 0) return target.Length == other.Length ? 1 : 0;
        return 1.0f - (float)Quickenshtein.Levenshtein.GetDistance(target, other) / Math.Max(target.Length, other.Length);
    }
}
