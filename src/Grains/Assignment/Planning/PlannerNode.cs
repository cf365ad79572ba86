namespace TrainedModelsOrleans.Grains.Assignment.Planning;

/// <summary>
/// An ML node as the planner sees it (ES AssignmentPlan.Node).
/// </summary>
/// <param name="Id">The node id; plans and reasons order nodes by it (ordinal).</param>
/// <param name="AvailableMemoryBytes">
/// Memory available for deployments on the node, with the memory of the deployments that run there now added back
/// (ES: free ML memory excluding the per-node overhead, minus native inference memory in use, plus current assignments).
/// </param>
/// <param name="Cores">The node's allocated processors (rounded up); the threads of normal-priority allocations never exceed it.</param>
public sealed record PlannerNode(string Id, long AvailableMemoryBytes, int Cores)
{
    /// <summary>
    /// "Available memory for ML" in the insufficient-memory reason (ES NodeLoad.maxMlMemory); defaults to
    /// <see cref="AvailableMemoryBytes"/>.
    /// </summary>
    public long? MaxMlMemoryBytes { get; init; }

    /// <summary>
    /// The node already runs a native process (ES NodeLoad.numAssignedJobsAndModels &gt; 0), so the 30 MB of native code
    /// is paid for. The planner also assumes it when any deployment has current allocations on the node.
    /// </summary>
    public bool HasAssignedModels { get; init; }
}
