using TrainedModelsOrleans.Grains.Deployments;

namespace TrainedModelsOrleans.Grains.Assignment.Planning;

/// <summary>
/// The planner's result (ES AssignmentPlan): allocations per deployment and node, what each node has left, and why an
/// unsatisfied deployment could not get more. Immutable.
/// </summary>
public sealed class AssignmentPlan
{
    private readonly int[] _allocations;
    private readonly int[] _freeCores;
    private readonly long[] _freeMemory;
    private readonly int[] _lowPriorityThreads;
    private readonly bool[] _nodeHadModels;
    private readonly Dictionary<string, int> _nodeIndex;
    private readonly Dictionary<string, int> _deploymentIndex;
    private readonly IReadOnlyDictionary<string, int>?[] _routes;

    internal AssignmentPlan(
        PlannerNode[] nodes, PlannerDeployment[] deployments, int[] allocations, int[] freeCores, long[] freeMemory,
        int[] lowPriorityThreads, bool[] nodeHadModels)
    {
        Nodes = nodes;
        Deployments = deployments;
        _allocations = allocations;
        _freeCores = freeCores;
        _freeMemory = freeMemory;
        _lowPriorityThreads = lowPriorityThreads;
        _nodeHadModels = nodeHadModels;
        _nodeIndex = Enumerable.Range(0, nodes.Length).ToDictionary(n => nodes[n].Id, StringComparer.Ordinal);
        _deploymentIndex = Enumerable.Range(0, deployments.Length).ToDictionary(d => deployments[d].Id, StringComparer.Ordinal);
        _routes = new IReadOnlyDictionary<string, int>?[deployments.Length];
    }

    /// <summary>The nodes planned on, in ordinal id order.</summary>
    public IReadOnlyList<PlannerNode> Nodes { get; }

    /// <summary>The deployments planned, in ordinal id order.</summary>
    public IReadOnlyList<PlannerDeployment> Deployments { get; }

    /// <summary>The deployment's allocations per node (only nodes with at least one), in node id order.</summary>
    /// <exception cref="KeyNotFoundException">Not a deployment of this plan.</exception>
    public IReadOnlyDictionary<string, int> AllocationsByNodeId(string deploymentId)
    {
        var d = DeploymentIndex(deploymentId);
        if (_routes[d] is { } cached) return cached;
        var routes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (var n = 0; n < Nodes.Count; n++)
            if (Allocations(d, n) is > 0 and var a) routes[Nodes[n].Id] = a;
        return _routes[d] = routes.AsReadOnly();
    }

    /// <summary>Allocations of the deployment on the node; 0 when it has none there or the node is unknown.</summary>
    public int AllocationsOn(string deploymentId, string nodeId) =>
        _nodeIndex.TryGetValue(nodeId, out var n) ? Allocations(DeploymentIndex(deploymentId), n) : 0;

    public int TotalAllocations(string deploymentId)
    {
        var d = DeploymentIndex(deploymentId);
        var total = 0;
        for (var n = 0; n < Nodes.Count; n++) total += Allocations(d, n);
        return total;
    }

    /// <summary>The deployment has all the allocations it requested.</summary>
    public bool IsSatisfied(string deploymentId) =>
        TotalAllocations(deploymentId) >= Deployments[DeploymentIndex(deploymentId)].Allocations;

    public bool IsSatisfyingAll => Deployments.All(d => IsSatisfied(d.Id));

    /// <summary>Cores not used by normal-priority allocations (ES getRemainingNodeCores); 0 for an unknown node.</summary>
    public int RemainingCores(string nodeId) => _nodeIndex.TryGetValue(nodeId, out var n) ? _freeCores[n] : 0;

    /// <summary>Memory not used by any deployment placed on the node (ES getRemainingNodeMemory); 0 for an unknown node.</summary>
    public long RemainingMemoryBytes(string nodeId) => _nodeIndex.TryGetValue(nodeId, out var n) ? _freeMemory[n] : 0;

    /// <summary>Threads of low-priority allocations on the node; they are not counted against its cores.</summary>
    public int LowPriorityThreads(string nodeId) => _nodeIndex.TryGetValue(nodeId, out var n) ? _lowPriorityThreads[n] : 0;

    /// <summary>
    /// Why an unsatisfied deployment could not get (more) allocations, as ES's Rebalancer explains it: per node, in id
    /// order, joined by "|"; "No ML nodes exist in the cluster" without nodes. Null when satisfied, or when no node
    /// lacks memory or cores for it.
    /// </summary>
    public string? UnsatisfiedReason(string deploymentId)
    {
        var deployment = Deployments[DeploymentIndex(deploymentId)];
        if (IsSatisfied(deploymentId)) return null;
        if (Nodes.Count == 0) return AssignmentReasons.NoMlNodes;

        var reasons = new List<string>();
        for (var n = 0; n < Nodes.Count; n++)
        {
            var node = Nodes[n];
            // The 30 MB of native code count only once a process runs on the node: before the plan, or for a normal
            // allocation it places there (ES isPerNodeOverheadAccountedFor).
            var overheadPaid = _nodeHadModels[n] || _freeCores[n] < node.Cores;
            var reason = AssignmentReasons.ForNode(node, deployment, _freeMemory[n], _freeCores[n], overheadPaid);
            if (reason is not null) reasons.Add(AssignmentReasons.OnNode(node.Id, reason));
        }
        return reasons.Count == 0 ? null : string.Join("|", reasons);
    }

    private int Allocations(int deployment, int node) => _allocations[deployment * Nodes.Count + node];

    private int DeploymentIndex(string deploymentId) =>
        _deploymentIndex.TryGetValue(deploymentId, out var d)
            ? d
            : throw new KeyNotFoundException($"deployment [{deploymentId}] is not part of the plan");
}
