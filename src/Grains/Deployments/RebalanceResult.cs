namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>Every deployment's assignment after a rebalance, and what that asks of each node.</summary>
public sealed class RebalanceResult(
    IReadOnlyDictionary<string, TrainedModelAssignment> assignments, IReadOnlyDictionary<string, long> memoryBytes)
{
    public IReadOnlyDictionary<string, TrainedModelAssignment> Assignments { get; } = assignments;
    public IReadOnlyDictionary<string, long> MemoryBytes { get; } = memoryBytes;

    public int TotalTargetAllocations(string deploymentId) =>
        Assignments.TryGetValue(deploymentId, out var a) ? a.RoutingTable.Values.Sum(r => r.TargetAllocations) : 0;

    /// <summary>The capacity rows of the live nodes, with the threads the plan puts on each.</summary>
    public IEnumerable<NodeCapacity> NodeCapacities(IEnumerable<MlNode> nodes) => nodes.Select(node =>
    {
        int normal = 0, low = 0;
        foreach (var assignment in Assignments.Values)
        {
            if (!assignment.RoutingTable.TryGetValue(node.Name, out var route) || route.RoutingState is RoutingState.Failed or RoutingState.Stopped) continue;
            var threads = Math.Max(route.CurrentAllocations, route.TargetAllocations) * assignment.TaskParameters.ThreadsPerAllocation;
            if (assignment.TaskParameters.Priority == Priority.Low) low += threads;
            else normal += threads;
        }
        return new NodeCapacity(node.Name, node.AllocatedProcessors, node.MemoryBytes, normal, low);
    });

    /// <summary>The current assignments with one replaced (no re-planning).</summary>
    public static RebalanceResult Only(
        IReadOnlyDictionary<string, (TrainedModelAssignment Assignment, long MemoryBytes)> current, string deploymentId, TrainedModelAssignment updated)
    {
        var assignments = current.ToDictionary(c => c.Key, c => c.Value.Assignment, StringComparer.Ordinal);
        assignments[deploymentId] = updated;
        return new RebalanceResult(assignments, current.ToDictionary(c => c.Key, c => c.Value.MemoryBytes, StringComparer.Ordinal));
    }
}
