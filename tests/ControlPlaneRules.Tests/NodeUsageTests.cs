using TrainedModelsOrleans.Grains.Deployments;
using Xunit;
using static TrainedModelsOrleans.ControlPlaneRules.Tests.Assignments;

namespace TrainedModelsOrleans.ControlPlaneRules.Tests;

public sealed class NodeUsageTests
{
    private static readonly NodeOffer NodeA = new("node-a", 4, 16L << 30);
    private static readonly NodeOffer NodeB = new("node-b", 2, 8L << 30);

    // ES's estimate for the test assignments (1630-byte model, a 10kb cache): 240 MB + 2 × model + cache beyond the model.
    private static readonly long OneCopy = MemoryEstimate.Of(Of().TaskParameters, 10 * 1024);

    [Fact]
    public void Threads_of_routes_count_on_their_node_with_the_larger_of_current_and_target()
    {
        var growing = Of(numberOfAllocations: 3, deploymentId: "grow", routes: [("node-a", Route(RoutingState.Starting, 1, 3))]);
        var spread = Of(numberOfAllocations: 2, deploymentId: "spread",
            routes: [("node-a", Route(RoutingState.Started, 1, 1)), ("node-b", Route(RoutingState.Started, 1, 1))]);

        var usage = NodeUsage.Of([NodeB, NodeA], [spread, growing]);

        Assert.Equal(["node-a", "node-b"], usage.Select(u => u.Node));
        Assert.Equal(4, usage[0].UsedProcessors);
        Assert.Equal(1, usage[1].UsedProcessors);
        Assert.Equal((4, 16L << 30), (usage[0].AllocatedProcessors, usage[0].MemoryBytes));
        Assert.Equal(["grow", "spread"], usage[0].Routes.Select(r => r.DeploymentId));
        Assert.Equal(3, usage[0].Routes[0].Allocations);
        Assert.Equal(2 * OneCopy, usage[0].UsedMemoryBytes);
        Assert.Equal(OneCopy, usage[1].UsedMemoryBytes);
    }

    [Fact]
    public void Failed_and_stopped_routes_are_listed_but_hold_nothing()
    {
        var failed = Of(deploymentId: "failed", routes: [("node-a", Route(RoutingState.Failed, 1, 1, "could not load"))]);
        var stopped = Of(deploymentId: "stopped", routes: [("node-a", Route(RoutingState.Stopped, 1, 1))]);

        var node = Assert.Single(NodeUsage.Of([NodeA], [failed, stopped]));

        Assert.Equal((0, 0L), (node.UsedProcessors, node.UsedMemoryBytes));
        Assert.Equal([RoutingState.Failed, RoutingState.Stopped], node.Routes.Select(r => r.State));
    }

    [Fact]
    public void Low_priority_threads_are_counted_apart_from_the_processors()
    {
        var low = Of(deploymentId: "low", priority: Priority.Low, routes: [("node-a", Route(RoutingState.Started, 1, 1))]);

        var node = Assert.Single(NodeUsage.Of([NodeA], [low]));

        Assert.Equal((0, 1), (node.UsedProcessors, node.LowPriorityThreads));
        Assert.Equal(OneCopy, node.UsedMemoryBytes);
    }

    [Fact]
    public void Routes_on_nodes_that_are_not_live_are_left_out()
    {
        var elsewhere = Of(deploymentId: "gone", routes: [("node-gone", Route(RoutingState.Started, 2, 2))]);

        var node = Assert.Single(NodeUsage.Of([NodeA], [elsewhere]));

        Assert.Empty(node.Routes);
        Assert.Equal(0, node.UsedProcessors);
    }
}
