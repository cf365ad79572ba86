namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>Every deployment's assignment after a rebalance, and what that asks of each node.</summary>
public sealed class RebalanceResult(
    IReadOnlyDictionary<string, TrainedModelAssignment> assignments, IReadOnlyDictionary<string, long> memoryBytes)
{
    public IReadOnlyDictionary<string, TrainedModelAssignment> Assignments { get; } = assignments;
    public IReadOnlyDictionary<string, long> MemoryBytes { get; } = memoryBytes;

    public int TotalTargetAllocations(string deploymentId) =>
        Assignments.TryGetValue(deploymentId, out var a) ? a.RoutingTable.Values.Sum(r => r.TargetAllocations) : 0;

    /// <summary>What the plan holds on one node: each deployment's threads per allocation and allocations there.</summary>
    public IReadOnlyDictionary<string, NodeReservation> ReservationsOn(string node)
    {
        var reservations = new Dictionary<string, NodeReservation>(StringComparer.Ordinal);
        foreach (var (id, assignment) in Assignments)
        {
            if (!assignment.RoutingTable.TryGetValue(node, out var route) || route.RoutingState is RoutingState.Failed or RoutingState.Stopped) continue;
            var allocations = Math.Max(route.CurrentAllocations, route.TargetAllocations);
            if (allocations > 0)
                reservations[id] = new NodeReservation(assignment.TaskParameters.ThreadsPerAllocation, allocations, assignment.TaskParameters.Priority);
        }
        return reservations;
    }

    /// <summary>The current assignments with one replaced (no re-planning).</summary>
    public static RebalanceResult Only(
        IReadOnlyDictionary<string, (TrainedModelAssignment Assignment, long MemoryBytes)> current, string deploymentId, TrainedModelAssignment updated)
    {
        var assignments = current.ToDictionary(c => c.Key, c => c.Value.Assignment, StringComparer.Ordinal);
        assignments[deploymentId] = updated;
        return new RebalanceResult(assignments, current.ToDictionary(c => c.Key, c => c.Value.MemoryBytes, StringComparer.Ordinal));
    }
}
