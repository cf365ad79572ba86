using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Concurrency;
using Orleans.Transactions.Abstractions;
using Orleans.Runtime;
using TrainedModelsOrleans.Grains.Deployments.Scaling;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Serving;
using TrainedModelsOrleans.Grains.Transactions;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>The coordinator's own state: which deployments exist (ES keeps all assignments in one cluster-state object).</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Alias("tmo.DeploymentIndex")]
public sealed class DeploymentIndex
{
    public SortedSet<string> DeploymentIds { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Committed changes so far. Every change writes it first, so this state manages each change's transaction.</summary>
    public long Changes { get; set; }
}

/// <summary>
/// The one writer of assignments and node reservations. Each change is one turn (changes queue behind each other):
/// plan over the live nodes, then commit every touched deployment record, the reservations of every node whose
/// share changed (each node refuses more normal-priority threads than it has processors), the ids claimed or
/// freed and the index of deployments, in one Orleans transaction. Only after the commit does the plan held here
/// move and are the nodes told. A transaction that aborts for contention is planned and tried again.
/// </summary>
[Reentrant]
public sealed partial class AssignmentCoordinatorGrain(
    [TransactionalState("assignment-index")] ITransactionalState<DeploymentIndex> index,
    ControlPlaneTransactions transactions,
    MlNodes mlNodes,
    MlSettings settings,
    InferenceTargets inferenceTargets,
    LocalNode localNode,
    TimeProvider clock,
    ILogger<AssignmentCoordinatorGrain> logger) : Grain, IAssignmentCoordinatorGrain
{
    public const string Key = "cluster";

    private readonly SemaphoreSlim _turn = new(1, 1);
    /// <summary>The committed plan: every deployment's record. Null until read from the deployment grains.</summary>
    private Dictionary<string, DeploymentRecord>? _deployments;
    /// <summary>The reservations last committed on each node (a node missing here is written at the next commit).</summary>
    private readonly Dictionary<string, IReadOnlyDictionary<string, NodeReservation>> _reserved = new(StringComparer.Ordinal);
    private string? _plannedNodes;
    private AdaptiveAllocationsScalers? _adaptive;
    private readonly HashSet<string> _wakingFromZero = new(StringComparer.Ordinal);
    private bool _polling;
    /// <summary>The nodes this activation has seen live, so that a join or departure is logged once (by whoever sees it first).</summary>
    private readonly HashSet<string> _knownNodes = new(StringComparer.Ordinal);
    private bool _knownNodesRead;

    private AdaptiveAllocationsScalers Scalers => _adaptive ??= new AdaptiveAllocationsScalers(settings.AdaptiveAllocations);
    private IMlIdsGrain Ids => GrainFactory.GetGrain<IMlIdsGrain>(IMlIdsGrain.Key);
    private IDeploymentGrain Deployment(string id) => GrainFactory.GetGrain<IDeploymentGrain>(id);
    private INodeCapacityGrain Capacity(string node) => GrainFactory.GetGrain<INodeCapacityGrain>(node);

    public Task<TrainedModelAssignment> CreateAssignment(TaskParameters parameters, long memoryBytes, AdaptiveAllocations? adaptiveAllocations = null) =>
        InTurnAsync<TrainedModelAssignment>(async () =>
    {
        var id = parameters.DeploymentId;
        if (_deployments!.ContainsKey(id)) throw DeploymentErrors.AlreadyExists(id);
        if (_deployments.Count >= settings.MaxDeployments) throw DeploymentErrors.TooManyDeployments(settings.MaxDeployments);
        var created = new TrainedModelAssignment
        {
            TaskParameters = parameters,
            AssignmentState = AssignmentState.Starting,
            StartTime = clock.GetUtcNow().ToUnixTimeMilliseconds(),
            AdaptiveAllocations = adaptiveAllocations,
        };
        await ChangeAsync(nodes =>
        {
            var current = Current();
            current[id] = (created, memoryBytes);
            var plan = Rebalancer.Rebalance(nodes, current);
            DeploymentRules.CheckStartCapacity(plan.Assignments[id], nodes.Select(n => n.Name).ToArray(), ScalingPossible(nodes));
            return new Change(plan) { Created = (id, parameters.ModelId) };
        });
        var started = _deployments[id].Assignment!;
        ControlPlaneLog.DeploymentStarted(logger, id, parameters.ModelId, localNode.Name, AssignmentStatus.TotalTargetAllocations(started),
            Nodes(started), Outcome(started));
        return started;
    });

    public Task<TrainedModelAssignment> UpdateDeployment(string deploymentId, int numberOfAllocations, AdaptiveAllocations? adaptiveAllocations) =>
        InTurnAsync(() => UpdateInTurnAsync(deploymentId, numberOfAllocations, adaptiveAllocations));

    /// <summary>
    /// The update: a decrease runs ES's allocation reducer, an increase re-plans (429 when it does not fit and scaling is
    /// impossible), and the adaptive settings are replaced by <paramref name="adaptive"/>.
    /// </summary>
    private async Task<TrainedModelAssignment> UpdateInTurnAsync(string deploymentId, int numberOfAllocations, AdaptiveAllocations? adaptive)
    {
        var existing = Find(deploymentId) ?? throw DeploymentErrors.UnknownDeployment(deploymentId);
        var assignment = existing.Assignment!;
        var current = assignment.TaskParameters.NumberOfAllocations;
        if (current == numberOfAllocations && adaptive == assignment.AdaptiveAllocations) return assignment;
        if (assignment.AssignmentState != AssignmentState.Started) throw DeploymentErrors.NotStarted();
        var updated = assignment with
        {
            TaskParameters = assignment.TaskParameters with { NumberOfAllocations = numberOfAllocations },
            AdaptiveAllocations = adaptive,
        };
        await ChangeAsync(nodes =>
        {
            var plan = Resize(nodes, updated, existing.MemoryBytes, current);
            if (numberOfAllocations > current)
                DeploymentRules.CheckUpdateCapacity(plan.TotalTargetAllocations(deploymentId), numberOfAllocations, ScalingPossible(nodes));
            return new Change(plan);
        });
        var result = _deployments![deploymentId].Assignment!;
        ControlPlaneLog.DeploymentUpdated(logger, deploymentId, localNode.Name, current, numberOfAllocations, Nodes(result), Outcome(result));
        return result;
    }

    /// <summary>The plan with <paramref name="updated"/>'s allocations: reduced without moving any, grown by re-planning, or as it is.</summary>
    private RebalanceResult Resize(IReadOnlyList<MlNode> nodes, TrainedModelAssignment updated, long memoryBytes, int currentAllocations)
    {
        var id = updated.TaskParameters.DeploymentId;
        var target = updated.TaskParameters.NumberOfAllocations;
        var current = Current();
        if (target == currentAllocations) return RebalanceResult.Only(current, id, updated);
        current[id] = (target < currentAllocations ? Rebalancer.Reduce(updated, target) : updated, memoryBytes);
        return Rebalancer.Rebalance(nodes, current);
    }

    /// <summary>
    /// The scaler's update (ES's internal update of number_of_allocations): applied only if the deployment still has
    /// <paramref name="expected"/> allocations — checked on the committed record inside the transaction, so two scalers
    /// (a coordinator's twin after a partition) cannot both scale it. An increase that does not fit goes as far as the
    /// nodes' free processors allow (none: no change) instead of answering 429; a low-priority deployment stops at one.
    /// False when nothing changed.
    /// </summary>
    public Task<bool> ScaleAllocations(string deploymentId, int expected, int target) => InTurnAsync<bool>(async () =>
    {
        if (Find(deploymentId) is not { Assignment: { } assignment } existing) return false;
        // A low-priority deployment never has more than one allocation (ES, since #139989).
        if (assignment.TaskParameters.Priority == Priority.Low) target = Math.Min(target, 1);
        if (!AdaptiveAllocationsScalers.IsEnabled(assignment) || assignment.TaskParameters.NumberOfAllocations != expected || target == expected
            || assignment.AssignmentState != AssignmentState.Started)
            return false;
        RebalanceResult Plan(IReadOnlyList<MlNode> nodes, int allocations) => Resize(nodes,
            assignment with { TaskParameters = assignment.TaskParameters with { NumberOfAllocations = allocations } }, existing.MemoryBytes, expected);
        int Fitting(IReadOnlyList<MlNode> nodes)
        {
            if (target < expected || ScalingPossible(nodes)) return target;
            return Math.Max(expected, Math.Min(target, Plan(nodes, target).TotalTargetAllocations(deploymentId)));
        }
        if (Fitting(await mlNodes.LiveAsync(CancellationToken.None)) == expected) return false;
        var changed = false;
        await ChangeAsync(nodes =>
        {
            var allocations = Fitting(nodes);
            changed = allocations != expected;
            return new Change(Plan(nodes, allocations)) { Expected = (deploymentId, expected) };
        });
        if (changed && _deployments![deploymentId].Assignment is { } scaled)
            ControlPlaneLog.DeploymentScaled(logger, deploymentId, localNode.Name, expected, scaled.TaskParameters.NumberOfAllocations,
                Nodes(scaled), Outcome(scaled));
        return changed;
    });

    /// <summary>
    /// A request found no allocation to run on (ES's maybeStartAllocation): one allocation is started if the deployment's
    /// adaptive allocations may scale from zero and it has none; concurrent calls start it once.
    /// </summary>
    public async Task ScaleFromZero(string deploymentId)
    {
        await EnsureLoadedAsync();
        if (Find(deploymentId)?.Assignment is not { } assignment || !AdaptiveAllocationsScalers.ScalesFromZero(assignment)) return;
        Scalers.ScalingFromZero(deploymentId, clock.GetUtcNow());
        if (assignment.TaskParameters.NumberOfAllocations > 0 || !_wakingFromZero.Add(deploymentId)) return;
        try
        {
            await ScaleAllocations(deploymentId, 0, 1);
        }
        finally
        {
            _wakingFromZero.Remove(deploymentId);
        }
    }

    public Task<TrainedModelAssignment?> MarkStopping(string deploymentId, string reason) => InTurnAsync<TrainedModelAssignment?>(() => MarkStoppingInTurnAsync(deploymentId, reason));

    private async Task<TrainedModelAssignment?> MarkStoppingInTurnAsync(string deploymentId, string reason)
    {
        var existing = Find(deploymentId);
        if (existing is null) return null;
        var assignment = existing.Assignment!;
        if (assignment.AssignmentState == AssignmentState.Stopping) return assignment;
        var stopping = AssignmentStatus.ToStopping(assignment, reason) with
        {
            RoutingTable = assignment.RoutingTable.ToDictionary(r => r.Key, r => r.Value with { RoutingState = RoutingState.Stopping }),
        };
        await ChangeAsync(_ => new Change(RebalanceResult.Only(Current(), deploymentId, stopping)));
        return _deployments![deploymentId].Assignment;
    }

    public Task<bool> RemoveAssignment(string deploymentId, string reason) => InTurnAsync<bool>(() => RemoveInTurnAsync(deploymentId, reason));

    private async Task<bool> RemoveInTurnAsync(string deploymentId, string reason)
    {
        // Stopping first, so routers stop sending; then the assignment goes.
        if (await MarkStoppingInTurnAsync(deploymentId, reason) is null) return false;
        await ChangeAsync(nodes =>
        {
            var remaining = Current();
            remaining.Remove(deploymentId);
            return new Change(Rebalancer.Rebalance(nodes, remaining)) { Removed = deploymentId };
        });
        ControlPlaneLog.DeploymentStopped(logger, deploymentId, localNode.Name, reason, "stopped");
        return true;
    }

    public Task UpdateRoutingState(string deploymentId, string node, RoutingState state, string? reason) => InTurnAsync(async () =>
    {
        if (Find(deploymentId)?.Assignment is not { } assignment || !assignment.RoutingTable.TryGetValue(node, out var route)) return true;
        if (assignment.AssignmentState == AssignmentState.Stopping) return true; // updates while stopping are ignored (ES)
        var updatedRoute = state switch
        {
            RoutingState.Started => route with { RoutingState = RoutingState.Started, CurrentAllocations = route.TargetAllocations, Reason = null },
            RoutingState.Failed => route with { RoutingState = RoutingState.Failed, Reason = reason },
            _ => route with { RoutingState = state, Reason = reason },
        };
        if (updatedRoute == route) return true;
        var table = new Dictionary<string, RoutingInfo>(assignment.RoutingTable) { [node] = updatedRoute };
        var updated = AssignmentStatus.WithRoutingTable(assignment, table);
        await ChangeAsync(_ => new Change(RebalanceResult.Only(Current(), deploymentId, updated)));
        return true;
    });

    public Task NodeJoined(string node) => InTurnAsync(async () =>
    {
        // A node that (re)joins must open its models again: its routes start over, same allocations; its reservations are rewritten.
        _reserved.Remove(node);
        await ChangeAsync(nodes =>
        {
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
            return new Change(Rebalancer.Rebalance(nodes, current));
        });
        if (_knownNodes.Add(node)) ControlPlaneLog.NodeJoined(logger, node, "joined");
        return true;
    });

    public Task NodeLeft(string node) => InTurnAsync(async () =>
    {
        await ChangeAsync(nodes => new Change(Rebalancer.Rebalance(nodes, Current())), leaving: node);
        if (_knownNodes.Remove(node)) ControlPlaneLog.NodeLeft(logger, node, "left");
        return true;
    });

    public Task RefreshNodes() => InTurnAsync(async () =>
    {
        var nodes = await mlNodes.LiveAsync(CancellationToken.None);
        NoteLiveNodes(nodes);
        if (Signature(nodes) == _plannedNodes) return true;
        await ChangeAsync(live => new Change(Rebalancer.Rebalance(live, Current())));
        // Only this path may say the node set is handled: a start or stop that commits between a node's death and this
        // refresh must not hide the departure.
        _plannedNodes = Signature(nodes);
        return true;
    });

    public async Task<TrainedModelAssignment?> GetAssignment(string deploymentId)
    {
        await EnsureLoadedAsync();
        return Find(deploymentId)?.Assignment;
    }

    public async Task<IReadOnlyList<TrainedModelAssignment>> GetAssignments()
    {
        await EnsureLoadedAsync();
        return _deployments!.Values.Select(d => d.Assignment).OfType<TrainedModelAssignment>()
            .OrderBy(a => a.TaskParameters.DeploymentId, StringComparer.Ordinal).ToArray();
    }

    public async Task<IReadOnlyList<NodeRoute>> GetRoutes(string node)
    {
        await EnsureLoadedAsync();
        var routes = new List<NodeRoute>();
        foreach (var record in _deployments!.Values.OrderBy(d => d.Assignment?.TaskParameters.DeploymentId, StringComparer.Ordinal))
        {
            if (record.Assignment is not { } assignment || !assignment.RoutingTable.TryGetValue(node, out var route)) continue;
            var parameters = assignment.TaskParameters;
            routes.Add(new NodeRoute(parameters.DeploymentId, parameters.ModelId, parameters.ThreadsPerAllocation, route.TargetAllocations,
                parameters.Priority, route.RoutingState, parameters.QueueCapacity, CacheSizeBytes(parameters)));
        }
        return routes;
    }

    public Task<string> GetNode() => Task.FromResult(localNode.Name);

    /// <summary>The adaptive allocations scaler runs where the coordinator runs: wherever Orleans (re)activates it.</summary>
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var interval = settings.AdaptiveAllocations.PollInterval;
        this.RegisterGrainTimer(PollAdaptiveAllocationsAsync, new GrainTimerCreationOptions(interval, interval) { Interleave = true });
        return Task.CompletedTask;
    }

    /// <summary>
    /// One poll of ES's AdaptiveAllocationsScalerService: the stats of every deployment whose adaptive allocations are
    /// enabled, from each of its nodes, then each decision through <see cref="ScaleAllocations"/>.
    /// </summary>
    private async Task PollAdaptiveAllocationsAsync(CancellationToken cancellationToken)
    {
        if (_polling) return;
        _polling = true;
        try
        {
            await EnsureLoadedAsync();
            var enabled = Scalers.Track(_deployments!.Values.Select(d => d.Assignment).OfType<TrainedModelAssignment>());
            if (enabled.Count == 0) return;
            var observations = await Task.WhenAll(enabled.Select(ObserveAsync));
            foreach (var decision in Scalers.Process(observations, clock.GetUtcNow()))
            {
                try
                {
                    await ScaleAllocations(decision.DeploymentId, decision.From, decision.To);
                }
                catch (Exception e)
                {
                    LogScalingFailed(logger, decision.DeploymentId, decision.From, decision.To, e);
                }
            }
        }
        catch (Exception e)
        {
            LogPollFailed(logger, e);
        }
        finally
        {
            _polling = false;
        }
    }

    private async Task<DeploymentObservation> ObserveAsync(TrainedModelAssignment assignment)
    {
        var id = assignment.TaskParameters.DeploymentId;
        var nodes = await Task.WhenAll(assignment.RoutingTable.Select(async route =>
            await WorkerStats.ReadAsync(GrainFactory, route.Key, id) switch
            {
                { } stats => new NodeObservation(route.Key, route.Value.RoutingState, stats.InferenceCount, stats.PendingRequests,
                    stats.ErrorCount + stats.TimeoutCount + stats.RejectedExecutionCount, stats.AverageInferenceTimeMs ?? 0, stats.StartTime),
                // Not serving yet: counted from zero, and its starting state holds off a scale-down.
                null when route.Value.RoutingState == RoutingState.Starting => new NodeObservation(route.Key, RoutingState.Starting, 0, 0, 0, 0, null),
                // A node that cannot answer (leaving, dead) is left out of this poll, as ES leaves out a node without stats.
                null => null,
            }));
        return new DeploymentObservation(assignment, nodes.OfType<NodeObservation>().ToArray());
    }

    /// <summary>ES: the result cache is as big as cache_size, or as the model when cache_size is not set.</summary>
    public static long CacheSizeBytes(TaskParameters parameters) =>
        parameters.CacheSize is { } size ? Math.Max(0, ByteSize.Parse(size, "cache_size").Bytes) : parameters.ModelBytes;

    /// <summary>One change at a time, on the committed plan (read from the deployment grains on first use).</summary>
    private async Task<T> InTurnAsync<T>(Func<Task<T>> change)
    {
        await _turn.WaitAsync();
        try
        {
            await EnsureLoadedAsync();
            return await change();
        }
        finally
        {
            _turn.Release();
        }
    }

    private async Task InTurnAsync(Func<Task<bool>> change) => await InTurnAsync<bool>(change);

    /// <summary>Reads the index and every deployment's committed record, once per activation (not in OnActivateAsync: a transaction needs this grain active).</summary>
    private async Task EnsureLoadedAsync()
    {
        if (_deployments is not null) return;
        var loaded = await transactions.ReadAsync(async () =>
        {
            var ids = await index.PerformRead(i => i.DeploymentIds.ToArray());
            var records = await Task.WhenAll(ids.Select(id => Deployment(id).ReadRecord()));
            return ids.Zip(records).Where(r => r.Second.Assignment is not null)
                .ToDictionary(r => r.First, r => r.Second, StringComparer.Ordinal);
        });
        if (_deployments is not null) return; // a reentrant call loaded it first
        _deployments = loaded;
        TakeOver(loaded);
    }

    /// <summary>
    /// What a coordinator inherits from one that died (its silo killed): the last changes it committed may not have
    /// reached the nodes, so every node with routes is told to fetch them again; and a stop interrupted between its
    /// two commits left a deployment stopping that nobody would remove, so those stops are finished.
    /// </summary>
    private void TakeOver(Dictionary<string, DeploymentRecord> loaded)
    {
        foreach (var node in loaded.Values.SelectMany(d => d.Assignment!.RoutingTable.Keys).Distinct(StringComparer.Ordinal))
            Notify(node);
        foreach (var (id, record) in loaded)
        {
            if (record.Assignment!.AssignmentState != AssignmentState.Stopping) continue;
            LogFinishingStop(logger, id);
            InTurnAsync<bool>(() => RemoveInTurnAsync(id, record.Assignment.Reason ?? AssignmentStatus.StopReasonClientCall)).ContinueWith(
                t => LogFinishingStopFailed(logger, id, t.Exception!.GetBaseException()),
                CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// Plans over the live nodes and commits the plan in one transaction; an attempt that aborts for contention is
    /// planned again over the nodes live then. The plan held here and the nodes move only after the commit.
    /// </summary>
    private async Task ChangeAsync(Func<IReadOnlyList<MlNode>, Change> plan, string? leaving = null)
    {
        Change? committed = null;
        Dictionary<string, IReadOnlyDictionary<string, NodeReservation>> written = new(StringComparer.Ordinal);
        await transactions.RunAsync(async () =>
        {
            var nodes = (await mlNodes.LiveAsync(CancellationToken.None)).Where(n => n.Name != leaving).ToArray();
            var change = plan(nodes);
            written = await CommitAsync(change, nodes);
            committed = change;
        });
        Apply(committed!, written);
    }

    /// <summary>The transaction's body: every write the change makes, each a participant.</summary>
    private async Task<Dictionary<string, IReadOnlyDictionary<string, NodeReservation>>> CommitAsync(Change change, IReadOnlyList<MlNode> nodes)
    {
        if (change.Expected is var (expectedId, expectedAllocations)
            && (await Deployment(expectedId).ReadRecord()).Assignment?.TaskParameters.NumberOfAllocations != expectedAllocations)
            throw DeploymentErrors.ChangedConcurrently(expectedId);
        // Orleans makes the first participant that writes the transaction's manager, which the others ping until it
        // answers. Written first, the index (a grain any silo can activate) manages every change; a node's capacity
        // grain, bound to its silo, would leave the other participants' locks held for as long as that silo is dead.
        await index.PerformUpdate(i =>
        {
            i.Changes++;
            if (change.Created is { } c) i.DeploymentIds.Add(c.Id);
            if (change.Removed is { } gone) i.DeploymentIds.Remove(gone);
        });
        var writes = new List<Task>();
        foreach (var (id, assignment) in change.Plan.Assignments)
        {
            if (_deployments!.TryGetValue(id, out var before) && AssignmentStatus.Equivalent(before.Assignment, assignment)
                && before.MemoryBytes == change.Plan.MemoryBytes[id]) continue;
            writes.Add(Deployment(id).WriteRecord(new DeploymentRecord { Assignment = assignment, MemoryBytes = change.Plan.MemoryBytes[id] },
                create: id == change.Created?.Id));
        }
        // The namespace records every deployment of a model: a start and a delete of that model serialize there.
        if (change.Removed is { } removed)
        {
            writes.Add(Deployment(removed).ClearRecord());
            writes.Add(Ids.ReleaseDeployment(removed));
        }
        if (change.Created is var (created, modelId)) writes.Add(Ids.ClaimDeployment(created, modelId));

        var reservations = new Dictionary<string, IReadOnlyDictionary<string, NodeReservation>>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            var wanted = change.Plan.ReservationsOn(node.Name);
            if (_reserved.TryGetValue(node.Name, out var held) && SameReservations(held, wanted)) continue;
            reservations[node.Name] = wanted;
            writes.Add(Capacity(node.Name).Reserve(wanted));
        }
        await Task.WhenAll(writes);
        return reservations;
    }

    /// <summary>After the commit: the plan held here moves, the silo's inference view refreshes, and the touched nodes are told.</summary>
    private void Apply(Change change, Dictionary<string, IReadOnlyDictionary<string, NodeReservation>> reserved)
    {
        var touched = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (id, assignment) in change.Plan.Assignments)
        {
            if (_deployments!.TryGetValue(id, out var before))
            {
                if (AssignmentStatus.Equivalent(before.Assignment, assignment)) continue;
                touched.UnionWith(before.Assignment?.RoutingTable.Keys ?? []);
            }
            touched.UnionWith(assignment.RoutingTable.Keys);
            _deployments[id] = new DeploymentRecord { Assignment = assignment, MemoryBytes = change.Plan.MemoryBytes[id] };
        }
        if (change.Removed is { } removed && _deployments!.Remove(removed, out var gone))
            touched.UnionWith(gone.Assignment?.RoutingTable.Keys ?? []);
        foreach (var (node, reservations) in reserved) _reserved[node] = reservations;
        inferenceTargets.Invalidate();
        foreach (var node in touched) Notify(node);
    }

    private static bool SameReservations(IReadOnlyDictionary<string, NodeReservation> a, IReadOnlyDictionary<string, NodeReservation> b) =>
        a.Count == b.Count && a.All(r => b.TryGetValue(r.Key, out var other) && other == r.Value);

    private DeploymentRecord? Find(string id) =>
        _deployments!.TryGetValue(id, out var record) && record.Assignment is not null ? record : null;

    private Dictionary<string, (TrainedModelAssignment Assignment, long MemoryBytes)> Current() =>
        _deployments!.Where(d => d.Value.Assignment is not null)
            .ToDictionary(d => d.Key, d => (d.Value.Assignment!, d.Value.MemoryBytes), StringComparer.Ordinal);

    private bool ScalingPossible(IReadOnlyList<MlNode> nodes) => settings.MaxLazyNodes > nodes.Count;

    /// <summary>Tells a node its routes changed without waiting: the node calls back, and waiting here would hold the turn.</summary>
    private void Notify(string node) =>
        GrainFactory.GetGrain<INodeCapacityGrain>(node).RoutesChanged().ContinueWith(
            t => LogNotifyFailed(logger, node, t.Exception!.GetBaseException()),
            CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);

    /// <summary>
    /// Logs the nodes that joined or went since the last look (a killed node never says it left). The first look of an
    /// activation only takes the live set: a coordinator that moved must not announce every node again.
    /// </summary>
    private void NoteLiveNodes(IReadOnlyList<MlNode> nodes)
    {
        var live = nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        if (!_knownNodesRead)
        {
            _knownNodesRead = true;
            _knownNodes.UnionWith(live);
            return;
        }
        foreach (var gone in _knownNodes.Where(n => !live.Contains(n)).ToArray())
        {
            _knownNodes.Remove(gone);
            ControlPlaneLog.NodeLeft(logger, gone, "no longer live");
        }
        foreach (var joined in live.Where(_knownNodes.Add).ToArray()) ControlPlaneLog.NodeJoined(logger, joined, "live");
    }

    private static string Nodes(TrainedModelAssignment assignment) => string.Join(",", assignment.RoutingTable.Keys.Order(StringComparer.Ordinal));

    private static string Outcome(TrainedModelAssignment assignment) => EsNames.Of(assignment.AssignmentState);

    private static string Signature(IEnumerable<MlNode> nodes) =>
        string.Join(';', nodes.Select(n => $"{n.Name}:{n.AllocatedProcessors}:{n.MemoryBytes}"));

    /// <summary>What one change commits: the new plan, and the deployment created (with its model) or removed.</summary>
    private sealed record Change(RebalanceResult Plan)
    {
        public (string Id, string ModelId)? Created { get; init; }
        public string? Removed { get; init; }

        /// <summary>The number of allocations the deployment's committed record must still have (the scaler's compare-and-set).</summary>
        public (string Id, int Allocations)? Expected { get; init; }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deployment {DeploymentId} was left stopping by an earlier coordinator; finishing the stop")]
    private static partial void LogFinishingStop(ILogger logger, string deploymentId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Finishing the stop of deployment {DeploymentId} failed; a stop request or the next coordinator retries it")]
    private static partial void LogFinishingStopFailed(ILogger logger, string deploymentId, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "adaptive allocations scaler: scaling [{DeploymentId}] from [{From}] to [{To}] allocations failed")]
    private static partial void LogScalingFailed(ILogger logger, string deploymentId, int from, int to, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "adaptive allocations scaler: reading the deployments' stats failed")]
    private static partial void LogPollFailed(ILogger logger, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Telling node {Node} about its routes failed")]
    private static partial void LogNotifyFailed(ILogger logger, string node, Exception error);
}
