using TrainedModelsOrleans.Grains.Deployments;

namespace TrainedModelsOrleans.Grains.Assignment.Planning;

/// <summary>
/// Decides how many allocations of each deployment run on each node (ES AssignmentPlanner with the Rebalancer's priority
/// split, one zone). Pure and deterministic: equal inputs, in any order, give equal plans.
/// </summary>
public static class AssignmentPlanner
{
    /// <summary>ES MachineLearning.MAX_LOW_PRIORITY_MODELS_PER_NODE: the cores each node offers to low-priority deployments.</summary>
    public const int MaxLowPriorityModelsPerNode = 100;

    /// <summary>
    /// Plans the normal-priority deployments on the nodes' cores and memory, then the low-priority ones on the memory left
    /// with <see cref="MaxLowPriorityModelsPerNode"/> cores per node of their own.
    /// </summary>
    /// <exception cref="ArgumentException">Duplicate ids, or a deployment with negative memory or allocations, or threads &lt; 1.</exception>
    public static AssignmentPlan ComputePlan(IReadOnlyList<PlannerNode> nodes, IReadOnlyList<PlannerDeployment> deployments)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(deployments);
        var sortedNodes = nodes.OrderBy(n => n.Id, StringComparer.Ordinal).ToArray();
        var sortedDeployments = deployments.OrderBy(d => d.Id, StringComparer.Ordinal).ToArray();
        Validate(sortedNodes, sortedDeployments);

        var nodeIndex = new Dictionary<string, int>(sortedNodes.Length, StringComparer.Ordinal);
        for (var n = 0; n < sortedNodes.Length; n++) nodeIndex[sortedNodes[n].Id] = n;

        var normal = Enumerable.Range(0, sortedDeployments.Length).Where(d => sortedDeployments[d].Priority != Priority.Low).ToArray();
        var low = Enumerable.Range(0, sortedDeployments.Length).Where(d => sortedDeployments[d].Priority == Priority.Low).ToArray();

        var normalProblem = Problem(
            sortedNodes.Select(n => n.Cores).ToArray(),
            sortedNodes.Select(n => n.AvailableMemoryBytes).ToArray(),
            normal.Select(d => sortedDeployments[d]).ToArray(),
            nodeIndex,
            keepFirst: null);
        var normalPlan = Solve(normalProblem, tryAssigningPreviouslyAllocated: true);

        // Low priority: the memory the normal plan leaves, cores of their own; existing routes are kept smallest first while they fit.
        var lowDeployments = low.Select(d => sortedDeployments[d]).ToArray();
        var lowProblem = Problem(
            Enumerable.Repeat(MaxLowPriorityModelsPerNode, sortedNodes.Length).ToArray(),
            Enumerable.Range(0, sortedNodes.Length).Select(normalPlan.FreeMemory).ToArray(),
            lowDeployments,
            nodeIndex,
            keepFirst: Enumerable.Range(0, lowDeployments.Length).OrderBy(d => lowDeployments[d].MemoryBytes).ThenBy(d => d).ToArray());
        var lowPlan = Solve(lowProblem, tryAssigningPreviouslyAllocated: true);

        var allocations = new int[sortedDeployments.Length * sortedNodes.Length];
        var lowThreads = new int[sortedNodes.Length];
        for (var i = 0; i < normal.Length; i++)
            for (var n = 0; n < sortedNodes.Length; n++)
                allocations[normal[i] * sortedNodes.Length + n] = normalPlan.Allocations(i, n);
        for (var i = 0; i < low.Length; i++)
            for (var n = 0; n < sortedNodes.Length; n++)
            {
                var a = lowPlan.Allocations(i, n);
                allocations[low[i] * sortedNodes.Length + n] = a;
                lowThreads[n] += a * lowDeployments[i].ThreadsPerAllocation;
            }

        var hadModels = sortedNodes.Select(n => n.HasAssignedModels).ToArray();
        foreach (var d in sortedDeployments)
            foreach (var (nodeId, count) in d.CurrentAllocationsByNodeId)
                if (count > 0 && nodeIndex.TryGetValue(nodeId, out var n)) hadModels[n] = true;

        return new AssignmentPlan(
            sortedNodes,
            sortedDeployments,
            allocations,
            Enumerable.Range(0, sortedNodes.Length).Select(normalPlan.FreeCores).ToArray(),
            Enumerable.Range(0, sortedNodes.Length).Select(lowPlan.FreeMemory).ToArray(),
            lowThreads,
            hadModels);
    }

    /// <summary>ES AssignmentPlanner.computePlan on one problem.</summary>
    private static PlanState Solve(PlanningProblem problem, bool tryAssigningPreviouslyAllocated)
    {
        var best = SolveKeepingCurrent(problem);
        if (!tryAssigningPreviouslyAllocated || best.PreviouslyAllocatedStillAllocated() == best.PreviouslyAllocatedWanting())
            return best;

        // Step 4c: some deployment that ran before got nothing. Give each such deployment one allocation first (bin packing
        // on empty nodes), plan again around those, and keep whichever plan leaves more of them allocated.
        var single = PlanState.Empty(problem.OneAllocationForPreviouslyAllocated());
        single.Fill();
        var seeds = new List<(int Node, int Allocations)>[problem.DeploymentCount];
        for (var d = 0; d < problem.DeploymentCount; d++)
        {
            seeds[d] = [];
            for (var n = 0; n < problem.NodeCount; n++)
                if (single.Allocations(d, n) > 0) seeds[d].Add((n, single.Allocations(d, n)));
        }
        var seeded = Solve(problem.WithCurrent(seeds), tryAssigningPreviouslyAllocated: false);
        var seededCount = seeded.PreviouslyAllocatedStillAllocated();
        return seededCount == seeded.PreviouslyAllocatedWanting() || seededCount > best.PreviouslyAllocatedStillAllocated()
            ? seeded
            : best;
    }

    /// <summary>
    /// ES solveSatisfyingCurrentAssignments: preserve one allocation per current node, or all of them. Unlike ES, keeping
    /// all is checked first and wins whenever it satisfies every deployment, so that nothing moves when nothing has to.
    /// </summary>
    private static PlanState SolveKeepingCurrent(PlanningProblem problem)
    {
        var keepingAll = PlanState.KeepingAll(problem);
        keepingAll.Fill();
        if (keepingAll.SatisfiesAll()) return keepingAll;

        var keepingOne = PlanState.KeepingOne(problem);
        keepingOne.Fill();
        if (!keepingOne.SatisfiesCurrent()) return keepingAll;
        if (keepingOne.SatisfiesAll()) return keepingOne;
        return PlanState.Compare(keepingAll, keepingOne) >= 0 ? keepingAll : keepingOne;
    }

    private static PlanningProblem Problem(
        int[] cores, long[] memory, PlannerDeployment[] deployments, Dictionary<string, int> nodeIndex, int[]? keepFirst)
    {
        var current = new List<(int Node, int Allocations)>[deployments.Length];
        for (var d = 0; d < deployments.Length; d++)
        {
            current[d] = deployments[d].CurrentAllocationsByNodeId
                .Where(e => e.Value > 0 && nodeIndex.ContainsKey(e.Key))
                .Select(e => (Node: nodeIndex[e.Key], Allocations: e.Value))
                .OrderBy(r => r.Node)
                .ToList();
        }
        return new PlanningProblem(
            cores,
            memory,
            deployments.Select(d => d.MemoryBytes).ToArray(),
            deployments.Select(d => d.ThreadsPerAllocation).ToArray(),
            deployments.Select(d => d.Allocations).ToArray(),
            deployments.Select(d => d.WasAllocatedBefore).ToArray(),
            current,
            keepFirst ?? Enumerable.Range(0, deployments.Length).ToArray());
    }

    private static void Validate(PlannerNode[] nodes, PlannerDeployment[] deployments)
    {
        for (var i = 1; i < nodes.Length; i++)
            if (nodes[i].Id == nodes[i - 1].Id)
                throw new ArgumentException($"there should be no duplicate nodes [{nodes[i].Id}]", nameof(nodes));
        for (var i = 0; i < deployments.Length; i++)
        {
            var d = deployments[i];
            if (i > 0 && d.Id == deployments[i - 1].Id)
                throw new ArgumentException($"there should be no duplicate deployments [{d.Id}]", nameof(deployments));
            if (d.ThreadsPerAllocation < 1 || d.Allocations < 0 || d.MemoryBytes < 0)
                throw new ArgumentException(
                    $"deployment [{d.Id}] needs threads per allocation ≥ 1, allocations ≥ 0 and memory ≥ 0", nameof(deployments));
            ArgumentNullException.ThrowIfNull(d.CurrentAllocationsByNodeId, nameof(deployments));
        }
    }
}
