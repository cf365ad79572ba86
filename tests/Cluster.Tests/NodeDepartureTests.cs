using TrainedModelsOrleans.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.Cluster.Tests;

public sealed class NodeDepartureTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_departed_node_leaves_node_capacity_even_when_another_change_commits_before_the_membership_refresh()
    {
        // Slow heartbeats and no periodic re-plan: the only refresh is the one the membership change triggers, seconds later.
        await using var cluster = await TestCluster.StartAsync(new TestClusterOptions
        {
            Silos = 1,
            HeartbeatPeriod = TimeSpan.FromSeconds(2),
            DeathTimeout = TimeSpan.FromSeconds(10),
            NodeCheckInterval = TimeSpan.FromMinutes(10),
        }, output);
        var model = await TinyModel.UploadAsync(cluster[0].Http);

        // A second ML node that is only a membership row (nothing serves on it) joins the plan…
        var departed = MlApi.NewId("departed");
        await cluster.ScalarAsync<int>("""
            INSERT INTO silos (silo_id, generation, address, status, allocated_processors, memory_bytes, heartbeat)
            VALUES ($1, 1, '127.0.0.1:9', 'active', 2, 17179869184, now() + interval '1 hour') RETURNING 1
            """, departed);
        await cluster.WaitUntilAsync(async () => await cluster.ScalarAsync<long>("SELECT count(*) FROM node_capacity WHERE node = $1", departed) == 1,
            TimeSpan.FromSeconds(10), () => $"{departed} did not join the plan");

        // …then dies, and a deployment starts before the silo's next membership refresh.
        await cluster.ScalarAsync<int>("UPDATE silos SET status = 'dead' WHERE silo_id = $1 RETURNING 1", departed);
        (await cluster[0].Http.StartDeploymentAsync(model, "wait_for=starting")).AssertOk();
        Assert.Empty(await cluster.RowsAsync("SELECT node FROM deployment_routes WHERE node = $1", departed));

        await cluster.WaitUntilAsync(async () => await cluster.ScalarAsync<long>("SELECT count(*) FROM node_capacity WHERE node = $1", departed) == 0,
            4 * cluster.Options.HeartbeatPeriod, () => $"node_capacity still lists {departed}, which left the cluster");
    }
}
