using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.TestModels;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>The service with the adaptive allocations scaler polling every 0.5 s, a 2 s cool-down and a 3 s scale-to-zero time.</summary>
public sealed class AdaptiveServiceFixture : ServiceFixture
{
    protected override string[] ExtraArguments =>
    [
        "--Ml:AdaptiveAllocations:PollInterval=00:00:00.500",
        "--Ml:AdaptiveAllocations:ScaleCooldownTime=00:00:02",
        "--Ml:AdaptiveAllocations:ScaleToZeroTime=00:00:03",
    ];
}

/// <summary>Adaptive allocations that act: the scaler moves the count with the load, within the node's processors, to zero and back.</summary>
public sealed class AdaptiveAllocationsTests(AdaptiveServiceFixture service) : IClassFixture<AdaptiveServiceFixture>
{
    private const int Width = 128;

    /// <summary>
    /// A small model whose run (400 MatMuls of 128×128, about 1.5 ms; no result cache) outweighs a request's HTTP cost,
    /// so four concurrent clients keep one allocation busy (load per allocation near 1, above the 0.9 that scales up).
    /// At 64 wide a run took 0.44 ms on CI and the load stayed near 0.7.
    /// </summary>
    private static readonly byte[] SlowModel = TestOnnxModels.IdentityChain(width: Width, depth: 400);

    private static readonly string SlowInferBody = InferBodyOfWidth(Width);

    /// <summary>For the default test model (<see cref="TestOnnxModels.Mlp"/>, 64 inputs).</summary>
    private static readonly string InferBody = InferBodyOfWidth(64);

    private static string InferBodyOfWidth(int width) => $$$"""{"docs":[{"tensor":{"shape":[1,{{{width}}}],"data":[{{{string.Join(",",
        Enumerable.Range(0, width).Select(i => (i / (float)width).ToString("R", CultureInfo.InvariantCulture)))}}}]}}]}""";

    private Task<Response> StartAdaptiveAsync(string model, string adaptive, string query = "") =>
        service.PostAsync($"/_ml/trained_models/{model}/deployment/_start{query}", JsonNode.Parse($$"""{"adaptive_allocations":{{adaptive}}}"""));

    private async Task<JsonNode> DeploymentStatsAsync(string id) =>
        (await service.GetAsync($"/_ml/trained_models/{id}/_stats")).AssertOk().Body["trained_model_stats"]![0]!["deployment_stats"]!;

    private async Task<int> AllocationsAsync(string id) => (await DeploymentStatsAsync(id))["number_of_allocations"]!.GetValue<int>();

    /// <summary>Polls the deployment's allocations until <paramref name="done"/> or the deadline; the last count.</summary>
    private async Task<int> WaitForAllocationsAsync(string id, Func<int, bool> done, TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        var allocations = await AllocationsAsync(id);
        while (!done(allocations) && clock.Elapsed < deadline)
        {
            await Task.Delay(200);
            allocations = await AllocationsAsync(id);
        }
        return allocations;
    }

    [Fact]
    public async Task A_load_that_rises_and_falls_scales_up_above_min_and_back_to_min()
    {
        var model = await service.UploadModelAsync("adaptive-load", SlowModel);
        var started = (await StartAdaptiveAsync(model, """{"enabled":true,"min_number_of_allocations":1,"max_number_of_allocations":3}""",
            "?cache_size=0")).AssertOk();
        Assert.Equal(1, started.Body["assignment"]!["task_parameters"]!["number_of_allocations"]!.GetValue<int>());
        Assert.Equal("""{"enabled":true,"min_number_of_allocations":1,"max_number_of_allocations":3}""",
            started.Body["assignment"]!["adaptive_allocations"]!.ToJsonString());

        // Four clients, each at most 30,000 requests, until the count rises (at most 30 s).
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        long sent = 0;
        var clients = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 30_000 && !stop.IsCancellationRequested; i++)
            {
                (await service.PostAsync($"/_ml/trained_models/{model}/_infer", SlowInferBody)).AssertOk();
                Interlocked.Increment(ref sent);
            }
        })).ToArray();
        var peak = await WaitForAllocationsAsync(model, n => n > 1, TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        await Task.WhenAll(clients);
        Assert.True(peak > 1, $"the count stayed at {peak} after {Interlocked.Read(ref sent)} requests: {await DeploymentStatsAsync(model)}");
        Assert.True(peak <= 3);

        var stats = await DeploymentStatsAsync(model);
        Assert.Equal("""{"enabled":true,"min_number_of_allocations":1,"max_number_of_allocations":3}""", stats["adaptive_allocations"]!.ToJsonString());
        await service.AssertNoNodeOversubscribedAsync();

        // The load stopped: after the cool-down the count comes back to min (at most 60 s).
        Assert.Equal(1, await WaitForAllocationsAsync(model, n => n == 1, TimeSpan.FromSeconds(60)));
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task Update_merges_adaptive_settings_as_es_does_and_null_removes_them()
    {
        var model = await service.UploadModelAsync("adaptive-update");
        var plain = (await service.StartAsync(model)).AssertOk();
        Assert.Null(plain.Body["assignment"]!["adaptive_allocations"]);

        var path = $"/_ml/trained_models/{model}/deployment/_update";
        var enabled = (await service.PostAsync(path, JsonNode.Parse("""{"adaptive_allocations":{"enabled":true,"min_number_of_allocations":1}}""")))
            .AssertOk();
        Assert.Equal("""{"enabled":true,"min_number_of_allocations":1}""", enabled.Body["assignment"]!["adaptive_allocations"]!.ToJsonString());
        var merged = (await service.PostAsync(path, JsonNode.Parse("""{"adaptive_allocations":{"max_number_of_allocations":2}}"""))).AssertOk();
        Assert.Equal("""{"enabled":true,"min_number_of_allocations":1,"max_number_of_allocations":2}""",
            merged.Body["assignment"]!["adaptive_allocations"]!.ToJsonString());
        (await service.PostAsync(path, JsonNode.Parse("""{"adaptive_allocations":{"min_number_of_allocations":3}}""")))
            .AssertError(400, "validation_exception", "[min_number_of_allocations] must not be larger than [max_number_of_allocations]");
        Assert.Equal("""{"enabled":true,"min_number_of_allocations":1,"max_number_of_allocations":2}""",
            (await DeploymentStatsAsync(model))["adaptive_allocations"]!.ToJsonString());

        var removed = (await service.PostAsync(path, JsonNode.Parse("""{"adaptive_allocations":null,"number_of_allocations":2}"""))).AssertOk();
        Assert.Null(removed.Body["assignment"]!["adaptive_allocations"]);
        Assert.Equal(2, removed.Body["assignment"]!["task_parameters"]!["number_of_allocations"]!.GetValue<int>());
        Assert.Null((await DeploymentStatsAsync(model))["adaptive_allocations"]);
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task A_deployment_scaled_to_zero_survives_a_restart_and_wakes_on_infer()
    {
        var model = await service.UploadModelAsync("adaptive-zero");
        (await StartAdaptiveAsync(model, """{"enabled":true,"min_number_of_allocations":0,"max_number_of_allocations":2}""")).AssertOk();
        Assert.Equal(0, await WaitForAllocationsAsync(model, n => n == 0, TimeSpan.FromSeconds(30)));
        var stats = await DeploymentStatsAsync(model);
        Assert.Equal("started", stats["state"]!.GetValue<string>());
        Assert.Empty(stats["nodes"]!.AsArray());

        await service.RestartAsync();

        stats = await DeploymentStatsAsync(model);
        Assert.Equal(0, stats["number_of_allocations"]!.GetValue<int>());
        Assert.Equal("started", stats["state"]!.GetValue<string>());
        Assert.Equal("""{"enabled":true,"min_number_of_allocations":0,"max_number_of_allocations":2}""", stats["adaptive_allocations"]!.ToJsonString());

        // The first request answers as ES does and starts one allocation; a retry shortly after succeeds.
        (await service.PostAsync($"/_ml/trained_models/{model}/_infer", InferBody)).AssertError(409, "status_exception",
            $"Trained model deployment [{model}] is not allocated to any nodes; starting deployment of one allocation");
        var clock = Stopwatch.StartNew();
        Response answer;
        do
        {
            await Task.Delay(200);
            answer = await service.PostAsync($"/_ml/trained_models/{model}/_infer", InferBody);
        }
        while (answer.Status != System.Net.HttpStatusCode.OK && clock.Elapsed < TimeSpan.FromSeconds(20));
        answer.AssertOk();
        Assert.Equal(1, await AllocationsAsync(model));

        // The scaler runs again in the restarted node's coordinator: idle, the deployment goes back to zero.
        Assert.Equal(0, await WaitForAllocationsAsync(model, n => n == 0, TimeSpan.FromSeconds(30)));
        (await service.StopAsync(model)).AssertOk();
    }
}

/// <summary>The service with a scaler that does not poll during a test (every hour): the tests drive its updates themselves.</summary>
public sealed class ManualScalingFixture : ServiceFixture
{
    protected override string[] ExtraArguments => ["--Ml:AdaptiveAllocations:PollInterval=01:00:00"];
}

/// <summary>The scaler's update (the coordinator's ScaleAllocations) against the node's capacity, with no poll moving the count meanwhile.</summary>
public sealed class AdaptiveCapacityTests(ManualScalingFixture service) : IClassFixture<ManualScalingFixture>
{
    private static async Task<int> AllocationsAsync(ServiceFixture service, string id) =>
        (await service.GetAsync($"/_ml/trained_models/{id}/_stats")).AssertOk()
            .Body["trained_model_stats"]![0]!["deployment_stats"]!["number_of_allocations"]!.GetValue<int>();

    [Fact]
    public async Task The_scaler_stops_at_what_the_node_processors_fit()
    {
        var model = await service.UploadModelAsync("adaptive-fit");
        (await service.PostAsync($"/_ml/trained_models/{model}/deployment/_start?threads_per_allocation=2",
            JsonNode.Parse("""{"adaptive_allocations":{"enabled":true,"min_number_of_allocations":1,"max_number_of_allocations":8}}"""))).AssertOk();
        var coordinator = service.Node.Services.GetRequiredService<IGrainFactory>().GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key);

        // The scaler's update, asking for 8 allocations of 2 threads on a node of 4 processors: it goes to 2.
        Assert.True(await coordinator.ScaleAllocations(model, 1, 8));
        Assert.Equal(2, await AllocationsAsync(service, model));
        Assert.False(await coordinator.ScaleAllocations(model, 2, 8));
        // A decision made on a count that changed since is not applied.
        Assert.False(await coordinator.ScaleAllocations(model, 1, 3));
        Assert.Equal(2, await AllocationsAsync(service, model));
        await service.AssertNoNodeOversubscribedAsync();

        // The update API refuses an explicit count while adaptive allocations are enabled, as ES does.
        (await service.PostAsync($"/_ml/trained_models/{model}/deployment/_update", new JsonObject { ["number_of_allocations"] = 3 }))
            .AssertError(400, "validation_exception", "[number_of_allocations] cannot be set if adaptive allocations is enabled");
        (await service.StopAsync(model)).AssertOk();
    }
}
