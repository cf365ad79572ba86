namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// One live ML node as the operator sees it: what it offers and what the committed plan holds on it. Computed from the
/// same sources <c>_stats</c> reads (the live nodes' offers and the coordinator's assignments), never stored.
/// </summary>
public sealed record NodeUsage(
    string Node,
    int AllocatedProcessors,
    long MemoryBytes,
    int UsedProcessors,
    int LowPriorityThreads,
    long UsedMemoryBytes,
    IReadOnlyList<NodeUsage.Route> Routes)
{
    /// <summary>One deployment's route on the node.</summary>
    public sealed record Route(string DeploymentId, string ModelId, int Allocations, int ThreadsPerAllocation, Priority Priority, RoutingState State);

    /// <summary>
    /// Each live node with the threads and memory its routes hold. A route counts while it is not failed or stopped,
    /// with the larger of its current and target allocations (as invariant 1 counts it: a route growing already holds
    /// its target). Normal-priority threads use the node's processors; low-priority ones run on cores of their own
    /// (the planner's 100 per node), so they are counted apart. Memory is ES's estimate of one copy per deployment.
    /// </summary>
    public static IReadOnlyList<NodeUsage> Of(IReadOnlyList<NodeOffer> liveNodes, IReadOnlyList<TrainedModelAssignment> assignments)
    {
        var usage = new List<NodeUsage>(liveNodes.Count);
        foreach (var node in liveNodes.OrderBy(n => n.Node, StringComparer.Ordinal))
        {
            var routes = new List<Route>();
            int normalThreads = 0, lowThreads = 0;
            long memory = 0;
            foreach (var assignment in assignments.OrderBy(a => a.TaskParameters.DeploymentId, StringComparer.Ordinal))
            {
                if (!assignment.RoutingTable.TryGetValue(node.Node, out var info)) continue;
                var parameters = assignment.TaskParameters;
                var allocations = Math.Max(info.CurrentAllocations, info.TargetAllocations);
                routes.Add(new Route(parameters.DeploymentId, parameters.ModelId, allocations, parameters.ThreadsPerAllocation,
                    parameters.Priority, info.RoutingState));
                if (info.RoutingState is RoutingState.Failed or RoutingState.Stopped) continue;
                var threads = allocations * parameters.ThreadsPerAllocation;
                if (parameters.Priority == Priority.Low) lowThreads += threads;
                else normalThreads += threads;
                memory += MemoryEstimate.Of(parameters, CacheBytes(parameters.CacheSize));
            }
            usage.Add(new NodeUsage(node.Node, node.Processors, node.MemoryBytes, normalThreads, lowThreads, memory, routes));
        }
        return usage;
    }

    /// <summary>The cache size as stored (validated at start, so it parses); null when unset.</summary>
    private static long? CacheBytes(string? cacheSize) => cacheSize is null ? null : ByteSize.Parse(cacheSize, "cache_size").Bytes;
}
