using System.Text.Json;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.TestModels;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>
/// The logs of a real node process run with Logging:Console:FormatterName=json and the shipped log levels: one JSON
/// object per line; a start logs one "deployment started" event with its id and node; inference logs nothing at Information.
/// </summary>
public sealed class ControlPlaneLogTests : IAsyncLifetime
{
    private const string NodeName = "logs-node";
    private const int DeploymentStarted = 1301, DeploymentStopped = 1304, AllocationStarted = 1311, AllocationRemoved = 1313, ModelPut = 1331,
        NodeJoined = 1341;
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "tmo-api-tests", Guid.NewGuid().ToString("N"));
    private TestDatabase _database = null!;
    private NodeProcess? _started;

    private NodeProcess RunningNode => _started ?? throw new InvalidOperationException("no node started");

    public async Task InitializeAsync() => _database = await TestDatabase.CreateAsync("logs");

    private async Task StartNodeAsync(params string[] extra) =>
        _started = await NodeProcess.StartAsync(NodeProcess.FreePort(),
        [
            $"--ConnectionStrings:Postgres={_database.ConnectionString}",
            $"--DataDirectory={_dataDirectory}",
            $"--Node:Name={NodeName}",
            "--Node:Processors=2",
            .. extra,
        ], TimeSpan.FromSeconds(60));

    public async Task DisposeAsync()
    {
        if (_started is not null) await _started.DisposeAsync();
        await _database.DisposeAsync();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    [Fact]
    public async Task A_start_logs_one_started_event_with_id_and_node_and_inference_logs_nothing_at_information()
    {
        await StartNodeAsync("--Logging:Console:FormatterName=json");
        using var http = TestSecurity.Client(RunningNode.BaseAddress, TimeSpan.FromSeconds(60));
        var model = MlApi.NewId("logged");
        await http.UploadOnnxModelAsync(model, TestOnnxModels.Mlp());
        (await http.StartDeploymentAsync(model)).AssertOk();
        await WaitForEventAsync(AllocationStarted, model);

        var random = new Random(5);
        for (var i = 0; i < 100; i++)
        {
            var data = new JsonArray(Enumerable.Range(0, 64).Select(_ => (JsonNode?)random.NextDouble()).ToArray());
            var doc = new JsonObject { ["tensor"] = new JsonObject { ["shape"] = new JsonArray(1, 64), ["data"] = data } };
            (await http.SendJsonAsync(HttpMethod.Post, $"/_ml/trained_models/{model}/_infer", new JsonObject { ["docs"] = new JsonArray(doc) })).AssertOk();
        }
        (await http.StopDeploymentAsync(model)).AssertOk();
        await WaitForEventAsync(DeploymentStopped, model);
        await WaitForEventAsync(AllocationRemoved, model);

        var lines = Lines();
        var started = lines.Where(l => Id(l) == DeploymentStarted && State(l, "DeploymentId") == model).ToArray();
        var line = Assert.Single(started);
        Assert.Equal("Information", line["LogLevel"]!.GetValue<string>());
        Assert.Equal(NodeName, State(line, "Node"));
        Assert.Equal(NodeName, State(line, "Nodes"));
        Assert.Equal(model, State(line, "ModelId"));
        Assert.NotNull(State(line, "Outcome"));
        Assert.Single(lines, l => Id(l) == AllocationStarted && State(l, "DeploymentId") == model && State(l, "Node") == NodeName);
        Assert.Single(lines, l => Id(l) == DeploymentStopped && State(l, "DeploymentId") == model);
        Assert.Single(lines, l => Id(l) == ModelPut && State(l, "ModelId") == model && State(l, "Node") == NodeName);
        Assert.Single(lines, l => Id(l) == NodeJoined && State(l, "Node") == NodeName);

        // Between the allocation starting and the stop, 100 requests ran: no line at Information (or below) came from them.
        var from = lines.FindIndex(l => Id(l) == AllocationStarted && State(l, "DeploymentId") == model);
        var to = lines.FindIndex(l => Id(l) is DeploymentStopped or AllocationRemoved && State(l, "DeploymentId") == model);
        Assert.True(from >= 0 && to > from);
        var during = lines.Skip(from + 1).Take(to - from - 1).ToArray();
        Assert.DoesNotContain(during, l => l["LogLevel"]!.GetValue<string>() is "Information" or "Debug" or "Trace");
    }

    [Fact]
    public async Task By_default_each_event_is_one_plain_line_with_a_utc_timestamp()
    {
        await StartNodeAsync();
        using var http = TestSecurity.Client(RunningNode.BaseAddress, TimeSpan.FromSeconds(60));
        var model = MlApi.NewId("plain");
        await http.UploadOnnxModelAsync(model, TestOnnxModels.Mlp());
        (await http.StartDeploymentAsync(model)).AssertOk();
        string[] started = [];
        for (var attempt = 0; attempt < 100 && started.Length == 0; attempt++)
        {
            if (attempt > 0) await Task.Delay(100);
            started = RunningNode.Output.Where(l => l.Contains("[1301]", StringComparison.Ordinal)).ToArray();
        }
        var line = Assert.Single(started);
        // "2026-12-06T23:57:55.867 info: TrainedModelsOrleans.Grains.Deployments.AssignmentCoordinatorGrain[1301] Deployment … outcome starting"
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} info: TrainedModelsOrleans\.[A-Za-z.]+\[1301\] Deployment ", line);
        Assert.Contains($"Deployment {model} of model {model} started from node {NodeName}", line);
        Assert.DoesNotContain(RunningNode.Output, l => l.StartsWith('{'));
        (await http.StopDeploymentAsync(model)).AssertOk();
    }

    /// <summary>Every line the node wrote, each one JSON object (the json formatter writes one per line).</summary>
    private List<JsonObject> Lines()
    {
        var output = RunningNode.Output;
        // The process keeps its last 200 lines: a quiet node must not have written that many.
        Assert.True(output.Count < 200, $"the node wrote {output.Count} or more lines:\n{RunningNode.OutputTail()}");
        return output.Select(l =>
        {
            try
            {
                return JsonNode.Parse(l)!.AsObject();
            }
            catch (JsonException)
            {
                throw new Xunit.Sdk.XunitException($"not a JSON log line: {l}");
            }
        }).ToList();
    }

    private static int Id(JsonObject line) => line["EventId"]!.GetValue<int>();

    private static string? State(JsonObject line, string field) => line["State"]?[field]?.GetValue<string>();

    /// <summary>Log lines reach the test through the process's stdout a moment after the answer: wait for one, boundedly.</summary>
    private async Task WaitForEventAsync(int eventId, string deploymentId)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            if (Lines().Any(l => Id(l) == eventId && State(l, "DeploymentId") == deploymentId)) return;
            await Task.Delay(100);
        }
        throw new Xunit.Sdk.XunitException($"no event {eventId} for {deploymentId}:\n{RunningNode.OutputTail()}");
    }
}
