using System.Diagnostics;
using TrainedModelsOrleans.Grains.Errors;
using Orleans.Runtime;
using TrainedModelsOrleans.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.Cluster.Tests;

public sealed class AllocationFailoverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan SustainedPeriod = TimeSpan.FromSeconds(4);

    [Fact]
    public async Task Allocations_move_off_a_killed_node_while_the_survivors_keep_serving_inference()
    {
        await using var cluster = await TestCluster.StartAsync(output: output);
        var model = await TinyModel.UploadAsync(cluster[0].Http);
        // Six single-thread allocations on three nodes of two processors: every node holds two.
        (await cluster[0].Http.StartDeploymentAsync(model, "number_of_allocations=6&threads_per_allocation=1&wait_for=fully_allocated")).AssertOk();
        DeploymentState? state = null;
        await cluster.WaitUntilAsync(async () => (state = await DeploymentState.ReadAsync(cluster[1].Http, model)) is { AllRoutesStarted: true, Nodes.Count: 3 },
            TimeSpan.FromSeconds(30), () => $"the deployment did not start on every node: {state}");
        cluster.Log($"before: {state}");

        var victim = cluster[2];
        var survivors = new[] { cluster[0], cluster[1] };
        var client = (await cluster.CreateClientAsync(survivors)).Client;
        var clock = Stopwatch.StartNew();
        await using var load = InferenceLoad.Start(client, model, callers: 3, clock);

        // The kill comes once the load runs (its first calls connect the client and activate the workers, slow on a busy machine).
        await cluster.WaitUntilAsync(() => Task.FromResult(load.Served(TimeSpan.Zero, clock.Elapsed) > 0), TimeSpan.FromSeconds(30),
            () => "the load served nothing before the kill");
        await Task.Delay(500);
        var killedAt = clock.Elapsed;
        await cluster.KillAsync(2);

        // Orleans declares the node dead; within two seconds more the routing table lists only survivors, each serving up to its capacity.
        var deadAt = TimeSpan.Zero;
        var death = Task.Run(async () =>
        {
            await cluster.WaitUntilDeclaredDeadAsync(2, cluster.Options.DeathDetection + TimeSpan.FromSeconds(5));
            deadAt = clock.Elapsed;
        });
        await cluster.WaitUntilAsync(async () => (state = await DeploymentState.ReadAsync(cluster[0].Http, model)) is { AllRoutesStarted: true, Allocations: 4 }
                                                 && !state.Nodes.ContainsKey(victim.Name),
            cluster.Options.DeathDetection + TimeSpan.FromSeconds(7), () => $"the allocations did not move to the survivors: {state}");
        var movedAt = clock.Elapsed;
        await death;
        cluster.Log($"declared dead after {(deadAt - killedAt).TotalSeconds:0.000} s; allocations on the survivors after {(movedAt - killedAt).TotalSeconds:0.000} s");
        Assert.True(movedAt - killedAt <= deadAt - killedAt + TimeSpan.FromSeconds(2),
            $"the allocations moved {(movedAt - deadAt).TotalSeconds:0.000} s after the death was declared (at most 2 s)");
        cluster.Log($"after: {state}");
        Assert.Equal(survivors.Select(s => s.Name).Order(), state!.Nodes.Keys.Order());
        Assert.All(state.Nodes.Values, n => Assert.Equal(2, n.Allocations));
        Assert.Equal(["6"], await cluster.RowsAsync("SELECT status FROM orleansmembershiptable WHERE siloname = $1", victim.Name));
        Assert.Empty(await cluster.RowsAsync("SELECT node FROM deployment_routes WHERE deployment_id = $1 AND node = $2", model, victim.Name));
        await MlApi.AssertNoNodeOversubscribedAsync(cluster.DataSource);

        // Then a sustained period of load with no failure at all.
        await Task.Delay(SustainedPeriod);
        await load.StopAsync();

        var all = load.Outcomes;
        var failures = load.Failures;
        var firstServedAfterKill = all.FirstOrDefault(o => o.Ok && o.At > killedAt)?.At;
        output.WriteLine($"failover: node {victim.Name} killed at {killedAt.TotalSeconds:0.000} s; routes moved to survivors after {(movedAt - killedAt).TotalSeconds:0.000} s " +
                         $"(death detection allowed {cluster.Options.DeathDetection.TotalSeconds:0} s); first inference served after the kill at +{((firstServedAfterKill ?? movedAt) - killedAt).TotalMilliseconds:0} ms; " +
                         $"{all.Length} inferences, {failures.Length} failed, last failure at +{(failures.Length == 0 ? 0 : (failures[^1].At - killedAt).TotalSeconds):0.000} s");
        foreach (var failure in failures.Take(5)) output.WriteLine($"  failed at +{(failure.At - killedAt).TotalSeconds:0.000} s: {failure.Error}");

        Assert.True(load.Served(TimeSpan.Zero, killedAt) > 0, "no inference was served before the kill");
        Assert.True(load.Served(killedAt, movedAt) > 0, "no inference was served while the dead node still had routes");
        // Failures only for what was in flight on the dead node, and only until the allocations moved; each says why
        // (Orleans' errors name the dead silo by its address).
        Assert.All(failures, f => Assert.InRange(f.At, killedAt, movedAt));
        Assert.All(failures, f => Assert.True(f.Error!.StartsWith(nameof(SiloUnavailableException), StringComparison.Ordinal)
                                              || f.Error.StartsWith(nameof(OrleansMessageRejectionException), StringComparison.Ordinal)
                                              || f.Error.StartsWith(nameof(ElasticsearchException), StringComparison.Ordinal), f.Error));
        Assert.True(load.Served(movedAt, clock.Elapsed) > 0, "no inference was served after the move");
    }

    [Fact]
    public async Task A_gracefully_stopped_node_hands_its_allocations_over_and_gets_them_back_when_it_returns()
    {
        await using var cluster = await TestCluster.StartAsync(output: output);
        var model = await TinyModel.UploadAsync(cluster[0].Http);
        (await cluster[0].Http.StartDeploymentAsync(model, "number_of_allocations=6&wait_for=fully_allocated")).AssertOk();
        var generation = await cluster.ScalarAsync<long>("SELECT max(generation) FROM orleansmembershiptable WHERE siloname = 'node-2'");

        // SIGTERM: the node leaves the plan itself and Orleans marks the silo dead as it stops; nobody waits for failure detection.
        await cluster.StopAsync(2);
        Assert.Equal(0, cluster[2].Process.ExitCode);
        Assert.Equal(6, await cluster.ScalarAsync<int>("SELECT status FROM orleansmembershiptable WHERE siloname = 'node-2' AND generation = $1", generation));
        DeploymentState? state = null;
        await cluster.WaitUntilAsync(async () => (state = await DeploymentState.ReadAsync(cluster[0].Http, model)) is { AllRoutesStarted: true, Allocations: 4 }
                                                 && !state.Nodes.ContainsKey("node-2"),
            TimeSpan.FromSeconds(5), () => $"the allocations did not move off the stopped node: {state}");

        // The same node name comes back as a new generation and is given allocations again.
        await cluster.StartSiloAsync("node-2");
        Assert.True(await cluster.ScalarAsync<long>("SELECT max(generation) FROM orleansmembershiptable WHERE siloname = 'node-2' AND status = 3") > generation);
        await cluster.WaitUntilAsync(async () => (state = await DeploymentState.ReadAsync(cluster[1].Http, model)) is { AllRoutesStarted: true, Allocations: 6, Nodes.Count: 3 },
            TimeSpan.FromSeconds(15), () => $"the returning node was not given allocations: {state}");
        cluster.Log($"after the return: {state}");
        await MlApi.AssertNoNodeOversubscribedAsync(cluster.DataSource);
        var rows = new[] { TinyModel.Row(3) };
        TinyModel.AssertInferResults(await TinyModel.InferAsync(cluster[3].Http, model, rows), rows);
    }
}
