using TrainedModelsOrleans.Grains.Deployments;

namespace TrainedModelsOrleans.Grains.Assignment.Planning;

/// <summary>
/// A deployment as the planner sees it (ES AssignmentPlan.Deployment).
/// </summary>
/// <param name="Id">The deployment id; the planner works in ordinal id order so that equal inputs give equal plans.</param>
/// <param name="MemoryBytes">
/// Memory the deployment needs on every node it runs on, whatever its allocation count there
/// (the caller's estimate: 240 MB + 2 × model bytes).
/// </param>
/// <param name="Allocations">Requested allocations (<c>number_of_allocations</c>); the plan never gives more.</param>
/// <param name="ThreadsPerAllocation">Threads of one allocation; an allocation never spans nodes.</param>
/// <param name="CurrentAllocationsByNodeId">
/// Allocations it has now, per node (ES: the target of starting / started / failed routes with current and target &gt; 0 on
/// eligible nodes). Entries for unknown nodes, and allocations that no longer fit, are ignored.
/// </param>
/// <param name="MaxAssignedAllocations">The largest total it ever had; &gt; 0 means "was allocated before".</param>
/// <param name="Priority">Low-priority deployments are planned after the normal ones, on the memory left, and use no cores.</param>
public sealed record PlannerDeployment(
    string Id,
    long MemoryBytes,
    int Allocations,
    int ThreadsPerAllocation,
    IReadOnlyDictionary<string, int> CurrentAllocationsByNodeId,
    int MaxAssignedAllocations = 0,
    Priority Priority = Priority.Normal)
{
    /// <summary>Σ of the current allocations as given.</summary>
    public int CurrentAllocations => CurrentAllocationsByNodeId.Values.Where(v => v > 0).Sum();

    /// <summary>ES hasEverBeenAllocated; a deployment that has current allocations counts too.</summary>
    public bool WasAllocatedBefore => MaxAssignedAllocations > 0 || CurrentAllocationsByNodeId.Values.Any(v => v > 0);
}
