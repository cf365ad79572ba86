using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace TrainedModelsOrleans.TestSupport;

/// <summary>An HTTP answer of the Elasticsearch-compatible API, read whole: status, JSON body (when it is JSON), text, headers.</summary>
public sealed record Response(HttpStatusCode Status, JsonNode? Json, string Text, IReadOnlyDictionary<string, string> Headers)
{
    public JsonNode Body => Json ?? throw new Xunit.Sdk.XunitException($"Response {(int)Status} has no JSON body: {Text}");

    /// <summary>Asserts an Elasticsearch error body of the given status and type, whose reason contains the text.</summary>
    public Response AssertError(int status, string type, string reasonContains)
    {
        Assert.True((int)Status == status, $"expected {status}, got {(int)Status}: {Text}");
        Assert.Equal(status, Body["status"]!.GetValue<int>());
        Assert.Equal(type, Body["error"]!["type"]!.GetValue<string>());
        Assert.Equal(type, Body["error"]!["root_cause"]![0]!["type"]!.GetValue<string>());
        var reason = Body["error"]!["reason"]!.GetValue<string>();
        Assert.True(reason.Contains(reasonContains, StringComparison.Ordinal), $"reason \"{reason}\" should contain \"{reasonContains}\"");
        return this;
    }

    public Response AssertOk()
    {
        Assert.True(Status == HttpStatusCode.OK, $"expected 200, got {(int)Status}: {Text}");
        return this;
    }
}

public static class HttpClientJsonExtensions
{
    /// <summary>Sends <paramref name="body"/> (a string as is, a JsonNode or any object serialized) and reads the whole answer.</summary>
    public static async Task<Response> SendJsonAsync(this HttpClient http, HttpMethod method, string path, object? body = null,
        string contentType = "application/json", CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            var text = body switch
            {
                string s => s,
                JsonNode node => node.ToJsonString(),
                _ => System.Text.Json.JsonSerializer.Serialize(body),
            };
            request.Content = new StringContent(text, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        using var response = await http.SendAsync(request, cancellationToken);
        var content = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonNode? json = null;
        if (content.Length > 0)
        {
            try { json = JsonNode.Parse(content); }
            catch (System.Text.Json.JsonException) { }
        }
        return new Response(response.StatusCode, json, content,
            response.Headers.Concat(response.Content.Headers).ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase));
    }
}
