using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Storage;
using TrainedModelsOrleans.Grains.Serving;
using Orleans;
using Orleans.Concurrency;
using TrainedModelsOrleans.Grains.Storage;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// The one writer of assignments and node capacity. Each change is one turn: plan, then commit every
/// touched deployment state (ETag-checked), its route rows, node capacity rows and ids in one
/// transaction; only then is memory updated and are the nodes told. Postgres checks invariant 1 at commit.
/// </summary>
public sealed partial class AssignmentCoordinatorGrain(
    GrainStateStore store,
    DeploymentTables tables,
    MlNodes mlNodes,
    MlSettings settings,
    InferenceTargets inferenceTargets,
    LocalNode localNode,
    TimeProvider clock,
    ILogger<AssignmentCoordinatorGrain> logger) : Grain, IAssignmentCoordinatorGrain
{
    public const string Key = "cluster";

    private readonly Dictionary<string, IStoredState<DeploymentRecord>> _deployments = new(StringComparer.Ordinal);
    private string? _plannedNodes;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var id in await tables.DeploymentIdsAsync(cancellationToken))
            _deployments[id] = await store.ReadAsync<DeploymentRecord>(StateOf(id), DeploymentTables.AssignmentState, cancellationToken);
    }

    public async Task<TrainedModelAssignment> CreateAssignment(TaskParameters parameters, long memoryBytes)
    {
        var id = parameters.DeploymentId;
        if (_deployments.ContainsKey(id)) throw DeploymentErrors.AlreadyExists(id);
        if (_deployments.Count >= settings.MaxDeployments) throw DeploymentErrors.TooManyDeployments(settings.MaxDeployments);

        var created = new TrainedModelAssignment
        {
            TaskParameters = parameters,
            AssignmentState = AssignmentState.Starting,
            StartTime = clock.GetUtcNow().ToUnixTimeMilliseconds(),
        };
        var nodes = await LiveNodesAsync();
        var current = Current();
        current[id] = (created, memoryBytes);
        var plan = Rebalancer.Rebalance(nodes, current);
        var planned = plan.Assignments[id];
        DeploymentRules.CheckStartCapacity(planned, nodes.Select(n => n.Name).ToArray(), ScalingPossible(nodes));

        var state = await store.ReadAsync<DeploymentRecord>(StateOf(id), DeploymentTables.AssignmentState);
        if (state.RecordExists) throw DeploymentErrors.AlreadyStarted(id);
        state.State = new DeploymentRecord { Assignment = planned, MemoryBytes = memoryBytes };
        _deployments[id] = state;
        try
        {
            await CommitAsync(plan, nodes, claimDeploymentId: parameters.DeploymentId != parameters.ModelId ? parameters : null);
        }
        catch
        {
            _deployments.Remove(id);
            throw;
        }
        return _deployments[id].State.Assignment!;
    }

    public async Task<TrainedModelAssignment> UpdateAllocations(string deploymentId, int numberOfAllocations)
    {
        var existing = Find(deploymentId) ?? throw DeploymentErrors.UnknownDeployment(deploymentId);
        var assignment = existing.State.Assignment!;
        if (assignment.TaskParameters.NumberOfAllocations == numberOfAllocations) return assignment;
        if (assignment.AssignmentState != AssignmentState.Started) throw DeploymentErrors.NotStarted();

        var nodes = await LiveNodesAsync();
        var current = Current();
        var updated = assignment with { TaskParameters = assignment.TaskParameters with { NumberOfAllocations = numberOfAllocations } };
        RebalanceResult plan;
        if (numberOfAllocations < assignment.TaskParameters.NumberOfAllocations)
        {
            current[deploymentId] = (Rebalancer.Reduce(updated, numberOfAllocations), existing.State.MemoryBytes);
            plan = Rebalancer.Rebalance(nodes, current);
        }
        else
        {
            current[deploymentId] = (updated, existing.State.MemoryBytes);
            plan = Rebalancer.Rebalance(nodes, current);
            DeploymentRules.CheckUpdateCapacity(plan.TotalTargetAllocations(deploymentId), numberOfAllocations, ScalingPossible(nodes));
        }
        await CommitAsync(plan, nodes);
        return _deployments[deploymentId].State.Assignment!;
    }

    public async Task<TrainedModelAssignment?> MarkStopping(string deploymentId, string reason)
    {
        var existing = Find(deploymentId);
        if (existing is null) return null;
        var assignment = existing.State.Assignment!;
        if (assignment.AssignmentState == AssignmentState.Stopping) return assignment;
        var stopping = AssignmentStatus.ToStopping(assignment, reason) with
        {
            RoutingTable = assignment.RoutingTable.ToDictionary(r => r.Key, r => r.Value with { RoutingState = RoutingState.Stopping }),
        };
        await CommitAsync(RebalanceResult.Only(Current(), deploymentId, stopping), await LiveNodesAsync());
        return _deployments[deploymentId].State.Assignment;
    }

    public async Task<bool> RemoveAssignment(string deploymentId, string reason)
    {
        // Stopping first, so routers stop sending; then the assignment goes.
        if (await MarkStopping(deploymentId, reason) is null) return false;
        var nodes = await LiveNodesAsync();

        var remaining = Current();
        remaining.Remove(deploymentId);
        var plan = Rebalancer.Rebalance(nodes, remaining);
        await CommitAsync(plan, nodes, removed: deploymentId);
        return true;
    }

    public async Task UpdateRoutingState(string deploymentId, string node, RoutingState state, string? reason)
    {
        var existing = Find(deploymentId);
        if (existing?.State.Assignment is not { } assignment || !assignment.RoutingTable.TryGetValue(node, out var route)) return;
        if (assignment.AssignmentState == AssignmentState.Stopping) return; // updates while stopping are ignored (ES)
        var updatedRoute = state switch
        {
            RoutingState.Started => route with { RoutingState = RoutingState.Started, CurrentAllocations = route.TargetAllocations, Reason = null },
            RoutingState.Failed => route with { RoutingState = RoutingState.Failed, Reason = reason },
            _ => route with { RoutingState = state, Reason = reason },
        };
        if (updatedRoute == route) return;
        var table = new Dictionary<string, RoutingInfo>(assignment.RoutingTable) { [node] = updatedRoute };
        var updated = AssignmentStatus.WithRoutingTable(assignment, table);
        await CommitAsync(RebalanceResult.Only(Current(), deploymentId, updated), await LiveNodesAsync());
    }

    public async Task NodeJoined(string node)
    {
        // A node that (re)joins must open its models again: its routes start over, same allocations.
        var current = Current();
        foreach (var (id, (assignment, memory)) in current.ToArray())
        {
            if (!assignment.RoutingTable.TryGetValue(node, out var route) || assignment.AssignmentState == AssignmentState.Stopping) continue;
            var table = new Dictionary<string, RoutingInfo>(assignment.RoutingTable)
            {
                [node] = route with { RoutingState = RoutingState.Starting, Reason = null },
            };
            current[id] = (AssignmentStatus.WithRoutingTable(assignment, table), memory);
        }
        var nodes = await LiveNodesAsync();
        await CommitAsync(Rebalancer.Rebalance(nodes, current), nodes);
    }

    public async Task NodeLeft(string node)
    {
        var nodes = (await LiveNodesAsync()).Where(n => n.Name != node).ToArray();
        await CommitAsync(Rebalancer.Rebalance(nodes, Current()), nodes, departedNodes: [node]);
    }

    public async Task RefreshNodes()
    {
        var nodes = await LiveNodesAsync();
        if (Signature(nodes) == _plannedNodes) return;
        var departed = (await tables.CapacityNodesAsync(CancellationToken.None)).Where(n => nodes.All(live => live.Name != n)).ToArray();
        await CommitAsync(Rebalancer.Rebalance(nodes, Current()), nodes, departedNodes: departed);
        // Only this path removes departed nodes' capacity rows, so only it may say the node set is handled:
        // a start or stop that commits between a node's death and this refresh must not hide the departure.
        _plannedNodes = Signature(nodes);
    }

    public Task<TrainedModelAssignment?> GetAssignment(string deploymentId) => Task.FromResult(Find(deploymentId)?.State.Assignment);

    public Task<IReadOnlyList<TrainedModelAssignment>> GetAssignments() =>
        Task.FromResult<IReadOnlyList<TrainedModelAssignment>>(_deployments.Values
            .Select(d => d.State.Assignment).OfType<TrainedModelAssignment>().OrderBy(a => a.TaskParameters.DeploymentId, StringComparer.Ordinal).ToArray());

    public Task<string> GetNode() => Task.FromResult(localNode.Name);

    private IStoredState<DeploymentRecord>? Find(string id) =>
        _deployments.TryGetValue(id, out var state) && state.State.Assignment is not null ? state : null;

    private Dictionary<string, (TrainedModelAssignment Assignment, long MemoryBytes)> Current() =>
        _deployments.Where(d => d.Value.State.Assignment is not null)
            .ToDictionary(d => d.Key, d => (d.Value.State.Assignment!, d.Value.State.MemoryBytes), StringComparer.Ordinal);

    private bool ScalingPossible(IReadOnlyList<MlNode> nodes) => settings.MaxLazyNodes > nodes.Count;

    private Task<IReadOnlyList<MlNode>> LiveNodesAsync() => mlNodes.LiveAsync(CancellationToken.None);

    /// <summary>
    /// Commits what changed in the plan in one transaction. In-memory states move only after the
    /// commit; a failed commit leaves them as they were, and a stale ETag makes the grain reload.
    /// </summary>
    private async Task CommitAsync(RebalanceResult plan, IReadOnlyList<MlNode> nodes, TaskParameters? claimDeploymentId = null,
        string? removed = null, IReadOnlyList<string>? departedNodes = null)
    {
        var transaction = store.BeginTransaction();
        var changed = new List<string>();
        var previous = new Dictionary<string, DeploymentRecord>(StringComparer.Ordinal);
        foreach (var (id, assignment) in plan.Assignments)
        {
            var state = _deployments[id];
            if (state.RecordExists && AssignmentStatus.Equivalent(state.State.Assignment, assignment)) continue;
            previous[id] = state.State;
            state.State = new DeploymentRecord { Assignment = assignment, MemoryBytes = plan.MemoryBytes[id] };
            transaction.Write(state);
            changed.Add(id);
        }
        IStoredState<DeploymentRecord>? removedState = null;
        if (removed is not null && _deployments.TryGetValue(removed, out removedState))
        {
            transaction.Clear(removedState);
            DeploymentTables.ReleaseDeploymentId(transaction, removed);
            changed.Add(removed);
        }
        if (claimDeploymentId is not null) DeploymentTables.ClaimDeploymentId(transaction, claimDeploymentId.DeploymentId, claimDeploymentId.ModelId);
        if (departedNodes is { Count: > 0 })
            transaction.Execute("DELETE FROM node_capacity WHERE node = ANY($1)", [departedNodes.ToArray()]);
        DeploymentTables.WriteRoutes(transaction, changed, changed.Where(plan.Assignments.ContainsKey).Select(id => plan.Assignments[id]),
            plan.NodeCapacities(nodes));

        try
        {
            await transaction.CommitAsync();
        }
        catch (Exception error)
        {
            foreach (var (id, record) in previous) _deployments[id].State = record;
            if (error is InconsistentStateException) DeactivateOnIdle();
            if (error is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } && claimDeploymentId is not null)
                throw DeploymentErrors.IdTakenByModel(claimDeploymentId.DeploymentId);
            throw;
        }
        if (removed is not null) _deployments.Remove(removed);
        inferenceTargets.Invalidate();

        var touchedNodes = changed.SelectMany(id =>
                (previous.TryGetValue(id, out var before) ? before.Assignment?.RoutingTable.Keys ?? [] : [])
                .Concat(plan.Assignments.TryGetValue(id, out var after) ? after.RoutingTable.Keys : []))
            .Concat(removedState?.State.Assignment?.RoutingTable.Keys ?? [])
            .Distinct(StringComparer.Ordinal).ToArray();
        foreach (var node in touchedNodes) Notify(node);
    }

    /// <summary>Tells a node its routes changed without waiting: the node calls back, and waiting here would deadlock.</summary>
    private void Notify(string node) =>
        GrainFactory.GetGrain<INodeCapacityGrain>(node).RoutesChanged().ContinueWith(
            t => LogNotifyFailed(logger, node, t.Exception!.GetBaseException()),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    private static string Signature(IEnumerable<MlNode> nodes) =>
        string.Join(';', nodes.Select(n => $"{n.Name}:{n.AllocatedProcessors}:{n.MemoryBytes}"));

    private static StateKey StateOf(string deploymentId) => new(DeploymentTables.DeploymentGrainType, deploymentId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telling node {Node} about its routes failed")]
    private static partial void LogNotifyFailed(ILogger logger, string node, Exception error);
}
