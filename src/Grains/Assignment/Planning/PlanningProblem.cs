namespace TrainedModelsOrleans.Grains.Assignment.Planning;

/// <summary>
/// One priority class's planning input on arrays: nodes and deployments by position in ordinal-id order, current
/// allocations made valid (known nodes, at most requested, fitting each node's cores and memory) so that every later
/// step can keep them as they are.
/// </summary>
internal sealed class PlanningProblem
{
    /// <param name="current">Per deployment: (node position, allocations &gt; 0), in node order.</param>
    /// <param name="keepOrder">Which deployments' current allocations claim a node's capacity first when not all fit.</param>
    public PlanningProblem(
        int[] cores, long[] memory, long[] deploymentMemory, int[] threads, int[] requested, bool[] wasAllocatedBefore,
        List<(int Node, int Allocations)>[] current, int[] keepOrder)
    {
        NodeCount = cores.Length;
        DeploymentCount = requested.Length;
        Cores = cores;
        Memory = memory;
        DeploymentMemory = deploymentMemory;
        Threads = threads;
        WasAllocatedBefore = wasAllocatedBefore;
        Requested = requested;
        (Current, CurrentNodes, CurrentTotal) = MakeValid(current, keepOrder);
        FillOrder = OrderForFilling();
    }

    public int NodeCount { get; }
    public int DeploymentCount { get; }
    public int[] Cores { get; }
    public long[] Memory { get; }
    public long[] DeploymentMemory { get; }
    public int[] Threads { get; }
    public int[] Requested { get; }
    public bool[] WasAllocatedBefore { get; }

    /// <summary>Valid current allocations, dense: [deployment × NodeCount + node].</summary>
    public int[] Current { get; }

    /// <summary>The same, per deployment: (node, allocations) in node order.</summary>
    public (int Node, int Allocations)[][] CurrentNodes { get; }

    public int[] CurrentTotal { get; }

    /// <summary>
    /// ES's bin-packing order: largest first by memory × threads, doubled for deployments that already run
    /// (LinearProgrammingPlanSolver.descendingSizeAnyFitsModelOrder); ties in id order.
    /// </summary>
    public int[] FillOrder { get; }

    /// <summary>The same problem with other current allocations (ES step 4c's single allocations).</summary>
    public PlanningProblem WithCurrent(List<(int Node, int Allocations)>[] current) =>
        new(Cores, Memory, DeploymentMemory, Threads, Requested, WasAllocatedBefore, current, IdOrder());

    /// <summary>One allocation for each deployment that was allocated before, none kept (ES step 4c's bin packing).</summary>
    public PlanningProblem OneAllocationForPreviouslyAllocated()
    {
        var requested = new int[DeploymentCount];
        for (var d = 0; d < DeploymentCount; d++)
            requested[d] = WasAllocatedBefore[d] && Requested[d] > 0 ? 1 : 0;
        var none = Enumerable.Range(0, DeploymentCount).Select(_ => new List<(int, int)>()).ToArray();
        return new PlanningProblem(Cores, Memory, DeploymentMemory, Threads, requested, WasAllocatedBefore, none, IdOrder());
    }

    private int[] IdOrder() => Enumerable.Range(0, DeploymentCount).ToArray();

    private (int[] Dense, (int Node, int Allocations)[][] Sparse, int[] Totals) MakeValid(
        List<(int Node, int Allocations)>[] current, int[] keepOrder)
    {
        var dense = new int[DeploymentCount * NodeCount];
        var sparse = new (int Node, int Allocations)[DeploymentCount][];
        var totals = new int[DeploymentCount];
        var freeCores = (int[])Cores.Clone();
        var freeMemory = (long[])Memory.Clone();
        var kept = new List<(int Node, int Allocations)>();

        foreach (var d in keepOrder)
        {
            var routes = current[d].Where(r => r.Allocations > 0).ToList();
            // More than requested (a decrease not yet applied): drop the surplus the way a decrease would.
            if (routes.Sum(r => (long)r.Allocations) > Requested[d])
                AllocationReducer.ReduceInPlace(routes, Requested[d]);

            kept.Clear();
            foreach (var (node, allocations) in routes)
            {
                var fitting = Math.Min(allocations, Math.Max(0, freeCores[node]) / Threads[d]);
                if (fitting <= 0 || DeploymentMemory[d] > freeMemory[node]) continue;
                freeCores[node] -= fitting * Threads[d];
                freeMemory[node] -= DeploymentMemory[d];
                dense[d * NodeCount + node] = fitting;
                totals[d] += fitting;
                kept.Add((node, fitting));
            }
            sparse[d] = kept.ToArray();
        }
        for (var d = 0; d < DeploymentCount; d++) sparse[d] ??= [];
        return (dense, sparse, totals);
    }

    private int[] OrderForFilling()
    {
        var size = new Int128[DeploymentCount];
        for (var d = 0; d < DeploymentCount; d++)
            size[d] = (Int128)(CurrentTotal[d] > 0 ? 2 : 1) * DeploymentMemory[d] * Threads[d];
        var order = Enumerable.Range(0, DeploymentCount).ToArray();
        Array.Sort(order, (a, b) => size[a] != size[b] ? size[b].CompareTo(size[a]) : a.CompareTo(b));
        return order;
    }
}
