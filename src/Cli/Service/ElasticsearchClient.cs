using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Cli.Service;

/// <summary>
/// The few Elasticsearch ML APIs the tool calls, each a typed method answering a <see cref="ServiceAnswer"/>: errors
/// are answers here, and callers decide (retry, stop with the reason). Connection failures throw as HttpClient's do.
/// </summary>
public sealed class ElasticsearchClient(HttpClient http)
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    /// <summary>GET with <c>include=definition_status</c>: <c>fully_defined</c>, and which parts are stored while incomplete.</summary>
    public Task<ServiceAnswer> GetModelAsync(string modelId, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, $"_ml/trained_models/{Escape(modelId)}?include=definition_status", null, cancellationToken);

    public Task<ServiceAnswer> PutModelAsync(string modelId, JsonObject config, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, $"_ml/trained_models/{Escape(modelId)}", JsonBody(config), cancellationToken);

    public Task<ServiceAnswer> DeleteModelAsync(string modelId, bool force, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Delete, $"_ml/trained_models/{Escape(modelId)}{(force ? "?force=true" : "")}", null, cancellationToken);

    /// <summary>One part as Eland sends it: the raw bytes in base64, with the totals every part repeats.</summary>
    public Task<ServiceAnswer> PutDefinitionPartAsync(string modelId, int part, ReadOnlyMemory<byte> bytes, long totalDefinitionLength,
        int totalParts, CancellationToken cancellationToken)
    {
        var body = new MemoryStream(capacity: (bytes.Length / 3 + 1) * 4 + 128);
        using (var writer = new Utf8JsonWriter(body))
        {
            writer.WriteStartObject();
            writer.WriteBase64String("definition", bytes.Span);
            writer.WriteNumber("total_definition_length", totalDefinitionLength);
            writer.WriteNumber("total_parts", totalParts);
            writer.WriteEndObject();
        }
        var content = new ByteArrayContent(body.GetBuffer(), 0, (int)body.Length);
        content.Headers.ContentType = Json;
        return SendAsync(HttpMethod.Put, $"_ml/trained_models/{Escape(modelId)}/definition/{part.ToString(CultureInfo.InvariantCulture)}",
            content, cancellationToken);
    }

    public Task<ServiceAnswer> PutVocabularyAsync(string modelId, JsonObject vocabulary, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, $"_ml/trained_models/{Escape(modelId)}/vocabulary", JsonBody(vocabulary), cancellationToken);

    public Task<ServiceAnswer> StartDeploymentAsync(string modelId, DeploymentSettings settings, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"_ml/trained_models/{Escape(modelId)}/deployment/_start{settings.ToQueryString()}", null, cancellationToken);

    public Task<ServiceAnswer> StopDeploymentAsync(string deploymentId, bool force, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"_ml/trained_models/{Escape(deploymentId)}/deployment/_stop{(force ? "?force=true" : "")}", null,
            cancellationToken);

    public Task<ServiceAnswer> InferAsync(string modelOrDeploymentId, JsonObject body, string? timeout, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post,
            $"_ml/trained_models/{Escape(modelOrDeploymentId)}/_infer{(timeout is null ? "" : "?timeout=" + Uri.EscapeDataString(timeout))}",
            JsonBody(body), cancellationToken);

    /// <summary><c>_cat/ml/trained_models</c> in its JSON form: one object per model, keyed by column.</summary>
    public Task<ServiceAnswer> CatModelsAsync(CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, "_cat/ml/trained_models?format=json", null, cancellationToken);

    public Task<ServiceAnswer> GetStatsAsync(CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, "_ml/trained_models/_all/_stats", null, cancellationToken);

    private async Task<ServiceAnswer> SendAsync(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonNode? body = null;
        try
        {
            if (text.Length > 0) body = JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            // _cat's text form, a proxy's HTML page: kept as Text.
        }
        return new ServiceAnswer((int)response.StatusCode, body, text);
    }

    private static ByteArrayContent JsonBody(JsonNode node)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(node));
        content.Headers.ContentType = Json;
        return content;
    }

    private static string Escape(string id) => Uri.EscapeDataString(id);
}
