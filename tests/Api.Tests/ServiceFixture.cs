using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Silo;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>
/// The whole service (silo + HTTP API on real Kestrel, 127.0.0.1, a free port) over a database of
/// this test class. Restart() stops the node and starts a new one on the same database.
/// </summary>
public class ServiceFixture : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "tmo-api-tests", Guid.NewGuid().ToString("N"));

    public TestDatabase Database { get; private set; } = null!;
    public SiloHost Node { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Database = await TestDatabase.CreateAsync("api");
        await StartNodeAsync();
    }

    public async Task RestartAsync()
    {
        Http.Dispose();
        await Node.DisposeAsync();
        await StartNodeAsync();
    }

    /// <summary>Extra command-line settings a derived fixture adds (e.g. --Ml:MaxLazyNodes=3).</summary>
    protected virtual string[] ExtraArguments => [];

    private async Task StartNodeAsync()
    {
        Node = await SiloHost.StartAsync(
        [
            .. ExtraArguments,
            "--Urls=http://127.0.0.1:0",
            $"--ConnectionStrings:Postgres={Database.ConnectionString}",
            $"--DataDirectory={_dataDirectory}",
            "--Node:Name=api-test-node",
            "--Node:Processors=4",
            "--Node:MemoryBytes=17179869184",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:TrainedModelsOrleans=Warning",
            "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
        ]);
        Http = new HttpClient { BaseAddress = Node.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Node.DisposeAsync();
        await Database.DisposeAsync();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    public Task<Response> GetAsync(string path) => SendAsync(HttpMethod.Get, path);
    public Task<Response> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path);
    public Task<Response> PutAsync(string path, object? body = null) => SendAsync(HttpMethod.Put, path, body);
    public Task<Response> PostAsync(string path, object? body = null) => SendAsync(HttpMethod.Post, path, body);

    public async Task<Response> SendAsync(HttpMethod method, string path, object? body = null, string contentType = "application/json")
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
        using var response = await Http.SendAsync(request);
        var content = await response.Content.ReadAsStringAsync();
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
