using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.TestModels;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>Logs never carry a client's text raw: ids and messages are escaped and cut, every line stays short.</summary>
public sealed class HostileInputLogTests : IAsyncLifetime
{
    private static readonly string HostileId = "evil\nFAKE LOG LINE\r\u001b[31m" + new string('x', 20_000);
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "tmo-api-tests", Guid.NewGuid().ToString("N"));
    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestDatabase.CreateAsync("hostile-logs");

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    [Fact]
    public async Task An_unhandled_error_for_a_20_kb_path_with_newlines_logs_one_short_escaped_line()
    {
        var logger = new CapturingLogger();
        var middleware = new ElasticsearchMiddleware(_ => throw new InvalidOperationException("no such thing: " + HostileId), logger, new InputOptions());
        var context = new DefaultHttpContext();
        context.Request.Path = "/" + HostileId;
        context.Response.Body = new MemoryStream();
        await middleware.InvokeAsync(context);

        Assert.Equal(500, context.Response.StatusCode);
        var line = Assert.Single(logger.Lines, l => l.Level == LogLevel.Error).Text;
        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain('\r', line);
        Assert.DoesNotContain('\u001b', line);
        Assert.Contains("evil\\nFAKE LOG LINE\\r\\u001b[31m", line);
        Assert.True(line.Length < 2 * 1024, $"{line.Length} chars");
        context.Response.Body.Position = 0;
        var reason = JsonNode.Parse(context.Response.Body)!["error"]!["reason"]!.GetValue<string>();
        Assert.True(reason.Length < 1200, $"{reason.Length} chars");
    }

    /// <summary>A real node with the shipped log settings and Debug for the service: hostile requests write no long or forged line.</summary>
    [Fact]
    public async Task Hostile_ids_sent_to_a_running_node_leave_no_long_or_forged_line_in_its_log()
    {
        await using var node = await NodeProcess.StartAsync(NodeProcess.FreePort(),
        [
            $"--ConnectionStrings:Postgres={_database.ConnectionString}",
            $"--DataDirectory={_dataDirectory}",
            "--Node:Name=hostile-logs-node",
            "--Node:Processors=2",
            "--Logging:LogLevel:TrainedModelsOrleans=Debug",
        ], TimeSpan.FromSeconds(60));
        using var http = TestSecurity.Client(node.BaseAddress, TimeSpan.FromSeconds(60));
        var model = MlApi.NewId("logged");
        await http.UploadOnnxModelAsync(model, TestOnnxModels.Mlp());
        var escapedShort = Uri.EscapeDataString(HostileId[..3000]);
        var answers = new[]
        {
            await http.SendJsonAsync(HttpMethod.Get, "/_ml/trained_models/" + Uri.EscapeDataString(HostileId)),
            await http.SendJsonAsync(HttpMethod.Get, "/_ml/trained_models/" + escapedShort),
            await http.SendJsonAsync(HttpMethod.Put, "/_ingest/pipeline/" + escapedShort, "{\"processors\":[]}"),
            await http.SendJsonAsync(HttpMethod.Post, $"/_ml/trained_models/{model}/deployment/_start?deployment_id={escapedShort}"),
            await http.SendJsonAsync(HttpMethod.Put, "/_ml/trained_models/" + Uri.EscapeDataString(HostileId[..40]), "{}"),
            await http.SendJsonAsync(HttpMethod.Post, $"/_ml/trained_models/{model}/_infer",
                new JsonObject { ["docs"] = new JsonArray(new JsonObject { [HostileId] = HostileId }) }),
            await http.SendJsonAsync(HttpMethod.Post, "/_ingest/pipeline/_simulate",
                new JsonObject { ["pipeline"] = new JsonObject { ["description"] = HostileId, ["processors"] = new JsonArray() }, ["docs"] = new JsonArray(new JsonObject { ["_source"] = new JsonObject { ["x"] = HostileId } }) }),
        };
        Assert.All(answers, a => Assert.InRange((int)a.Status, 200, 499));
        (await http.SendJsonAsync(HttpMethod.Get, "/")).AssertOk();

        var output = node.Output;
        Assert.NotEmpty(output);
        Assert.All(output, line => Assert.True(line.Length < 4096, $"a {line.Length}-char line: {line[..Math.Min(200, line.Length)]}"));
        Assert.DoesNotContain(output, line => line.StartsWith("FAKE LOG LINE", StringComparison.Ordinal));
        Assert.DoesNotContain(output, line => line.Contains(new string('x', 1000), StringComparison.Ordinal));
    }

    private sealed class CapturingLogger : ILogger<ElasticsearchMiddleware>
    {
        public List<(LogLevel Level, string Text)> Lines { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, formatter(state, exception)));
    }
}
