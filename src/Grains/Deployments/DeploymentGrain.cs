using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Aliases;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Pipelines;
using Orleans;
using Orleans.Concurrency;
using Orleans.Runtime;
using Orleans.Transactions.Abstractions;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// The deployment APIs. Validation and ES's checks come from the rules classes; placement and every write go
/// through the coordinator, whose transactions write this grain's record; the start waits here for wait_for.
/// Reentrant: a stop may arrive while a start waits, and transactional state requires it.
/// </summary>
[Reentrant]
public sealed class DeploymentGrain(
    [TransactionalState("deployment")] ITransactionalState<DeploymentRecord> record,
    PipelineTables pipelines,
    MlSettings settings,
    TimeProvider clock) : Grain, IDeploymentGrain, Errors.IKeyedByUserId
{
    /// <summary>No start in progress here and no transaction has touched its record through this activation (one may still confirm).</summary>
    bool Errors.IKeyedByUserId.HoldsNothing(bool callFoundNothing) => _startsInProgress == 0 && !_inTransaction;

    private int _startsInProgress;
    private bool _inTransaction;

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);

    private string DeploymentId => this.GetPrimaryKeyString();
    private IAssignmentCoordinatorGrain Coordinator => GrainFactory.GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key);
    private IMlIdsGrain Ids => GrainFactory.GetGrain<IMlIdsGrain>(IMlIdsGrain.Key);

    public async Task<TrainedModelAssignment> Start(StartDeploymentRequest given)
    {
        _startsInProgress++;
        try
        {
            return await StartAsync(given);
        }
        finally
        {
            _startsInProgress--;
        }
    }

    private async Task<TrainedModelAssignment> StartAsync(StartDeploymentRequest given)
    {
        var request = StartDeploymentSettings.From(given);
        var modelId = request.ModelId;
        var model = GrainFactory.GetGrain<ITrainedModelGrain>(modelId);
        var config = await model.GetConfig();
        var assignments = await Coordinator.GetAssignments();
        var namesAnotherModel = request.DeploymentId != modelId && await Ids.FindCommitted(request.DeploymentId) is { } taken
                                && taken.Kind is MlIdEntry.Model or MlIdEntry.Alias && taken.ModelId != modelId;
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
        await Coordinator.CreateAssignment(parameters, MemoryEstimate.Of(parameters, request.CacheSize?.Bytes), request.AdaptiveAllocations?.ToStored());

        var deadline = clock.GetUtcNow() + request.Timeout.ToTimeSpan();
        while (true)
        {
            var assignment = await Coordinator.GetAssignment(request.DeploymentId);
            var outcome = DeploymentRules.EvaluateStartWait(assignment, request.WaitFor);
            switch (outcome.State)
            {
                case StartWaitState.Reached:
                    return assignment!;
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

    public async Task<TrainedModelAssignment> Update(UpdateDeploymentRequest given)
    {
        var request = UpdateDeploymentSettings.From(given with { DeploymentId = DeploymentId });
        var existing = await Coordinator.GetAssignment(DeploymentId);
        var plan = DeploymentRules.CheckUpdate(request, existing, AdaptiveAllocationsSettings.From(existing?.AdaptiveAllocations));
        return plan.Kind == UpdateKind.NoChange
            ? existing!
            : await Coordinator.UpdateDeployment(DeploymentId, plan.NumberOfAllocations, plan.AdaptiveAllocations?.ToStored());
    }

    public async Task Stop(StopDeploymentRequest given)
    {
        var request = StopDeploymentSettings.From(given with { DeploymentId = DeploymentId });
        var exists = await Coordinator.GetAssignment(DeploymentId) is not null;
        var referenced = await pipelines.ReferencedIdsAsync(CancellationToken.None);
        var aliases = (await Ids.GetCommitted()).Where(i => i.Value.Kind == MlIdEntry.Alias && i.Value.ModelId == DeploymentId).Select(i => i.Key);
        if (DeploymentRules.CheckStop(request, exists, referenced, aliases))
        {
            // Routers stop sending once it is stopping; each node then drains (finish_pending_work) or fails its queue.
            if (await Coordinator.MarkStopping(DeploymentId, AssignmentStatus.StopReasonClientCall) is { } stopping)
                await Task.WhenAll(stopping.RoutingTable.Keys.Select(node => StopOnNodeAsync(node, request.FinishPendingWork)));
            await Coordinator.RemoveAssignment(DeploymentId, AssignmentStatus.StopReasonClientCall);
        }

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

    public async Task ClearCache()
    {
        var assignment = await Coordinator.GetAssignment(DeploymentId) ?? throw DeploymentErrors.UnknownDeployment(DeploymentId);
        await Task.WhenAll(AssignmentStatus.RoutableRoutes(assignment).Select(route =>
            GrainFactory.GetGrain<Serving.IInferenceWorkerGrain>(Serving.InferenceWorkerKey.Of(route.Key, DeploymentId)).ClearCache()));
    }

    public Task<TrainedModelAssignment?> GetAssignment() => Coordinator.GetAssignment(DeploymentId);

    public Task<DeploymentRecord> ReadRecord() =>
        InTransaction().PerformRead(r => new DeploymentRecord { Assignment = r.Assignment, MemoryBytes = r.MemoryBytes });

    public Task WriteRecord(DeploymentRecord written, bool create) => InTransaction().PerformUpdate(r =>
    {
        if (create && r.Assignment is not null) throw DeploymentErrors.AlreadyStarted(DeploymentId);
        r.Assignment = written.Assignment;
        r.MemoryBytes = written.MemoryBytes;
    });

    public Task ClearRecord() => InTransaction().PerformUpdate(r =>
    {
        r.Assignment = null;
        r.MemoryBytes = 0;
    });

    /// <summary>The record, noting that this activation takes part in a transaction (and must outlive its confirmation).</summary>
    private ITransactionalState<DeploymentRecord> InTransaction()
    {
        _inTransaction = true;
        return record;
    }
}
