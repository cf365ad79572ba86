using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>What Elasticsearch refuses before an API runs: unknown parameters, bodies, media types, compression.</summary>
public sealed class RequestStrictnessTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    private const string Compatible8 = "application/vnd.elasticsearch+json; compatible-with=8";

    private async Task<Response> SendAsync(HttpMethod method, string path, string? body = null, string? contentType = "application/json",
        string? accept = null, string? contentEncoding = null, byte[]? rawBody = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null || rawBody is not null)
        {
            request.Content = new ByteArrayContent(rawBody ?? Encoding.UTF8.GetBytes(body!));
            if (contentType is not null) request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            if (contentEncoding is not null) request.Content.Headers.ContentEncoding.Add(contentEncoding);
        }
        if (accept is not null) request.Headers.TryAddWithoutValidation("Accept", accept);
        using var response = await service.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonNode? json = null;
        try { json = text.Length > 0 ? JsonNode.Parse(text) : null; } catch (System.Text.Json.JsonException) { }
        return new Response(response.StatusCode, json, text,
            response.Headers.Concat(response.Content.Headers).ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Unknown_query_parameters_are_refused_with_suggestions()
    {
        (await service.PostAsync("/_ml/trained_models/x/deployment/_stop?timeout=abc")).AssertError(400, "illegal_argument_exception",
            "request [/_ml/trained_models/x/deployment/_stop] contains unrecognized parameter: [timeout]");
        (await service.PostAsync("/_ml/trained_models/x/deployment/_stop?forse=true")).AssertError(400, "illegal_argument_exception",
            "request [/_ml/trained_models/x/deployment/_stop] contains unrecognized parameter: [forse] -> did you mean [force]?");
        var plural = (await service.GetAsync("/_ml/trained_models?sise=1&fromat=json&zzz")).AssertError(400, "illegal_argument_exception", "");
        Assert.Equal("request [/_ml/trained_models] contains unrecognized parameters: [fromat] -> did you mean any of [format, from]?, "
                     + "[sise] -> did you mean [size]?, [zzz]", plural.Body["error"]!["reason"]!.GetValue<string>());

        // Parameters ES parses but we do not use are still checked as ES checks them.
        (await service.DeleteAsync("/_ml/trained_models/x?timeout=abc")).AssertError(400, "illegal_argument_exception",
            "failed to parse setting [timeout] with value [abc] as a time value: unit is missing or unrecognized");
        (await service.GetAsync("/_ingest/pipeline?summary=maybe")).AssertError(400, "illegal_argument_exception",
            "Failed to parse value [maybe] as only [true] or [false] are allowed.");

        // ES's global parameters are accepted everywhere; the short way of _infer is checked too.
        (await service.GetAsync("/_ml/trained_models?pretty&human=true&error_trace=false&filter_path=count")).AssertOk();
        var model = await service.UploadModelAsync("strict");
        (await service.StartAsync(model)).AssertOk();
        var doc = new JsonObject { ["docs"] = new JsonArray(new JsonObject { ["tensor"] = new JsonObject
        {
            ["shape"] = new JsonArray(1, 64), ["data"] = new JsonArray(Enumerable.Range(0, 64).Select(i => (JsonNode?)(i / 64.0)).ToArray()),
        } }) };
        (await service.PostAsync($"/_ml/trained_models/{model}/_infer?timeout=5s", doc)).AssertOk();
        (await service.PostAsync($"/_ml/trained_models/{model}/_infer?bogus=1", doc)).AssertError(400, "illegal_argument_exception",
            $"request [/_ml/trained_models/{model}/_infer] contains unrecognized parameter: [bogus]");

        // _update reads number_of_allocations from the query string (the REST spec lists it); no body is needed then.
        var updated = (await service.PostAsync($"/_ml/trained_models/{model}/deployment/_update?number_of_allocations=2")).AssertOk();
        Assert.Equal(2, updated.Body["assignment"]!["task_parameters"]!["number_of_allocations"]!.GetValue<int>());
        (await service.PostAsync($"/_ml/trained_models/{model}/deployment/_update?number_of_allocations=x"))
            .AssertError(400, "illegal_argument_exception", "Failed to parse int parameter [number_of_allocations] with value [x]");
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task A_body_sent_to_an_api_that_takes_none_is_refused()
    {
        (await SendAsync(HttpMethod.Put, "/_ml/trained_models/m/model_aliases/a", "{not json")).AssertError(400, "illegal_argument_exception",
            "request [PUT /_ml/trained_models/m/model_aliases/a] does not support having a body");
        (await SendAsync(HttpMethod.Get, "/", "{}")).AssertError(400, "illegal_argument_exception", "request [GET /] does not support having a body");
        (await SendAsync(HttpMethod.Post, "/_ml/trained_models/m/deployment/cache/_clear", "{}"))
            .AssertError(400, "illegal_argument_exception", "request [POST /_ml/trained_models/m/deployment/cache/_clear] does not support having a body");
    }

    [Fact]
    public async Task The_source_parameter_is_the_body_of_an_api_that_reads_one()
    {
        var source = Uri.EscapeDataString("""{"description":"from the query","processors":[]}""");
        (await service.PutAsync($"/_ingest/pipeline/from-source?source={source}&source_content_type=application/json")).AssertOk();
        Assert.Equal("from the query", (await service.GetAsync("/_ingest/pipeline/from-source")).AssertOk().Body["from-source"]!["description"]!.GetValue<string>());
        (await service.PutAsync($"/_ingest/pipeline/from-source?source={source}"))
            .AssertError(500, "illegal_state_exception", "source and source_content_type parameters are required");
        (await service.PutAsync($"/_ml/trained_models/m/model_aliases/a?source={source}&source_content_type=application/json"))
            .AssertError(400, "illegal_argument_exception", "contains unrecognized parameters: [source], [source_content_type]");
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_not_acceptable()
    {
        foreach (var type in new[] { "text/plain", "application/xml" })
        {
            var refused = await SendAsync(HttpMethod.Put, "/_ingest/pipeline/p1", """{"processors":[]}""", type);
            Assert.Equal(HttpStatusCode.NotAcceptable, refused.Status);
            Assert.Equal($$"""{"error":"Content-Type header [{{type}}] is not supported","status":406}""", refused.Text);
        }
        var missing = await SendAsync(HttpMethod.Put, "/_ingest/pipeline/p1", """{"processors":[]}""", contentType: null);
        Assert.Equal("""{"error":"Content-Type header is missing","status":406}""", missing.Text);
        (await SendAsync(HttpMethod.Put, "/_ingest/pipeline/p1", """{"processors":[]}""", "application/json; charset=UTF-8")).AssertOk();
    }

    [Fact]
    public async Task Compatible_with_7_and_8_are_accepted_and_other_versions_refused()
    {
        var seven = (await SendAsync(HttpMethod.Get, "/", accept: "application/vnd.elasticsearch+json; compatible-with=7")).AssertOk();
        Assert.Contains("compatible-with=7", seven.Headers["Content-Type"]);
        (await SendAsync(HttpMethod.Put, "/_ingest/pipeline/p2", """{"processors":[]}""", Compatible8, Compatible8)).AssertOk();

        var nine = await SendAsync(HttpMethod.Get, "/", accept: "application/vnd.elasticsearch+json; compatible-with=9");
        AssertMediaTypeError(nine, "[Accept, Content-Type]",
            "Accept version must be either version 8 or 7, but found 9. Accept=application/vnd.elasticsearch+json; compatible-with=9");

        var mismatch = await SendAsync(HttpMethod.Put, "/_ingest/pipeline/p2", """{"processors":[]}""",
            Compatible8, "application/vnd.elasticsearch+json; compatible-with=7");
        AssertMediaTypeError(mismatch, "[Accept, Content-Type]",
            "A compatible version is required on both Content-Type and Accept headers if either one has requested a compatible version "
            + "and the compatible versions must match. Accept=application/vnd.elasticsearch+json; compatible-with=7, Content-Type=" + Compatible8);

        var oneSided = await SendAsync(HttpMethod.Put, "/_ingest/pipeline/p2", """{"processors":[]}""", Compatible8);
        AssertMediaTypeError(oneSided, "[Accept, Content-Type]",
            "A compatible version is required on both Content-Type and Accept headers if either one has requested a compatible version. "
            + "Accept=null, Content-Type=" + Compatible8);

        var contentNine = await SendAsync(HttpMethod.Put, "/_ingest/pipeline/p2", """{"processors":[]}""",
            "application/vnd.elasticsearch+json; compatible-with=9", Compatible8);
        AssertMediaTypeError(contentNine, "[Accept, Content-Type]",
            "Content-Type version must be either version 8 or 7, but found 9. Content-Type=application/vnd.elasticsearch+json; compatible-with=9");

        AssertMediaTypeError(await SendAsync(HttpMethod.Put, "/_ingest/pipeline/p2", "{}", "nonsense"), "[Content-Type]", "invalid media-type [nonsense]");
    }

    private static void AssertMediaTypeError(Response response, string headers, string cause)
    {
        response.AssertError(400, "media_type_header_exception", $"Invalid media-type value on headers {headers}");
        Assert.Equal($"Invalid media-type value on headers {headers}", response.Body["error"]!["reason"]!.GetValue<string>());
        Assert.Equal(cause, response.Body["error"]!["caused_by"]!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Gzip_bodies_are_inflated_and_broken_ones_refused()
    {
        var pipeline = """{"description":"sent compressed","processors":[]}""";
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(Encoding.UTF8.GetBytes(pipeline));
        (await SendAsync(HttpMethod.Put, "/_ingest/pipeline/gz", rawBody: buffer.ToArray(), contentEncoding: "gzip")).AssertOk();
        Assert.Equal("sent compressed", (await service.GetAsync("/_ingest/pipeline/gz")).AssertOk().Body["gz"]!["description"]!.GetValue<string>());

        (await SendAsync(HttpMethod.Put, "/_ingest/pipeline/gz2", pipeline, contentEncoding: "gzip"))
            .AssertError(400, "decompression_exception", "the request body is not valid [gzip] data");
    }
}
