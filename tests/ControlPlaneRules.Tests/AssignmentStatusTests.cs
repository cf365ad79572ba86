using TrainedModelsOrleans.Grains.Deployments;
using Xunit;
using static TrainedModelsOrleans.ControlPlaneRules.Tests.Assignments;

namespace TrainedModelsOrleans.ControlPlaneRules.Tests;

public class AssignmentStatusTests
{
    [Fact]
    public void Only_started_routes_with_allocations_are_routable()
    {
        var assignment = Of(routes:
        [
            ("b", Route(RoutingState.Started, 1, 1)),
            ("a", Route(RoutingState.Started, 0, 1)),
            ("c", Route(RoutingState.Starting, 1, 1)),
        ]);
        Assert.Equal(["b"], AssignmentStatus.RoutableRoutes(assignment).Select(r => r.Key));
    }

    [Theory]
    [InlineData(0, 2, AllocationState.Starting)]
    [InlineData(1, 2, AllocationState.Started)]
    [InlineData(2, 2, AllocationState.FullyAllocated)]
    [InlineData(3, 2, AllocationState.FullyAllocated)]
    [InlineData(0, 0, AllocationState.FullyAllocated)] // ES: starting only with a positive target (a deployment scaled to zero)
    public void Allocation_state_follows_es(int count, int target, AllocationState expected)
    {
        Assert.Equal(expected, new AllocationStatus(count, target).State);
    }

    [Fact]
    public void Allocation_status_counts_routable_current_allocations_and_is_absent_while_stopping()
    {
        var assignment = Of(numberOfAllocations: 4, routes:
        [
            ("a", Route(RoutingState.Started, 2, 2)),
            ("b", Route(RoutingState.Starting, 2, 2)),
        ]);
        Assert.Equal(new AllocationStatus(2, 4), AssignmentStatus.CalculateAllocationStatus(assignment));
        Assert.Null(AssignmentStatus.CalculateAllocationStatus(assignment with { AssignmentState = AssignmentState.Stopping }));
    }

    [Fact]
    public void Assignment_state_is_started_when_any_route_started_and_stopping_sticks()
    {
        var starting = Of(state: AssignmentState.Starting, routes: [("a", Route(RoutingState.Starting, 1, 1))]);
        var table = new Dictionary<string, RoutingInfo> { ["a"] = Route(RoutingState.Started, 1, 1) };
        Assert.Equal(AssignmentState.Started, AssignmentStatus.WithRoutingTable(starting, table).AssignmentState);

        var failedOnly = new Dictionary<string, RoutingInfo> { ["a"] = Route(RoutingState.Failed, 0, 1, "boom") };
        Assert.Equal(AssignmentState.Starting, AssignmentStatus.WithRoutingTable(starting, failedOnly).AssignmentState);

        var stopping = AssignmentStatus.ToStopping(starting, AssignmentStatus.StopReasonClientCall);
        Assert.Equal((AssignmentState.Stopping, "client API call"), (stopping.AssignmentState, stopping.Reason));
        Assert.Equal(AssignmentState.Stopping, AssignmentStatus.WithRoutingTable(stopping, table).AssignmentState);
    }

    [Fact]
    public void Max_assigned_allocations_remembers_the_largest_total()
    {
        var assignment = Of(numberOfAllocations: 3, routes: [("a", Route(RoutingState.Started, 3, 3))]);
        var grown = AssignmentStatus.WithRoutingTable(assignment, assignment.RoutingTable);
        Assert.Equal(3, grown.MaxAssignedAllocations);
        var shrunk = AssignmentStatus.WithRoutingTable(grown, new Dictionary<string, RoutingInfo> { ["a"] = Route(RoutingState.Started, 1, 1) });
        Assert.Equal(3, shrunk.MaxAssignedAllocations);
    }

    [Fact]
    public void Satisfied_counts_targets_of_starting_or_started_routes_on_assignable_nodes()
    {
        var assignment = Of(numberOfAllocations: 3, routes:
        [
            ("a", Route(RoutingState.Starting, 0, 2)),
            ("b", Route(RoutingState.Started, 1, 1)),
            ("c", Route(RoutingState.Failed, 0, 4)),
        ]);
        Assert.True(AssignmentStatus.IsSatisfied(assignment, ["a", "b", "c"]));
        Assert.False(AssignmentStatus.IsSatisfied(assignment, ["a", "c"]));
    }

    [Fact]
    public void Wait_for_is_reached_by_state_or_when_nothing_is_still_starting()
    {
        var partial = Of(numberOfAllocations: 4, routes:
        [
            ("a", Route(RoutingState.Started, 2, 2)),
            ("b", Route(RoutingState.Starting, 0, 2)),
        ]);
        Assert.True(AssignmentStatus.ReachedWaitFor(partial, AllocationState.Started));
        Assert.False(AssignmentStatus.ReachedWaitFor(partial, AllocationState.FullyAllocated));

        // fully_allocated returns early once no route is still starting.
        var settled = partial with { RoutingTable = new Dictionary<string, RoutingInfo> { ["a"] = Route(RoutingState.Started, 2, 2) } };
        Assert.True(AssignmentStatus.ReachedWaitFor(settled, AllocationState.FullyAllocated));

        var empty = Of(state: AssignmentState.Starting);
        Assert.True(AssignmentStatus.ReachedWaitFor(empty, AllocationState.Started));
        Assert.True(AssignmentStatus.ReachedWaitFor(partial with { AssignmentState = AssignmentState.Stopping }, AllocationState.FullyAllocated));
    }

    [Fact]
    public void Failed_routes_are_listed_by_node()
    {
        var assignment = Of(routes:
        [
            ("node-2", Route(RoutingState.Failed, 0, 1, "out of memory")),
            ("node-1", Route(RoutingState.Failed, 0, 1, "crashed")),
            ("node-3", Route(RoutingState.Started, 1, 1)),
        ]);
        Assert.Equal(["node-1", "node-2"], AssignmentStatus.FailedRoutes(assignment).Select(r => r.Key));
    }

    [Fact]
    public void Equivalent_compares_routing_tables_by_value()
    {
        var a = Of(routes: [("a", Route(RoutingState.Started, 1, 1))]);
        var b = Of(routes: [("a", Route(RoutingState.Started, 1, 1))]);
        Assert.True(AssignmentStatus.Equivalent(a, b));
        Assert.False(AssignmentStatus.Equivalent(a, Of(routes: [("a", Route(RoutingState.Started, 1, 2))])));
        Assert.False(AssignmentStatus.Equivalent(null, b));
    }
}
