using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Aliases;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Pipelines;
using TrainedModelsOrleans.Grains.Storage;
using Orleans;
using Orleans.Concurrency;
using Orleans.Runtime;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// The deployment APIs. Validation and ES's checks come from the rules classes; placement and every
/// write go through the coordinator; the start waits here for wait_for. Reentrant: it holds no state
/// of its own, so a stop may arrive while a start waits.
/// </summary>
[Reentrant]
public sealed class DeploymentGrain(
    GrainStateStore store,
    DeploymentTables tables,
    MlSettings settings,
    TimeProvider clock) : Grain, IDeploymentGrain
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);

    private string DeploymentId => this.GetPrimaryKeyString();
    private IAssignmentCoordinatorGrain Coordinator => GrainFactory.GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key);

    public async Task<StoreResponse> Start(string modelId, IReadOnlyDictionary<string, string?> query, byte[] body)
    {
        var request = StartDeploymentRequest.Parse(modelId, query, body);
        var model = GrainFactory.GetGrain<ITrainedModelGrain>(modelId);
        var config = await model.GetConfig();
        var assignments = await Coordinator.GetAssignments();
        var ids = await tables.IdsAsync([request.DeploymentId], CancellationToken.None);
        var namesAnotherModel = request.DeploymentId != modelId && ids.TryGetValue(request.DeploymentId, out var taken)
                                && taken.Kind is "model" or "alias" && taken.ModelId != modelId;
        DeploymentRules.CheckStart(request, new StartContext
        {
            ExistingDeployments = assignments.Count,
            MaxDeployments = settings.MaxDeployments,
            DeploymentIdExists = assignments.Any(a => a.TaskParameters.DeploymentId == request.DeploymentId),
            Model = config,
            DeploymentIdNamesAnotherModel = namesAnotherModel,
            Definition = config is null ? null : DefinitionAssembly.From(modelId, await model.GetDefinitionProgress()),
        });

        var modelBytes = config!.ModelSizeBytes;
        var parameters = request.ToTaskParameters(modelBytes);
        await Coordinator.CreateAssignment(parameters, MemoryEstimate.Of(parameters, request.CacheSize?.Bytes));

        var deadline = clock.GetUtcNow() + request.Timeout.ToTimeSpan();
        while (true)
        {
            var assignment = await Coordinator.GetAssignment(request.DeploymentId);
            var outcome = DeploymentRules.EvaluateStartWait(assignment, request.WaitFor);
            switch (outcome.State)
            {
                case StartWaitState.Reached:
                    return new StoreResponse(AssignmentJson.Response(assignment!), request.Warnings);
                case StartWaitState.Failed:
                    await Coordinator.RemoveAssignment(request.DeploymentId, "failed to start");
                    throw outcome.Error!;
                case StartWaitState.Removed:
                    throw outcome.Error!;
            }
            if (clock.GetUtcNow() >= deadline) throw DeploymentErrors.StartTimedOut(request.Timeout, request.DeploymentId);
            await Task.Delay(PollInterval);
        }
    }

    public async Task<JsonObject> Update(IReadOnlyDictionary<string, string?> query, byte[] body)
    {
        var request = UpdateDeploymentRequest.Parse(DeploymentId, query, body);
        var existing = await Coordinator.GetAssignment(DeploymentId);
        var plan = DeploymentRules.CheckUpdate(request, existing, currentAdaptive: null);
        var updated = plan.Kind is UpdateKind.Increase or UpdateKind.Decrease
            ? await Coordinator.UpdateAllocations(DeploymentId, plan.NumberOfAllocations)
            : existing!;
        return AssignmentJson.Response(updated);
    }

    public async Task<JsonObject> Stop(IReadOnlyDictionary<string, string?> query, byte[] body)
    {
        var request = StopDeploymentRequest.Parse(DeploymentId, query, body);
        var exists = await Coordinator.GetAssignment(DeploymentId) is not null;
        var referenced = (await tables.PipelineReferencesAsync(CancellationToken.None)).ToHashSet(StringComparer.Ordinal);
        var aliases = await tables.AliasesOfAsync(DeploymentId, CancellationToken.None);
        if (DeploymentRules.CheckStop(request, exists, referenced, aliases))
        {
            // Routers stop sending once it is stopping; each node then drains (finish_pending_work) or fails its queue.
            if (await Coordinator.MarkStopping(DeploymentId, AssignmentStatus.StopReasonClientCall) is { } stopping)
                await Task.WhenAll(stopping.RoutingTable.Keys.Select(node => StopOnNodeAsync(node, request.FinishPendingWork)));
            await Coordinator.RemoveAssignment(DeploymentId, AssignmentStatus.StopReasonClientCall);
        }
        return new JsonObject { ["stopped"] = true };
    }

    /// <summary>A node that is gone has nothing left to drain; its queue failed with it.</summary>
    private async Task StopOnNodeAsync(string node, bool finishPendingWork)
    {
        try
        {
            await GrainFactory.GetGrain<Serving.IInferenceWorkerGrain>(Serving.InferenceWorkerKey.Of(node, DeploymentId)).Stop(finishPendingWork);
        }
        catch (Exception e) when (e is SiloUnavailableException or OrleansMessageRejectionException)
        {
        }
    }

    public async Task<TrainedModelAssignment?> GetAssignment() =>
        (await store.ReadAsync<DeploymentRecord>(new StateKey(DeploymentTables.DeploymentGrainType, DeploymentId), DeploymentTables.AssignmentState))
        .State.Assignment;
}
