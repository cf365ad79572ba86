using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Concurrency;
using Orleans.Transactions.Abstractions;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Placement;
using TrainedModelsOrleans.Inference.OnnxRuntime;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>A node's durable state: what it offered and the reservations the committed plan holds on it.</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Alias("tmo.NodeCapacityState")]
public sealed class NodeCapacityState
{
    public int Processors { get; set; }
    public long MemoryBytes { get; set; }
    public Dictionary<string, NodeReservation> Reservations { get; set; } = new(StringComparer.Ordinal);
    public int NormalThreads { get; set; }
    public int LowThreads { get; set; }
}

/// <summary>
/// The agent of one ML node, on that node's silo: keeps the node's reservations (invariant 1 is checked here, in the
/// plan's transaction, and again by PostgreSQL on the stored row), joins and leaves the plan, and makes the node
/// serve exactly the routes committed for it — opening models for starting routes (reporting started or failed
/// with ONNX Runtime's reason) and closing what is no longer routed here.
/// </summary>
[SiloNamePlacement]
[Reentrant]
public sealed partial class NodeCapacityGrain(
    [TransactionalState("node-capacity")] ITransactionalState<NodeCapacityState> capacity,
    DeploymentServing serving,
    LocalNode local,
    ILogger<NodeCapacityGrain> logger)
    : Grain, INodeCapacityGrain
{
    private readonly SemaphoreSlim _applying = new(1, 1);

    private string Node => this.GetPrimaryKeyString();
    private IAssignmentCoordinatorGrain Coordinator => GrainFactory.GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key);

    public Task<NodeOffer> GetOffer() => Task.FromResult(new NodeOffer(local.Name, local.Processors, local.MemoryBytes));

    public Task Reserve(IReadOnlyDictionary<string, NodeReservation> reservations) => capacity.PerformUpdate(state =>
    {
        var normal = reservations.Values.Where(r => r.Priority == Priority.Normal).Sum(r => r.Threads);
        if (normal > local.Processors)
            throw new ElasticsearchException(429, "status_exception",
                $"node [{Node}] would run {normal} normal-priority threads on {local.Processors} allocated processors");
        state.Processors = local.Processors;
        state.MemoryBytes = local.MemoryBytes;
        state.Reservations = new Dictionary<string, NodeReservation>(reservations, StringComparer.Ordinal);
        state.NormalThreads = normal;
        state.LowThreads = reservations.Values.Where(r => r.Priority == Priority.Low).Sum(r => r.Threads);
    });

    public Task<NodeCapacity> GetCapacity() =>
        capacity.PerformRead(s => new NodeCapacity(Node, s.Processors, s.MemoryBytes, s.NormalThreads, s.LowThreads));

    public async Task Join()
    {
        await Coordinator.NodeJoined(Node);
        await RoutesChanged();
    }

    public async Task Leave()
    {
        await Coordinator.NodeLeft(Node);
        foreach (var deployment in serving.DeploymentIds) await Worker(deployment).Close();
    }

    public async Task RoutesChanged()
    {
        // One application of the routes at a time: this grain is reentrant, and two notifications may race.
        await _applying.WaitAsync();
        try
        {
            await ApplyRoutesAsync();
        }
        finally
        {
            _applying.Release();
        }
    }

    private async Task ApplyRoutesAsync()
    {
        var routes = await Coordinator.GetRoutes(Node);
        foreach (var route in routes.Where(r => r.State == RoutingState.Starting && r.Allocations > 0))
        {
            string? failure = null;
            try
            {
                await Worker(route.DeploymentId).Open(route);
            }
            catch (OnnxRuntimeException e)
            {
                failure = e.OrtMessage;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failure = e.Message;
            }
            if (failure is not null) ControlPlaneLog.AllocationFailed(logger, route.DeploymentId, Node, failure, "failed");
            await Coordinator.UpdateRoutingState(route.DeploymentId, Node,
                failure is null ? RoutingState.Started : RoutingState.Failed, failure);
        }

        // A started route whose allocations changed is resized in place.
        foreach (var route in routes.Where(r => r.State == RoutingState.Started && r.Allocations > 0))
            await Worker(route.DeploymentId).Open(route);

        // Stopping routes keep serving what is queued; the stop drains or fails them before the route goes.
        var routed = routes.Where(r => r.State is RoutingState.Starting or RoutingState.Started or RoutingState.Stopping)
            .Select(r => r.DeploymentId).ToHashSet();
        foreach (var open in serving.DeploymentIds.Where(k => !routed.Contains(k)))
            await Worker(open).Close();
    }

    private IInferenceWorkerGrain Worker(string deploymentId) => GrainFactory.GetGrain<IInferenceWorkerGrain>(InferenceWorkerKey.Of(Node, deploymentId));
}
