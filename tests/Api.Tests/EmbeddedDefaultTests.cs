using System.Diagnostics;
using TrainedModelsOrleans.Silo;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>With no connection string, a node starts its own PostgreSQL in its data folder.</summary>
public sealed class EmbeddedDefaultTests
{
    [Fact]
    public async Task Embedded_default_keeps_models_across_restarts_and_stops_its_postgres()
    {
        var dataDirectory = TestRunDirectory.CreateScratchDirectory("embedded"); // mode 0700, like mktemp -d
        var id = "embedded-model";
        await using (var node = await StartAsync(dataDirectory))
        {
            Assert.NotNull(node.EmbeddedConnectionString);
            using var http = TestSecurity.Client(node.BaseAddress);
            var put = await http.PutAsync($"/_ml/trained_models/{id}", Json(ModelUploads.OnnxConfig()));
            Assert.Equal(200, (int)put.StatusCode);
        }
        Assert.False(PostmasterRunning(dataDirectory), "the node must stop the PostgreSQL it started");

        await using (var node = await StartAsync(dataDirectory))
        {
            using var http = TestSecurity.Client(node.BaseAddress);
            var get = await http.GetAsync($"/_ml/trained_models/{id}");
            Assert.Equal(200, (int)get.StatusCode);
            Assert.Contains(id, await get.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Two_nodes_with_their_own_data_folders_are_independent()
    {
        await using var first = await StartAsync(TestRunDirectory.CreateScratchDirectory("first"));
        await using var second = await StartAsync(TestRunDirectory.CreateScratchDirectory("second"));
        using var firstHttp = TestSecurity.Client(first.BaseAddress);
        using var secondHttp = TestSecurity.Client(second.BaseAddress);

        Assert.Equal(200, (int)(await firstHttp.PutAsync("/_ml/trained_models/only-in-first", Json(ModelUploads.OnnxConfig()))).StatusCode);
        Assert.Equal(404, (int)(await secondHttp.GetAsync("/_ml/trained_models/only-in-first")).StatusCode);
        Assert.NotEqual(first.EmbeddedConnectionString, second.EmbeddedConnectionString);
    }

    private static Task<SiloHost> StartAsync(string dataDirectory) => SiloHost.StartAsync(
    [
            .. TestSecurity.Arguments,
        "--Urls=http://127.0.0.1:0",
        $"--DataDirectory={dataDirectory}",
        "--Logging:LogLevel:Default=Warning",
        "--Logging:LogLevel:TrainedModelsOrleans=Warning",
        "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
    ]);

    private static StringContent Json(System.Text.Json.Nodes.JsonNode body) =>
        new(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json");

    private static bool PostmasterRunning(string dataDirectory)
    {
        var pidFile = Path.Combine(dataDirectory, "postgres", "postmaster.pid");
        if (!File.Exists(pidFile)) return false;
        var pid = int.Parse(File.ReadLines(pidFile).First());
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited && File.Exists($"/proc/{pid}/status")
                   && !File.ReadAllText($"/proc/{pid}/status").Contains("State:\tZ", StringComparison.Ordinal);
        }
        catch (ArgumentException) { return false; }
    }
}
