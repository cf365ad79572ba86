using Microsoft.Extensions.Logging;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Inference.OnnxRuntime;
using Orleans;
using Orleans.Concurrency;
using TrainedModelsOrleans.Grains.Placement;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>
/// The agent of one ML node: joins the plan when its silo starts, and makes the node serve exactly
/// the routes committed for it — opening models for starting routes (reporting started or failed
/// with ONNX Runtime's reason) and closing what is no longer routed here.
/// </summary>
[SiloNamePlacement]
public sealed partial class NodeCapacityGrain(
    DeploymentTables tables, DeploymentServing serving, ILogger<NodeCapacityGrain> logger)
    : Grain, INodeCapacityGrain
{
    private string Node => this.GetPrimaryKeyString();
    private IAssignmentCoordinatorGrain Coordinator => GrainFactory.GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key);

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
        var routes = await tables.RoutesOfNodeAsync(Node, CancellationToken.None);
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
            if (failure is not null) LogOpenFailed(logger, route.DeploymentId, Node, failure);
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

    public async Task<NodeCapacity> GetCapacity() =>
        await tables.NodeCapacityAsync(Node, CancellationToken.None) ?? new NodeCapacity(Node, 0, 0, 0, 0);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deployment {Deployment} failed to open on node {Node}: {Reason}")]
    private static partial void LogOpenFailed(ILogger logger, string deployment, string node, string reason);
}
