using TrainedModelsOrleans.Grains.Assignment.Planning;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// Turns assignments and live nodes into planner input, and the plan back into routing tables with
/// Elasticsearch's rules (TrainedModelAssignmentRebalancer): a kept route keeps its state (a failed
/// one starts over), a new route starts, a node with no allocations left loses its route, and an
/// unsatisfied deployment carries the planner's per-node reasons.
/// </summary>
public static class Rebalancer
{
    public static RebalanceResult Rebalance(
        IReadOnlyList<MlNode> nodes, IReadOnlyDictionary<string, (TrainedModelAssignment Assignment, long MemoryBytes)> deployments)
    {
        var live = nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var planned = deployments.Where(d => d.Value.Assignment.AssignmentState != AssignmentState.Stopping).ToArray();
        var stopping = deployments.Where(d => d.Value.Assignment.AssignmentState == AssignmentState.Stopping).Select(d => d.Value).ToArray();
        var plan = AssignmentPlanner.ComputePlan(
            nodes.Select(n => LeftByStopping(n, stopping)).ToArray(),
            planned.Select(d => ToPlanner(d.Key, d.Value.Assignment, d.Value.MemoryBytes, live)).ToArray());

        var result = deployments.ToDictionary(d => d.Key, d => d.Value.Assignment, StringComparer.Ordinal);
        foreach (var (id, (assignment, _)) in planned)
        {
            var table = new SortedDictionary<string, RoutingInfo>(StringComparer.Ordinal);
            foreach (var (node, allocations) in plan.AllocationsByNodeId(id))
            {
                table[node] = assignment.RoutingTable.TryGetValue(node, out var kept) && kept.RoutingState != RoutingState.Failed
                    ? kept with { CurrentAllocations = allocations, TargetAllocations = allocations }
                    : new RoutingInfo { CurrentAllocations = allocations, TargetAllocations = allocations, RoutingState = RoutingState.Starting };
            }
            // Failed routes the planner did not keep stay visible with their reason until the node's problem is fixed.
            foreach (var (node, route) in assignment.RoutingTable)
                if (route.RoutingState == RoutingState.Failed && !table.ContainsKey(node) && live.Contains(node) && !plan.IsSatisfied(id))
                    table[node] = route with { CurrentAllocations = 0, TargetAllocations = 0 };
            var updated = AssignmentStatus.WithRoutingTable(assignment, table) with { Reason = plan.UnsatisfiedReason(id) };
            result[id] = updated;
        }
        return new RebalanceResult(result, deployments.ToDictionary(d => d.Key, d => d.Value.MemoryBytes, StringComparer.Ordinal));
    }

    /// <summary>A decrease: Elasticsearch's allocation reducer, so allocations are removed, never moved.</summary>
    public static TrainedModelAssignment Reduce(TrainedModelAssignment assignment, int numberOfAllocations)
    {
        var current = assignment.RoutingTable.Where(r => r.Value.TargetAllocations > 0)
            .ToDictionary(r => r.Key, r => r.Value.TargetAllocations, StringComparer.Ordinal);
        if (current.Values.Sum() <= numberOfAllocations) return assignment;
        var reduced = AllocationReducer.Reduce(current, numberOfAllocations);
        var table = new SortedDictionary<string, RoutingInfo>(StringComparer.Ordinal);
        foreach (var (node, allocations) in reduced)
            if (allocations > 0)
                table[node] = assignment.RoutingTable[node] with { CurrentAllocations = allocations, TargetAllocations = allocations };
        return AssignmentStatus.WithRoutingTable(assignment, table) with { Reason = null };
    }

    /// <summary>A stopping deployment still holds its cores and memory until it is removed: plan around it.</summary>
    private static PlannerNode LeftByStopping(MlNode node, IReadOnlyList<(TrainedModelAssignment Assignment, long MemoryBytes)> stopping)
    {
        int cores = node.AllocatedProcessors;
        var memory = node.MemoryBytes;
        foreach (var (assignment, memoryBytes) in stopping)
        {
            if (!assignment.RoutingTable.TryGetValue(node.Name, out var route) || route.RoutingState is RoutingState.Failed or RoutingState.Stopped) continue;
            if (assignment.TaskParameters.Priority == Priority.Normal)
                cores -= Math.Max(route.CurrentAllocations, route.TargetAllocations) * assignment.TaskParameters.ThreadsPerAllocation;
            memory -= memoryBytes;
        }
        return new PlannerNode(node.Name, Math.Max(0, memory), Math.Max(0, cores));
    }

    private static PlannerDeployment ToPlanner(string id, TrainedModelAssignment assignment, long memoryBytes, HashSet<string> live)
    {
        // ES: current allocations are the targets of routes on live nodes that are starting, started,
        // or failed yet still hold allocations.
        var current = assignment.RoutingTable
            .Where(r => live.Contains(r.Key) && r.Value.TargetAllocations > 0
                        && (r.Value.RoutingState is RoutingState.Starting or RoutingState.Started
                            || (r.Value.RoutingState == RoutingState.Failed && r.Value.CurrentAllocations > 0)))
            .ToDictionary(r => r.Key, r => r.Value.TargetAllocations, StringComparer.Ordinal);
        var parameters = assignment.TaskParameters;
        return new PlannerDeployment(id, memoryBytes, parameters.NumberOfAllocations, parameters.ThreadsPerAllocation, current,
            assignment.MaxAssignedAllocations, parameters.Priority);
    }
}
