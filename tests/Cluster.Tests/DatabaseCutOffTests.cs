using System.Diagnostics;
using TrainedModelsOrleans.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.Cluster.Tests;

public sealed class DatabaseCutOffTests(ITestOutputHelper output)
{
    private const int FencedExitCode = 75;

    [Fact]
    public async Task A_silo_cut_off_from_the_database_fences_itself_and_its_peer_takes_over_its_grains_and_allocations()
    {
        await using var database = await TestDatabase.CreateAsync("cutoff");
        await using var relay = await TcpRelay.StartAsync(database.ConnectionString);
        await using var cluster = await TestCluster.StartAsync(new TestClusterOptions
        {
            Silos = 2,
            ConnectionString = database.ConnectionString,
            SiloConnectionString = name => name == "node-0" ? relay.ConnectionString : null,
        }, output);
        var cutOff = cluster[0];
        var peer = cluster[1];

        // Control-plane grains first used through the silo about to be cut off, and a deployment on both nodes.
        var model = await TinyModel.UploadAsync(cutOff.Http);
        (await cutOff.Http.StartDeploymentAsync(model, "number_of_allocations=4&wait_for=fully_allocated")).AssertOk();
        DeploymentState? state = null;
        await cluster.WaitUntilAsync(async () => (state = await DeploymentState.ReadAsync(peer.Http, model)) is { AllRoutesStarted: true, Nodes.Count: 2 },
            TimeSpan.FromSeconds(30), () => $"the deployment did not start on both nodes: {state}");
        var ownedByCutOff = await cluster.RowsAsync("SELECT grain_id FROM grain_directory WHERE silo_id = $1 ORDER BY 1", cutOff.Name);
        cluster.Log($"grains on {cutOff.Name} before the cut: {string.Join(", ", ownedByCutOff)}");
        Assert.NotEmpty(ownedByCutOff);

        var watch = Stopwatch.StartNew();
        relay.Cut();
        cluster.Log("relay cut");
        var exitCode = await cutOff.Process.WaitForExitAsync(cluster.Options.DeathTimeout + TimeSpan.FromSeconds(3));
        cluster.Log($"{cutOff.Name} exited with {exitCode} {watch.Elapsed.TotalSeconds:0.000} s after the cut");
        Assert.True(exitCode == FencedExitCode, $"exit code {exitCode}\n{cutOff.Process.OutputTail()}");
        Assert.True(peer.IsRunning, peer.Process.OutputTail());

        await cluster.WaitUntilDeclaredDeadAsync(0, cluster.Options.DeathTimeout + TimeSpan.FromSeconds(5));
        await cluster.WaitUntilAsync(async () => (state = await DeploymentState.ReadAsync(peer.Http, model)) is { AllRoutesStarted: true, Nodes.Count: 1 }
                                                 && state.Nodes.ContainsKey(peer.Name),
            TimeSpan.FromSeconds(10), () => $"the allocations did not move to {peer.Name}: {state}");
        Assert.Equal(2, state!.Allocations);

        // The peer serves what the fenced silo hosted: the deployment (update, inference) and the coordinator behind it.
        var rows = new[] { TinyModel.Row(1), TinyModel.Row(2) };
        TinyModel.AssertInferResults(await TinyModel.InferAsync(peer.Http, model, rows), rows);
        (await peer.Http.UpdateDeploymentAsync(model, 1)).AssertOk();
        await cluster.WaitUntilAsync(async () => (state = await DeploymentState.ReadAsync(peer.Http, model)) is { AllRoutesStarted: true, NumberOfAllocations: 1, Allocations: 1 },
            TimeSpan.FromSeconds(10), () => $"the update did not apply: {state}");
        Assert.Equal(1, await DeploymentState.StoredNumberOfAllocationsAsync(cluster, model));
        Assert.Empty(await cluster.RowsAsync("SELECT grain_id FROM grain_directory WHERE silo_id = $1", cutOff.Name));
        await MlApi.AssertNoNodeOversubscribedAsync(cluster.DataSource);
    }
}
