using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>ml.max_lazy_nodes above the live node count: deployments are kept partly allocated and grow onto new nodes.</summary>
public sealed class LazyNodesFixture : ServiceFixture
{
    protected override string[] ExtraArguments => ["--Ml:MaxLazyNodes=5", "--Ml:NodeCheckInterval=00:00:00.200"];
}

public sealed class LazyNodesTests(LazyNodesFixture service) : IClassFixture<LazyNodesFixture>
{
    [Fact]
    public async Task A_start_that_does_not_fit_is_kept_with_reasons_and_grows_when_a_node_joins()
    {
        var model = await service.UploadModelAsync();
        var assignment = (await service.StartAsync(model, "number_of_allocations=6")).AssertOk().Body["assignment"]!;
        Assert.Equal(4, assignment["routing_table"]!["api-test-node"]!["target_allocations"]!.GetValue<int>());
        Assert.Contains("Could not assign (more) allocations on node [api-test-node]. Reason: This node has insufficient allocated processors.",
            assignment["reason"]!.GetValue<string>());

        var joined = Deployments.NewId("joined");
        var node = await service.AddNodeAsync(joined, 4);
        await WaitUntilAsync(async () => await service.CountAsync(
            "SELECT COALESCE(SUM(target_allocations), 0) FROM deployment_routes WHERE deployment_id = $1", model) == 6);
        Assert.Equal(2, await service.CountAsync("SELECT target_allocations FROM deployment_routes WHERE deployment_id = $1 AND node = $2", model, joined));
        await service.AssertNoNodeOversubscribedAsync();

        // The node leaves (its silo stops): its allocations go, the deployment stays.
        await node.DisposeAsync();
        await WaitUntilAsync(async () => await service.CountAsync("SELECT count(*) FROM deployment_routes WHERE node = $1", joined) == 0);
        Assert.Equal(4, await service.CountAsync("SELECT SUM(target_allocations) FROM deployment_routes WHERE deployment_id = $1", model));
        (await service.StopAsync(model)).AssertOk();
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met within 20 s");
            await Task.Delay(50);
        }
    }
}
