namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// ES's AllocationStatus: routable allocations against the requested count. The state is
/// <c>starting</c> with none of a positive target, <c>started</c> below the target, else <c>fully_allocated</c>
/// (a deployment scaled to zero is fully allocated).
/// </summary>
public sealed record AllocationStatus(int AllocationCount, int TargetAllocationCount)
{
    public AllocationState State =>
        AllocationCount == 0 && TargetAllocationCount > 0 ? AllocationState.Starting
        : AllocationCount < TargetAllocationCount ? AllocationState.Started
        : AllocationState.FullyAllocated;
}

/// <summary>
/// ES's semantics over a <see cref="TrainedModelAssignment"/> (CORE/inference/assignment/TrainedModelAssignment.java,
/// RoutingInfo.java, AllocationStatus.java; the start wait of TransportStartTrainedModelDeploymentAction).
/// Pure functions: each returns a new assignment or a fact about one.
/// </summary>
public static class AssignmentStatus
{
    /// <summary>RoutingInfo.isRoutable: started with allocations.</summary>
    public static bool IsRoutable(RoutingInfo route) => route.RoutingState == RoutingState.Started && route.CurrentAllocations > 0;

    /// <summary>RoutingInfo.isOutdated: nothing current and nothing targeted.</summary>
    public static bool IsOutdated(RoutingInfo route) => route.CurrentAllocations == 0 && route.TargetAllocations == 0;

    /// <summary>The routes inference may use, sorted by node.</summary>
    public static IReadOnlyList<KeyValuePair<string, RoutingInfo>> RoutableRoutes(TrainedModelAssignment assignment) =>
        SortedRoutes(assignment).Where(r => IsRoutable(r.Value)).ToList();

    public static IEnumerable<KeyValuePair<string, RoutingInfo>> SortedRoutes(TrainedModelAssignment assignment) =>
        assignment.RoutingTable.OrderBy(r => r.Key, StringComparer.Ordinal);

    public static int TotalCurrentAllocations(TrainedModelAssignment assignment) =>
        assignment.RoutingTable.Values.Sum(r => r.CurrentAllocations);

    public static int TotalTargetAllocations(TrainedModelAssignment assignment) =>
        assignment.RoutingTable.Values.Sum(r => r.TargetAllocations);

    /// <summary>calculateAllocationStatus: none while stopping.</summary>
    public static AllocationStatus? CalculateAllocationStatus(TrainedModelAssignment assignment) =>
        assignment.AssignmentState == AssignmentState.Stopping
            ? null
            : new AllocationStatus(
                assignment.RoutingTable.Values.Where(IsRoutable).Sum(r => r.CurrentAllocations),
                assignment.TaskParameters.NumberOfAllocations);

    /// <summary>
    /// Builder.calculateAssignmentState: once stopping it stays stopping; otherwise started when any
    /// route is started or when adaptive allocations scaled it to zero, else starting. (<c>failed</c> is only ever
    /// computed for stats.)
    /// </summary>
    public static AssignmentState CalculateAssignmentState(TrainedModelAssignment assignment) =>
        assignment.AssignmentState == AssignmentState.Stopping ? AssignmentState.Stopping
        : assignment.RoutingTable.Values.Any(r => r.RoutingState == RoutingState.Started) ? AssignmentState.Started
        // Scaled to zero by adaptive allocations: still started, so that an update (a request waking it) may scale it up.
        : assignment.TaskParameters.NumberOfAllocations == 0 ? AssignmentState.Started
        : AssignmentState.Starting;

    /// <summary>
    /// The assignment with a new routing table, its state recalculated and max_assigned_allocations
    /// raised to the current total if that is higher (the TrainedModelAssignment constructor's rule).
    /// </summary>
    public static TrainedModelAssignment WithRoutingTable(TrainedModelAssignment assignment, IReadOnlyDictionary<string, RoutingInfo> table)
    {
        var updated = assignment with { RoutingTable = new Dictionary<string, RoutingInfo>(table, StringComparer.Ordinal) };
        return WithMaxAssignedAllocations(updated with { AssignmentState = CalculateAssignmentState(updated) });
    }

    /// <summary>max_assigned_allocations = max(recorded, current total): the largest total ever allocated.</summary>
    public static TrainedModelAssignment WithMaxAssignedAllocations(TrainedModelAssignment assignment)
    {
        var current = TotalCurrentAllocations(assignment);
        return current > assignment.MaxAssignedAllocations ? assignment with { MaxAssignedAllocations = current } : assignment;
    }

    /// <summary>Builder.stopAssignment: state stopping with the reason; routes untouched; no-op when already stopping.</summary>
    public static TrainedModelAssignment ToStopping(TrainedModelAssignment assignment, string reason) =>
        assignment.AssignmentState == AssignmentState.Stopping
            ? assignment
            : assignment with { AssignmentState = AssignmentState.Stopping, Reason = reason };

    /// <summary>ES's stop reason for the stop API.</summary>
    public const string StopReasonClientCall = "client API call";

    /// <summary>
    /// isSatisfied: the targets of starting or started routes on assignable nodes cover the requested allocations.
    /// </summary>
    public static bool IsSatisfied(TrainedModelAssignment assignment, IReadOnlyCollection<string> assignableNodes) =>
        assignment.RoutingTable
            .Where(r => assignableNodes.Contains(r.Key) && r.Value.RoutingState is RoutingState.Starting or RoutingState.Started)
            .Sum(r => r.Value.TargetAllocations) >= assignment.TaskParameters.NumberOfAllocations;

    /// <summary>The failed routes, sorted by node, with their reasons.</summary>
    public static IReadOnlyList<KeyValuePair<string, string?>> FailedRoutes(TrainedModelAssignment assignment) =>
        SortedRoutes(assignment)
            .Where(r => r.Value.RoutingState == RoutingState.Failed)
            .Select(r => KeyValuePair.Create(r.Key, r.Value.Reason))
            .ToList();

    /// <summary>
    /// The start wait's success rule (DeploymentStartedPredicate, failures aside): the allocation state has
    /// reached <paramref name="waitFor"/> (starting &lt; started &lt; fully_allocated), or the assignment is stopping,
    /// or no route is still starting — so <c>fully_allocated</c> can return early while only partly allocated.
    /// </summary>
    public static bool ReachedWaitFor(TrainedModelAssignment assignment, AllocationState waitFor)
    {
        var status = CalculateAllocationStatus(assignment);
        if (status is null || status.State >= waitFor) return true;
        return !assignment.RoutingTable.Values.Any(r => r.RoutingState == RoutingState.Starting);
    }

    /// <summary>True when both describe the same assignment (records holding dictionaries do not compare by value).</summary>
    public static bool Equivalent(TrainedModelAssignment? a, TrainedModelAssignment? b)
    {
        if (ReferenceEquals(a, b)) return true;
        if (a is null || b is null) return false;
        if (a.TaskParameters != b.TaskParameters || a.AssignmentState != b.AssignmentState || a.Reason != b.Reason
            || a.StartTime != b.StartTime || a.MaxAssignedAllocations != b.MaxAssignedAllocations
            || a.AdaptiveAllocations != b.AdaptiveAllocations
            || a.RoutingTable.Count != b.RoutingTable.Count)
            return false;
        foreach (var (node, route) in a.RoutingTable)
            if (!b.RoutingTable.TryGetValue(node, out var other) || other != route) return false;
        return true;
    }
}
