using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>The inputs that once answered 5xx (issue 14) each answer a 4xx in Elasticsearch's error shape.</summary>
public sealed class HostileInputTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    /// <summary>Every route that reads a body, with a model id in place.</summary>
    public static TheoryData<string, string> BodyRoutes() => new()
    {
        { "PUT", "/_ml/trained_models/m-{0}" },
        { "PUT", "/_ml/trained_models/{0}/definition/0" },
        { "PUT", "/_ml/trained_models/{0}/vocabulary" },
        { "POST", "/_ml/trained_models/{0}/_infer" },
        { "POST", "/_ml/trained_models/{0}/deployment/_infer" },
        { "POST", "/_ml/trained_models/{0}/deployment/_start" },
        { "POST", "/_ml/trained_models/{0}/deployment/_update" },
        { "POST", "/_ml/trained_models/{0}/deployment/_stop" },
        { "PUT", "/_ingest/pipeline/p-{0}" },
        { "POST", "/_ingest/pipeline/_simulate" },
        { "POST", "/_ingest/pipeline/p-{0}/_simulate" },
    };

    [Theory]
    [MemberData(nameof(BodyRoutes))]
    public async Task Invalid_utf8_in_a_body_is_a_400(string method, string path)
    {
        var model = await service.UploadModelAsync("utf8");
        var body = Encoding.UTF8.GetBytes("{\"docs\":[{\"input\":\"a").Concat(new byte[] { 0xff, 0xfe }).Concat(Encoding.UTF8.GetBytes("\"}]}")).ToArray();
        var response = await SendBytesAsync(new HttpMethod(method), string.Format(path, model), body);
        AssertEsError(response, 400);
    }

    [Theory]
    [MemberData(nameof(BodyRoutes))]
    public async Task A_lone_surrogate_in_a_body_is_a_400(string method, string path)
    {
        var model = await service.UploadModelAsync("surrogate");
        var body = Encoding.UTF8.GetBytes("{\"docs\":[{\"input\":\"a\\ud800b\"}], \"description\":\"\\udc00\", \"processors\":[], \"x\":\"\\ud800\"}");
        var response = await SendBytesAsync(new HttpMethod(method), string.Format(path, model), body);
        AssertEsError(response, 400);
    }

    [Fact]
    public async Task Duplicate_keys_inside_an_infer_doc_are_a_400_duplicate_field()
    {
        var model = await service.UploadModelAsync("dupe");
        var response = await SendBytesAsync(HttpMethod.Post, $"/_ml/trained_models/{model}/_infer",
            Encoding.UTF8.GetBytes("{\"docs\":[{\"input\":\"a\",\"input\":\"b\"}]}"));
        AssertEsError(response, 400);
        Assert.Contains("Duplicate field 'input'", response.Body["error"]!["reason"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("cache_size=99999999999999999999999b")]
    [InlineData("cache_size=9223372036854775807kb")]
    [InlineData("number_of_allocations=18446744073709551616")]
    [InlineData("threads_per_allocation=99999999999")]
    [InlineData("queue_capacity=-99999999999")]
    [InlineData("deployment_id=%00")]
    [InlineData("deployment_id=a%0Ab")]
    public async Task Out_of_range_start_parameters_are_a_4xx(string query)
    {
        var model = await service.UploadModelAsync("range");
        var response = await service.PostAsync($"/_ml/trained_models/{model}/deployment/_start?{query}");
        AssertEsError(response, 400);
    }

    [Theory]
    [InlineData("{\"total_definition_length\":18446744073709551616,\"definition_length\":1,\"total_parts\":1,\"definition\":\"AA==\"}")]
    [InlineData("{\"total_definition_length\":1,\"definition_length\":18446744073709551616,\"total_parts\":1,\"definition\":\"AA==\"}")]
    [InlineData("{\"total_definition_length\":1,\"definition_length\":1,\"total_parts\":18446744073709551616,\"definition\":\"AA==\"}")]
    [InlineData("{\"total_definition_length\":1e39,\"definition_length\":1,\"total_parts\":1,\"definition\":\"AA==\"}")]
    [InlineData("{\"total_definition_length\":1,\"definition_length\":1,\"total_parts\":1,\"definition\":\"!!!\"}")]
    public async Task Out_of_range_chunk_sizes_are_a_4xx(string body)
    {
        var response = await SendBytesAsync(HttpMethod.Put, "/_ml/trained_models/chunky/definition/0", Encoding.UTF8.GetBytes(body));
        AssertEsError(response, 400, 404);
    }

    [Theory]
    [InlineData("{\"number_of_allocations\":18446744073709551616}")]
    [InlineData("{\"number_of_allocations\":1e39}")]
    public async Task Out_of_range_numbers_in_start_bodies_are_a_400(string body)
    {
        var model = await service.UploadModelAsync("bodyrange");
        var response = await SendBytesAsync(HttpMethod.Post, $"/_ml/trained_models/{model}/deployment/_start", Encoding.UTF8.GetBytes(body));
        AssertEsError(response, 400);
    }

    /// <summary>ES reads 9223372036854775807b as a size; no node has that much memory: its 429 "sufficient capacity".</summary>
    [Theory]
    [InlineData("?cache_size=9223372036854775807b", null)]
    [InlineData("", "{\"cache_size\":\"9223372036854775807b\"}")]
    public async Task A_cache_size_of_long_max_bytes_is_refused_for_capacity_not_a_500(string query, string? body)
    {
        var model = await service.UploadModelAsync("cache");
        var response = await SendBytesAsync(HttpMethod.Post, $"/_ml/trained_models/{model}/deployment/_start{query}", Encoding.UTF8.GetBytes(body ?? ""));
        AssertEsError(response, 429);
        Assert.Contains("sufficient capacity", response.Body["error"]!["reason"]!.GetValue<string>());
        Assert.Equal(0, await service.CountAsync("SELECT count(*) FROM ml_deployments WHERE model_id = $1", model));
    }

    [Theory]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(30)]
    [InlineData(300)]
    public async Task Ensembles_nested_deep_are_answered_without_a_5xx(int levels)
    {
        var tree = "{\"tree\":{\"feature_names\":[\"col1\"],\"tree_structure\":[{\"node_index\":0,\"split_feature\":0,\"threshold\":5.0,\"left_child\":1,\"right_child\":2},{\"node_index\":1,\"leaf_value\":1.0},{\"node_index\":2,\"leaf_value\":2.0}],\"target_type\":\"regression\"}}";
        var model = tree;
        for (var i = 0; i < levels; i++)
            model = $"{{\"ensemble\":{{\"feature_names\":[\"col1\"],\"target_type\":\"regression\",\"trained_models\":[{model}]}}}}";
        var id = MlApi.NewId("nested");
        var put = await SendBytesAsync(HttpMethod.Put, $"/_ml/trained_models/{id}",
            Encoding.UTF8.GetBytes($"{{\"input\":{{\"field_names\":[\"col1\"]}},\"inference_config\":{{\"regression\":{{}}}},\"definition\":{{\"trained_model\":{model}}}}}"));
        Assert.True((int)put.Status < 500, $"{(int)put.Status}: {put.Text[..Math.Min(400, put.Text.Length)]}");
        if (levels > 8)
        {
            AssertEsError(put, 400);
            Assert.Contains("at most [8] are allowed", put.Text);
            Assert.Equal(0, await service.CountAsync("SELECT count(*) FROM orleansstorage WHERE grainidextensionstring LIKE $1", "%" + id + "%"));
            return;
        }
        put.AssertOk();
        var infer = await service.PostAsync($"/_ml/trained_models/{id}/_infer", new JsonObject { ["docs"] = new JsonArray(new JsonObject { ["col1"] = 1.0 }) });
        Assert.True((int)infer.Status < 500, $"{(int)infer.Status}: {infer.Text[..Math.Min(400, infer.Text.Length)]}");
        Assert.Equal(System.Net.HttpStatusCode.OK, (await service.GetAsync($"/_ml/trained_models/{id}")).Status);
    }

    [Theory]
    [InlineData("1e39")]
    [InlineData("-1e39")]
    [InlineData("1e400")]
    public async Task A_float_beyond_float_range_in_a_tensor_is_a_400_not_infinity(string number)
    {
        var model = await service.UploadModelAsync("floaty");
        (await service.StartAsync(model)).AssertOk();
        try
        {
            var data = string.Join(",", Enumerable.Repeat("0.5", 63).Append(number));
            var response = await SendBytesAsync(HttpMethod.Post, $"/_ml/trained_models/{model}/_infer",
                Encoding.UTF8.GetBytes($"{{\"docs\":[{{\"tensor\":{{\"shape\":[1,64],\"data\":[{data}]}}}}]}}"));
            AssertEsError(response, 400);
            Assert.Contains("finite float", response.Body["error"]!["reason"]!.GetValue<string>());
        }
        finally { await service.StopAsync(model); }
    }

    [Theory]
    [InlineData("/_ingest/pipeline/a%0Ab", "PUT")]
    [InlineData("/_ingest/pipeline/a%7Fb", "PUT")]
    [InlineData("/_ml/trained_models/a%1Bb", "PUT")]
    [InlineData("/_ml/trained_models/a%0Db/deployment/_stop", "POST")]
    [InlineData("/_ml/trained_models/a%09b", "GET")]
    public async Task Control_characters_in_a_path_id_are_a_400(string path, string method)
    {
        var response = await SendBytesAsync(new HttpMethod(method), path, method == "PUT" ? Encoding.UTF8.GetBytes("{\"processors\":[]}") : []);
        AssertEsError(response, 400);
        Assert.Contains("control characters", response.Body["error"]!["reason"]!.GetValue<string>());
        Assert.Equal(0, await service.CountAsync("SELECT count(*) FROM orleansstorage WHERE grainidextensionstring LIKE '%' || chr(27) || '%' OR grainidextensionstring LIKE '%' || chr(10) || '%'"));
    }

    [Theory]
    [InlineData("/_ingest/pipeline/{0}", "PUT")]
    [InlineData("/_ml/trained_models/{0}", "GET")]
    [InlineData("/_ml/trained_models/{0}/_stats", "GET")]
    [InlineData("/_ml/trained_models/{0}/deployment/_stop", "POST")]
    [InlineData("/_cat/ml/trained_models/{0}", "GET")]
    public async Task A_path_id_over_the_id_limit_is_a_400_that_echoes_only_a_prefix(string path, string method)
    {
        var id = new string('a', 600); // over 512 characters, under the request line's 4 KB
        var response = await SendBytesAsync(new HttpMethod(method), string.Format(path, id),
            method == "PUT" ? Encoding.UTF8.GetBytes("{\"processors\":[]}") : []);
        AssertEsError(response, 400);
        var reason = response.Body["error"]!["reason"]!.GetValue<string>();
        Assert.Contains("must not be longer than 512 characters", reason);
        Assert.True(reason.Length < 400, reason);
    }

    /// <summary>
    /// Kestrel answers these before any middleware; its ceilings sit above ours, so ours answer with a body. Sent without
    /// credentials: ES's HTTP layer refuses them before authentication.
    /// </summary>
    [Fact]
    public async Task A_request_line_over_the_limit_is_a_414_with_an_elasticsearch_body()
    {
        var (status, body) = await RawRequestAsync($"GET /_ml/trained_models/{new string('a', 5000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.Equal(414, status);
        Assert.Equal("too_long_http_line_exception", body["error"]!["type"]!.GetValue<string>());
        Assert.Equal(414, body["status"]!.GetValue<int>());
    }

    [Fact]
    public async Task Headers_over_the_limit_are_a_431_with_an_elasticsearch_body()
    {
        var (status, body) = await RawRequestAsync($"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: {new string('h', 20_000)}\r\n\r\n");
        Assert.Equal(431, status);
        Assert.Equal("too_long_http_header_exception", body["error"]!["type"]!.GetValue<string>());
        Assert.Equal(431, body["status"]!.GetValue<int>());
    }

    /// <summary>One request on a fresh TCP connection (it asks the server to close it), read to the end; chunked bodies joined.</summary>
    private async Task<(int Status, JsonNode Body)> RawRequestAsync(string request)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(service.Node.BaseAddress.Host, service.Node.BaseAddress.Port, timeout.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), timeout.Token);
        using var received = new MemoryStream();
        await stream.CopyToAsync(received, timeout.Token);
        var all = Encoding.UTF8.GetString(received.ToArray());
        var end = all.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(end > 0, $"no response head: {all[..Math.Min(200, all.Length)]}");
        var status = int.Parse(all.Split(' ')[1]);
        var body = all[(end + 4)..];
        if (all[..end].Contains("transfer-encoding: chunked", StringComparison.OrdinalIgnoreCase)) body = Unchunk(body);
        return (status, JsonNode.Parse(body) ?? throw new Xunit.Sdk.XunitException($"{status} with an empty body"));
    }

    private static string Unchunk(string chunked)
    {
        var joined = new StringBuilder();
        var at = 0;
        while (at < chunked.Length)
        {
            var lineEnd = chunked.IndexOf("\r\n", at, StringComparison.Ordinal);
            var size = Convert.ToInt32(chunked[at..lineEnd], 16);
            if (size == 0) break;
            joined.Append(chunked, lineEnd + 2, size);
            at = lineEnd + 2 + size + 2;
        }
        return joined.ToString();
    }

    private async Task<Response> SendBytesAsync(HttpMethod method, string path, byte[] body)
    {
        using var request = new HttpRequestMessage(method, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await service.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonNode? json = null;
        try { json = JsonNode.Parse(text); } catch (System.Text.Json.JsonException) { }
        return new Response(response.StatusCode, json, text, new Dictionary<string, string>());
    }

    private static void AssertEsError(Response response, params int[] statuses)
    {
        Assert.True(statuses.Contains((int)response.Status), $"{(int)response.Status}: {response.Text[..Math.Min(500, response.Text.Length)]}");
        Assert.NotNull(response.Body["error"]?["type"]);
        Assert.NotNull(response.Body["error"]?["reason"]);
        Assert.Equal((int)response.Status, response.Body["status"]!.GetValue<int>());
    }
}
