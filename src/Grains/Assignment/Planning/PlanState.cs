namespace TrainedModelsOrleans.Grains.Assignment.Planning;

/// <summary>
/// A plan being built for one <see cref="PlanningProblem"/> (ES AssignmentPlan.Builder): allocations per (deployment,
/// node) and what is left. It only ever adds allocations that fit: threads within the node's free cores, and the
/// deployment's memory charged once, the first time it lands on a node.
/// </summary>
internal sealed class PlanState
{
    private readonly int[] _allocations;
    private readonly int[] _freeCores;
    private readonly long[] _freeMemory;
    private readonly int[] _missing;
    private readonly int _nodes;

    private PlanState(PlanningProblem problem)
    {
        Problem = problem;
        _nodes = problem.NodeCount;
        _allocations = new int[problem.DeploymentCount * problem.NodeCount];
        _freeCores = (int[])problem.Cores.Clone();
        _freeMemory = (long[])problem.Memory.Clone();
        _missing = (int[])problem.Requested.Clone();
    }

    public PlanningProblem Problem { get; }

    public static PlanState Empty(PlanningProblem problem) => new(problem);

    /// <summary>ES PreserveAllAllocations: every current allocation stays where it is.</summary>
    public static PlanState KeepingAll(PlanningProblem problem)
    {
        var state = new PlanState(problem);
        for (var d = 0; d < problem.DeploymentCount; d++)
            foreach (var (node, allocations) in problem.CurrentNodes[d])
                state.Assign(d, node, allocations);
        return state;
    }

    /// <summary>ES PreserveOneAllocation: one allocation stays on each node a deployment runs on; the rest may move.</summary>
    public static PlanState KeepingOne(PlanningProblem problem)
    {
        var state = new PlanState(problem);
        for (var d = 0; d < problem.DeploymentCount; d++)
            foreach (var (node, _) in problem.CurrentNodes[d])
                state.Assign(d, node, 1);
        return state;
    }

    public int Allocations(int deployment, int node) => _allocations[deployment * _nodes + node];

    public int FreeCores(int node) => _freeCores[node];

    public long FreeMemory(int node) => _freeMemory[node];

    public int Missing(int deployment) => _missing[deployment];

    public int Total(int deployment) => Problem.Requested[deployment] - _missing[deployment];

    /// <summary>
    /// ES's greedy bin packing (LinearProgrammingPlanSolver.calculateWeightsAndBinPackingPlan), largest deployment first:
    /// each deployment repeatedly takes the best node that can hold min(free cores / threads, missing) more allocations,
    /// until it is satisfied or no node can take one more. Resources only shrink afterwards, so when it ends no node has room
    /// for one more allocation of any unsatisfied deployment.
    /// </summary>
    public void Fill()
    {
        foreach (var d in Problem.FillOrder)
        {
            var threads = Problem.Threads[d];
            var memory = Problem.DeploymentMemory[d];
            var row = d * _nodes;
            while (_missing[d] > 0)
            {
                var best = -1;
                var bestAllocations = 0;
                (int, int, long, long) bestKey = default;
                long missingThreads = (long)_missing[d] * threads;
                for (var n = 0; n < _nodes; n++)
                {
                    var allocations = Math.Min(_freeCores[n] / threads, _missing[d]);
                    if (allocations <= 0) continue;
                    var runsThere = _allocations[row + n] > 0;
                    if (!runsThere && memory > _freeMemory[n]) continue;
                    // ES's node order: where it already runs; where all its missing threads fit; the tightest fit; more memory.
                    var key = (runsThere ? 0 : 1, _freeCores[n] >= missingThreads ? 0 : 1, Math.Abs(_freeCores[n] - missingThreads), -_freeMemory[n]);
                    if (best < 0 || key.CompareTo(bestKey) < 0)
                        (best, bestKey, bestAllocations) = (n, key, allocations);
                }
                if (best < 0) break;
                Assign(d, best, bestAllocations);
            }
        }
    }

    public bool SatisfiesAll()
    {
        foreach (var missing in _missing)
            if (missing > 0) return false;
        return true;
    }

    /// <summary>ES satisfiesCurrentAssignments: no deployment has fewer allocations in total than it has now.</summary>
    public bool SatisfiesCurrent()
    {
        for (var d = 0; d < Problem.DeploymentCount; d++)
            if (Total(d) < Problem.CurrentTotal[d]) return false;
        return true;
    }

    /// <summary>ES countPreviouslyAssignedModelsThatAreStillAssigned (deployments that want allocations).</summary>
    public int PreviouslyAllocatedStillAllocated()
    {
        var count = 0;
        for (var d = 0; d < Problem.DeploymentCount; d++)
            if (Problem.WasAllocatedBefore[d] && Problem.Requested[d] > 0 && Total(d) > 0) count++;
        return count;
    }

    public int PreviouslyAllocatedWanting()
    {
        var count = 0;
        for (var d = 0; d < Problem.DeploymentCount; d++)
            if (Problem.WasAllocatedBefore[d] && Problem.Requested[d] > 0) count++;
        return count;
    }

    /// <summary>
    /// ES AssignmentPlan.computeQuality, compared in order: keeps every current allocation; Σ allocations weighted 1.1 on
    /// nodes the deployment runs on now (here ×10 to stay in integers); less memory.
    /// </summary>
    public (bool KeepsCurrent, long WeightedAllocations, long NegatedMemory) Quality()
    {
        long weighted = 0, memory = 0;
        for (var d = 0; d < Problem.DeploymentCount; d++)
        {
            var row = d * _nodes;
            for (var n = 0; n < _nodes; n++)
            {
                var allocations = _allocations[row + n];
                if (allocations == 0) continue;
                weighted += allocations * (Problem.Current[row + n] > 0 ? 11L : 10L);
                memory += Problem.DeploymentMemory[d];
            }
        }
        return (SatisfiesCurrent(), weighted, -memory);
    }

    public static int Compare(PlanState a, PlanState b)
    {
        var (qa, qb) = (a.Quality(), b.Quality());
        return qa.KeepsCurrent != qb.KeepsCurrent ? qa.KeepsCurrent.CompareTo(qb.KeepsCurrent)
            : qa.WeightedAllocations != qb.WeightedAllocations ? qa.WeightedAllocations.CompareTo(qb.WeightedAllocations)
            : qa.NegatedMemory.CompareTo(qb.NegatedMemory);
    }

    private void Assign(int deployment, int node, int allocations)
    {
        var index = deployment * _nodes + node;
        if (_allocations[index] == 0) _freeMemory[node] -= Problem.DeploymentMemory[deployment];
        _allocations[index] += allocations;
        _freeCores[node] -= allocations * Problem.Threads[deployment];
        _missing[deployment] -= allocations;
    }
}
