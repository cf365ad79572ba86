using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using TrainedModelsOrleans.Grains.Deployments;
using Orleans;
using Orleans.Concurrency;
using Orleans.Runtime;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>
/// Chooses the node a request of a deployment runs on: among the nodes whose route is routable, the one
/// with the shortest queue. This silo knows its own queue exactly; for another node it counts the requests
/// it has sent there and not yet had answered (what this front door adds to that node's queue), so load
/// spreads without asking nodes for their queues on every request. Ties go to this silo (no network hop).
/// A node that cannot be reached is skipped for a moment and the request goes to another one.
/// </summary>
public sealed class InferenceRouter(LocalNode localNode, DeploymentServing serving, IGrainFactory grains)
{
    private static readonly TimeSpan SkipUnreachable = TimeSpan.FromSeconds(2);
    private readonly ConcurrentDictionary<(string Deployment, string Node), StrongCounter> _outstanding = new();
    private readonly ConcurrentDictionary<string, long> _unreachableUntil = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Deployment, string Node), IInferenceWorkerGrain> _workers = new();

    public string LocalNode => localNode.Name;

    /// <summary>Runs the call on the chosen node: locally through <paramref name="local"/>, elsewhere through the node's worker.</summary>
    public async Task<T> RunAsync<T>(TrainedModelAssignment deployment, Func<ServedDeployment, Task<T>> local,
        Func<IInferenceWorkerGrain, Task<T>> remote)
    {
        var deploymentId = deployment.TaskParameters.DeploymentId;
        var tried = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var node = Choose(deployment, tried);
            if (node == LocalNode && serving.TryGet(deploymentId, out var served) && !served.Executor.IsStopped) return await local(served);
            var counter = _outstanding.GetOrAdd((deploymentId, node), static _ => new StrongCounter());
            Interlocked.Increment(ref counter.Value);
            try
            {
                var worker = _workers.GetOrAdd((deploymentId, node), static (key, g) => g.GetGrain<IInferenceWorkerGrain>(InferenceWorkerKey.Of(key.Node, key.Deployment)), grains);
                return await remote(worker);
            }
            catch (Exception e) when (e is SiloUnavailableException or OrleansMessageRejectionException
                                      && tried.Count + 1 < RoutableNodes(deployment).Length)
            {
                // The node died or is leaving (Orleans cannot place the worker there, or cannot connect to its silo):
                // inference has no side effects, so another node may run it.
                _unreachableUntil[node] = Stopwatch.GetTimestamp() + (long)(SkipUnreachable.TotalSeconds * Stopwatch.Frequency);
                tried.Add(node);
            }
            finally
            {
                Interlocked.Decrement(ref counter.Value);
            }
        }
    }

    /// <summary>
    /// True when the router would run a request of this deployment here now (this node is the least loaded routable
    /// one and serves it): the caller may then run it on <paramref name="served"/> without a closure or a grain call.
    /// </summary>
    public bool TryChooseLocal(TrainedModelAssignment deployment, out ServedDeployment served)
    {
        served = null!;
        return Choose(deployment, NoneTried, skipUnreachable: true) == LocalNode
               && serving.TryGet(deployment.TaskParameters.DeploymentId, out served) && !served.Executor.IsStopped;
    }

    private static readonly HashSet<string> NoneTried = [];

    private string Choose(TrainedModelAssignment deployment, HashSet<string> tried) =>
        Choose(deployment, tried, skipUnreachable: true) ?? Choose(deployment, tried, skipUnreachable: false)
        ?? throw Errors.ElasticsearchException.Conflict($"Trained model deployment [{deployment.TaskParameters.DeploymentId}] is not allocated to any nodes");

    /// <summary>The least loaded routable node; nodes that failed a moment ago only when no other is left.</summary>
    private string? Choose(TrainedModelAssignment deployment, HashSet<string> tried, bool skipUnreachable)
    {
        var deploymentId = deployment.TaskParameters.DeploymentId;
        var now = Stopwatch.GetTimestamp();
        string? best = null;
        var bestLoad = long.MaxValue;
        var bestIsLocal = false;
        foreach (var node in RoutableNodes(deployment))
        {
            if (tried.Contains(node)) continue;
            if (skipUnreachable && _unreachableUntil.TryGetValue(node, out var until) && until > now) continue;
            var isLocal = node == LocalNode;
            long load = isLocal
                ? serving.TryGet(deploymentId, out var served) ? served.Executor.Pending : long.MaxValue - 1
                : _outstanding.TryGetValue((deploymentId, node), out var counter) ? Volatile.Read(ref counter.Value) : 0;
            if (load < bestLoad || (load == bestLoad && isLocal && !bestIsLocal))
                (best, bestLoad, bestIsLocal) = (node, load, isLocal);
        }
        return best;
    }

    /// <summary>
    /// The deployment's routable nodes, worked out once per assignment (views replace assignments, never change them):
    /// walking the routing table through its interface cost an enumerator per request.
    /// </summary>
    private static string[] RoutableNodes(TrainedModelAssignment deployment) =>
        RoutableByAssignment.GetValue(deployment, static d => d.RoutingTable.Where(r => AssignmentStatus.IsRoutable(r.Value)).Select(r => r.Key).ToArray());

    private static readonly ConditionalWeakTable<TrainedModelAssignment, string[]> RoutableByAssignment = new();

    private sealed class StrongCounter
    {
        public long Value;
    }
}
