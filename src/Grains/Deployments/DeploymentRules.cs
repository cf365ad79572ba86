using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>What the start checks need to know about the cluster, read by the grain before it plans.</summary>
public sealed record StartContext
{
    /// <summary>Deployments that exist now (any state).</summary>
    public required int ExistingDeployments { get; init; }

    /// <summary>The setting <c>ml.max_deployments</c> (default 100).</summary>
    public int MaxDeployments { get; init; } = 100;

    /// <summary>A deployment with the requested deployment id exists.</summary>
    public required bool DeploymentIdExists { get; init; }

    /// <summary>The model being deployed; null when there is none.</summary>
    public required TrainedModelConfig? Model { get; init; }

    /// <summary>
    /// The deployment id differs from the model id and names another model (ES looks it up with GET trained
    /// models, so an alias of another model counts too).
    /// </summary>
    public required bool DeploymentIdNamesAnotherModel { get; init; }

    /// <summary>The model's definition parts as stored; null is read as "no parts".</summary>
    public required DefinitionAssembly? Definition { get; init; }
}

/// <summary>The start wait's verdict on one look at the assignment.</summary>
public enum StartWaitState { Waiting, Reached, Failed, Removed }

/// <summary>
/// One evaluation of the start wait. <see cref="Error"/> is set for <see cref="StartWaitState.Failed"/>
/// (delete the assignment, then throw it) and <see cref="StartWaitState.Removed"/> (throw it).
/// </summary>
public sealed record StartWaitOutcome(StartWaitState State, ElasticsearchException? Error = null);

/// <summary>What an update request asks of the coordinator once its checks pass.</summary>
public enum UpdateKind
{
    /// <summary>Nothing changes: answer with the current assignment (ES does no state check then).</summary>
    NoChange,

    /// <summary>Only the adaptive settings change; allocations stay.</summary>
    KeepAllocations,

    /// <summary>More allocations: re-plan; 429 if they cannot all be placed and scaling is impossible.</summary>
    Increase,

    /// <summary>Fewer allocations: run the allocation reducer and clear the assignment's reason.</summary>
    Decrease,
}

/// <param name="AdaptiveAllocations">The adaptive settings the deployment has after the update (null: none).</param>
public sealed record UpdatePlan(UpdateKind Kind, int NumberOfAllocations, AdaptiveAllocationsSettings? AdaptiveAllocations);

/// <summary>
/// The deployment APIs' rules that need state, as pure checks the grains call; each throws the
/// <see cref="DeploymentErrors"/> ES would answer with. Sources: TransportStartTrainedModelDeploymentAction,
/// TrainedModelAssignmentClusterService, TransportStopTrainedModelDeploymentAction.
/// </summary>
public static class DeploymentRules
{
    /// <summary>
    /// The start checks on the master, in ES's order: the deployment limit (429), a duplicate deployment id
    /// (400), the model missing (404), not onnx (400), without location (500), the deployment id naming another
    /// model (400), then the definition (404 no parts, 400 truncated).
    /// </summary>
    public static void CheckStart(StartDeploymentSettings request, StartContext context)
    {
        CheckDeploymentLimit(context.ExistingDeployments, context.MaxDeployments);
        CheckDeploymentIdFree(request.DeploymentId, context.DeploymentIdExists);
        var model = CheckModelDeployable(request.ModelId, context.Model);
        CheckDeploymentIdNotAnotherModel(request.ModelId, request.DeploymentId, context.DeploymentIdNamesAnotherModel);
        (context.Definition ?? DefinitionAssembly.Start(model.ModelId)).EnsureComplete();
    }

    public static void CheckDeploymentLimit(int existingDeployments, int maxDeployments)
    {
        if (existingDeployments >= maxDeployments) throw DeploymentErrors.TooManyDeployments(maxDeployments);
    }

    public static void CheckDeploymentIdFree(string deploymentId, bool deploymentIdExists)
    {
        if (deploymentIdExists) throw DeploymentErrors.AlreadyExists(deploymentId);
    }

    /// <summary>The model exists, is <c>onnx</c> and has a location; returns it.</summary>
    public static TrainedModelConfig CheckModelDeployable(string modelId, TrainedModelConfig? model)
    {
        if (model is null) throw DeploymentErrors.ModelNotFound(modelId);
        if (model.ModelType != TrainedModelType.Onnx) throw DeploymentErrors.NotDeployable(model.ModelId, model.ModelType);
        if (model.Location is null) throw DeploymentErrors.NoLocation(model.ModelId);
        return model;
    }

    public static void CheckDeploymentIdNotAnotherModel(string modelId, string deploymentId, bool deploymentIdNamesAnotherModel)
    {
        if (deploymentId != modelId && deploymentIdNamesAnotherModel) throw DeploymentErrors.IdTakenByModel(deploymentId);
    }

    /// <summary>
    /// After planning a new deployment: when scaling is impossible and the plan does not satisfy it
    /// (<see cref="AssignmentStatus.IsSatisfied"/>), 429 — "no ML nodes with sufficient capacity" with no
    /// route at all (caused by the plan's reason), else "not enough resources".
    /// </summary>
    public static void CheckStartCapacity(TrainedModelAssignment planned, IReadOnlyCollection<string> assignableNodes, bool scalingPossible)
    {
        if (scalingPossible || AssignmentStatus.IsSatisfied(planned, assignableNodes)) return;
        if (planned.RoutingTable.Count == 0) throw DeploymentErrors.NoCapacity(planned.Reason);
        throw DeploymentErrors.NotEnoughResources();
    }

    /// <summary>
    /// One look at the assignment while the start waits (DeploymentStartedPredicate): gone → removed (400);
    /// any route failed → failed (500, delete the assignment first); the wait rule of
    /// <see cref="AssignmentStatus.ReachedWaitFor"/> → reached; else keep waiting (408 on timeout, see
    /// <see cref="DeploymentErrors.StartTimedOut"/>).
    /// </summary>
    public static StartWaitOutcome EvaluateStartWait(TrainedModelAssignment? assignment, AllocationState waitFor)
    {
        if (assignment is null) return new(StartWaitState.Removed, DeploymentErrors.RemovedWhileWaiting());
        var failed = AssignmentStatus.FailedRoutes(assignment);
        if (failed.Count > 0) return new(StartWaitState.Failed, DeploymentErrors.NodesFailed(failed));
        return AssignmentStatus.ReachedWaitFor(assignment, waitFor) ? new(StartWaitState.Reached) : new(StartWaitState.Waiting);
    }

    /// <summary>
    /// The update checks, in ES's order: unknown deployment (404); on the merged adaptive settings, allocations
    /// given while enabled and their own rules (400 validation_exception); a low-priority deployment asked for
    /// more than one allocation (400); no change → <see cref="UpdateKind.NoChange"/> without a state check; not
    /// started (409). <paramref name="currentAdaptive"/> is the deployment's stored adaptive settings.
    /// </summary>
    public static UpdatePlan CheckUpdate(UpdateDeploymentSettings request, TrainedModelAssignment? existing, AdaptiveAllocationsSettings? currentAdaptive)
    {
        if (existing is null) throw DeploymentErrors.UnknownDeployment(request.DeploymentId);
        var current = existing.TaskParameters.NumberOfAllocations;

        var merged = request.ResetAdaptiveAllocations ? null
            : request.AdaptiveAllocations is null ? currentAdaptive
            : currentAdaptive?.Merge(request.AdaptiveAllocations) ?? request.AdaptiveAllocations;
        if (merged is not null)
        {
            if (merged.IsEnabled && request.NumberOfAllocations is not null)
                throw DeploymentErrors.MergedValidation(["[number_of_allocations] cannot be set if adaptive allocations is enabled"]);
            var errors = merged.ValidationErrors();
            if (errors.Count > 0) throw DeploymentErrors.MergedValidation(errors);
        }

        if (existing.TaskParameters.Priority == Priority.Low && request.NumberOfAllocations > 1)
            throw DeploymentErrors.LowPriorityAllocations();

        var allocationsChange = request.NumberOfAllocations is { } n && n != current;
        var adaptiveChange = request.ResetAdaptiveAllocations
            ? currentAdaptive is not null
            : request.AdaptiveAllocations is not null && AdaptiveAllocationsSettings.From(merged?.ToStored()) != currentAdaptive;
        if (!allocationsChange && !adaptiveChange) return new UpdatePlan(UpdateKind.NoChange, current, currentAdaptive);

        if (existing.AssignmentState != AssignmentState.Started) throw DeploymentErrors.NotStarted();

        var target = request.NumberOfAllocations ?? current;
        var kind = target == current ? UpdateKind.KeepAllocations : target > current ? UpdateKind.Increase : UpdateKind.Decrease;
        return new UpdatePlan(kind, target, merged);
    }

    /// <summary>After re-planning an increase: 429 when scaling is impossible and the new target total is short.</summary>
    public static void CheckUpdateCapacity(int plannedTotalTargetAllocations, int requestedAllocations, bool scalingPossible)
    {
        if (!scalingPossible && plannedTotalTargetAllocations < requestedAllocations) throw DeploymentErrors.UpdateNotEnoughResources();
    }

    /// <summary>
    /// The stop checks, in ES's order. Returns false when there is nothing to stop and the answer is
    /// <c>{"stopped":true}</c> (allow_no_match); throws 404 with allow_no_match=false. Unless forced: 409 when
    /// an inference processor names the deployment id, then 409 when it names an alias whose model id equals
    /// the deployment id (the first such alias in ordinal order).
    /// </summary>
    /// <param name="referencedIds">Every model id or alias named by an inference processor (IngestPipeline.ReferencedModelIds).</param>
    /// <param name="aliasesOfDeploymentId">Aliases whose target model id equals the deployment id.</param>
    public static bool CheckStop(StopDeploymentSettings request, bool deploymentExists, IReadOnlySet<string> referencedIds,
        IEnumerable<string> aliasesOfDeploymentId)
    {
        if (!deploymentExists)
        {
            if (!request.AllowNoMatch) throw DeploymentErrors.UnknownDeployment(request.DeploymentId);
            return false;
        }
        if (request.Force) return true;
        if (referencedIds.Contains(request.DeploymentId)) throw DeploymentErrors.ReferencedByPipelines(request.DeploymentId);
        var alias = aliasesOfDeploymentId.Order(StringComparer.Ordinal).FirstOrDefault(referencedIds.Contains);
        if (alias is not null) throw DeploymentErrors.AliasReferencedByPipelines(request.DeploymentId, alias);
        return true;
    }
}
