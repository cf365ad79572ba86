using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.Cluster.Tests;

public sealed class NodeDepartureTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_killed_node_leaves_node_capacity_on_the_membership_change_alone()
    {
        // No periodic re-plan: the only refresh is the one Orleans' membership change triggers.
        await using var cluster = await TestCluster.StartAsync(new TestClusterOptions
        {
            Silos = 2,
            NodeCheckInterval = TimeSpan.FromMinutes(10),
        }, output);
        var model = await TinyModel.UploadAsync(cluster[0].Http);
        // The victim is the node that does not host the coordinator, so the start below has a coordinator to talk to.
        var coordinatorHome = await (await cluster.ClientAsync()).GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key).GetNode();
        var victim = cluster[0].Name == coordinatorHome ? 1 : 0;
        var survivor = cluster[1 - victim];
        var departed = cluster[victim].Name;
        Assert.Equal(1, await cluster.ScalarAsync<long>("SELECT count(*) FROM node_capacity WHERE node = $1", departed));

        // The node dies; a deployment starts as soon as the API accepts it again (503 node_not_connected while a grain
        // it needs lived on the dead silo and Orleans has not yet declared it dead).
        await cluster.KillAsync(victim);
        Response? start = null;
        await cluster.WaitUntilAsync(async () => (start = await survivor.Http.StartDeploymentAsync(model, "wait_for=starting")).Status != System.Net.HttpStatusCode.ServiceUnavailable,
            cluster.Options.DeathDetection + TimeSpan.FromSeconds(10), () => $"the start kept answering {start}");
        start!.AssertOk();

        await cluster.WaitUntilDeclaredDeadAsync(victim, cluster.Options.DeathDetection + TimeSpan.FromSeconds(5));
        await cluster.WaitUntilAsync(async () => await cluster.ScalarAsync<long>("SELECT count(*) FROM node_capacity WHERE node = $1", departed) == 0,
            TimeSpan.FromSeconds(5), () => $"node_capacity still lists {departed}, which left the cluster");
        Assert.Empty(await cluster.RowsAsync("SELECT node FROM deployment_routes WHERE node = $1", departed));
        await MlApi.AssertNoNodeOversubscribedAsync(cluster.DataSource);
    }
}
