using System.Text.Json;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models.Parsing;
using TrainedModelsOrleans.Grains.Serving;

namespace TrainedModelsOrleans.Grains.Inference;

/// <summary>
/// POST _ml/trained_models/&lt;id&gt;/_infer (InferModelAction.Request): docs, an optional
/// inference_config update and a timeout (default 10s; the query parameter wins).
/// </summary>
public sealed record InferRequest(JsonArray Docs, JsonObject? InferenceConfig, TimeValue Timeout)
{
    public const string ParserName = "infer_trained_model_request";
    public static readonly TimeValue DefaultTimeout = TimeValue.FromSeconds(10);

    // ES parses with strict duplicate detection and allows comments; the depth was checked before (JsonInputRules).
    private static JsonDocumentOptions DocumentOptions => new()
    {
        MaxDepth = JsonInputRules.Limits.MaxNestingDepth + 1, AllowDuplicateProperties = false, CommentHandling = JsonCommentHandling.Skip,
    };

    public static InferRequest Parse(byte[] body, IReadOnlyDictionary<string, string?> query, bool deploymentPath)
    {
        if (body.Length == 0 || body.All(b => b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t'))
            throw ElasticsearchException.BadRequest("requires body");
        JsonInputRules.Check(body);
        JsonObject root;
        try
        {
            root = JsonNode.Parse(body, documentOptions: DocumentOptions) as JsonObject
                   ?? throw new ElasticsearchException(400, "x_content_parse_exception", $"[{ParserName}] expected an object");
        }
        catch (JsonException e)
        {
            // Elasticsearch's wording, with the [line:column] of the fault (e.g. "Duplicate field 'docs'"), from the parser that keeps it.
            Models.Parsing.JsonBody.Parse(body);
            throw new ElasticsearchException(400, "x_content_parse_exception", $"Failed to parse request body: {e.Message}");
        }

        JsonArray? docs = null;
        JsonObject? update = null;
        var timeout = DefaultTimeout;
        foreach (var (field, value) in root)
        {
            switch (field)
            {
                case "docs":
                    docs = value as JsonArray ?? throw FieldType("docs", value);
                    for (var i = 0; i < docs.Count; i++)
                        if (docs[i] is not JsonObject) throw new ElasticsearchException(400, "x_content_parse_exception", $"[{ParserName}] failed to parse field [docs]: element [{i}] is not an object");
                    break;
                case "inference_config":
                    update = value as JsonObject ?? throw FieldType("inference_config", value);
                    break;
                case "timeout":
                    timeout = TimeValue.Parse(value?.ToString() ?? "", "timeout");
                    break;
                default:
                    throw new ElasticsearchException(400, "x_content_parse_exception", $"[{ParserName}] unknown field [{field}]");
            }
        }
        if (docs is null) throw new ElasticsearchException(400, "x_content_parse_exception", $"[{ParserName}] Required [docs]");
        if (docs.Count == 0) throw ElasticsearchException.Validation(["at least one document is required"]);
        if (deploymentPath && docs.Count > 1) throw ElasticsearchException.BadRequest("multiple documents are not supported");
        if (query.TryGetValue("timeout", out var fromQuery) && !string.IsNullOrEmpty(fromQuery)) timeout = TimeValue.Parse(fromQuery, "timeout");
        return new InferRequest(docs, update, timeout);
    }

    public InferTrainedModelRequest ToRequest(string id) => new() { Id = id, Docs = Docs, InferenceConfig = InferenceConfig, Timeout = Timeout.StringRep };

    /// <summary>A typed request, however it came (the HTTP layer or an SDK caller), checked as <see cref="Parse"/> checks it.</summary>
    public static InferRequest From(InferTrainedModelRequest request)
    {
        if (request.Docs is null) throw new ElasticsearchException(400, "x_content_parse_exception", $"[{ParserName}] Required [docs]");
        if (request.Docs.Count == 0) throw ElasticsearchException.Validation(["at least one document is required"]);
        for (var i = 0; i < request.Docs.Count; i++)
            if (request.Docs[i] is not JsonObject) throw new ElasticsearchException(400, "x_content_parse_exception", $"[{ParserName}] failed to parse field [docs]: element [{i}] is not an object");
        return new InferRequest(request.Docs, request.InferenceConfig, TimeValue.Parse(request.Timeout, "timeout"));
    }

    private static ElasticsearchException FieldType(string field, JsonNode? value) =>
        new(400, "x_content_parse_exception",
            $"[{ParserName}] {field} doesn't support values of type: {value?.GetValueKind().ToString().ToUpperInvariant() ?? "VALUE_NULL"}");
}
