using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// The deployment APIs' errors with Elasticsearch's types, statuses and texts (sources named on each).
/// One place for the texts: <see cref="DeploymentRules"/> and the grains throw these.
/// </summary>
public static class DeploymentErrors
{
    // --- start (TransportStartTrainedModelDeploymentAction) ---

    /// <summary>429: <c>ml.max_deployments</c> (ES's MAX_TRAINED_MODEL_DEPLOYMENTS) reached.</summary>
    public static ElasticsearchException TooManyDeployments(int maxDeployments) => EsErrors.Status(429,
        $"Could not start model deployment because existing deployments reached the limit of [{maxDeployments}]");

    /// <summary>400 (ES's wording, "exist" included).</summary>
    public static ElasticsearchException AlreadyExists(string deploymentId) => EsErrors.BadRequest(
        $"Could not start model deployment because an existing deployment with the same id [{deploymentId}] exist");

    /// <summary>404 resource_not_found_exception (Messages.INFERENCE_NOT_FOUND).</summary>
    public static ElasticsearchException ModelNotFound(string modelId) =>
        EsErrors.NotFound($"Could not find trained model [{modelId}]");

    /// <summary>400; ES says "Only PyTorch models", our deployable type is onnx.</summary>
    public static ElasticsearchException NotDeployable(string modelId, string modelType) => EsErrors.BadRequest(
        $"model [{modelId}] of type [{modelType}] cannot be deployed. Only ONNX models can be deployed");

    /// <summary>500 (ExceptionsHelper.serverError).</summary>
    public static ElasticsearchException NoLocation(string modelId) =>
        EsErrors.Status(500, $"model [{modelId}] does not have location");

    /// <summary>400: the deployment id is another model's id (or alias).</summary>
    public static ElasticsearchException IdTakenByModel(string deploymentId) => EsErrors.BadRequest(
        $"Deployment id [{deploymentId}] is the same as an another model which is not the model being deployed. " +
        "Deployment id can be the same as the model being deployed but cannot match a different model");

    /// <summary>
    /// 429 when the plan gives the new deployment no route and scaling is impossible
    /// (TrainedModelAssignmentClusterService.checkModelIsFullyAllocatedIfScalingIsNotPossible), caused by an
    /// illegal_state_exception carrying the planner's explanation.
    /// </summary>
    public static ElasticsearchException NoCapacity(string? allocationExplanation = null) => new ElasticsearchExceptionWithCause(
        429, "status_exception", "Could not start deployment because no ML nodes with sufficient capacity were found",
        new ElasticsearchException(500, "illegal_state_exception",
            $"Could not start deployment because no suitable nodes were found, allocation explanation [{allocationExplanation ?? "none"}]"));

    /// <summary>429 when the plan places only some of the requested allocations and scaling is impossible.</summary>
    public static ElasticsearchException NotEnoughResources() => EsErrors.Status(429,
        "Could not start deployment because there are not enough resources to provide all requested allocations");

    /// <summary>409: the id was claimed concurrently (ES turns ResourceAlreadyExistsException into this).</summary>
    public static ElasticsearchException AlreadyStarted(string deploymentId) => EsErrors.Status(409,
        $"Cannot start deployment [{deploymentId}] because it has already been started");

    /// <summary>408 model_deployment_timeout_exception; the deployment is kept.</summary>
    public static ElasticsearchException StartTimedOut(TimeValue timeout, string deploymentId) => new(408, "model_deployment_timeout_exception",
        $"Timed out after [{timeout}] waiting for trained model deployment [{deploymentId}] to start. " +
        "Use the trained model stats API to track the state of the deployment and try again once it has started.");

    /// <summary>
    /// 500 after a route failed while waiting (the assignment is deleted first). The nodes print as Java's
    /// Map.toString, <c>{node-1=reason, node-2=reason}</c>, here in node order.
    /// </summary>
    public static ElasticsearchException NodesFailed(IEnumerable<KeyValuePair<string, string?>> failedRoutes) => EsErrors.Status(500,
        "Could not start trained model deployment, the following nodes failed with errors [" + JavaMap(failedRoutes) + "]");

    /// <summary>400: the assignment disappeared (stopped by another call) while the start waited.</summary>
    public static ElasticsearchException RemovedWhileWaiting() => EsErrors.BadRequest(
        "Error waiting for the model deployment to start. The trained model assignment was removed while waiting");

    // --- update (TrainedModelAssignmentClusterService.updateDeployment) ---

    /// <summary>404 resource_not_found_exception (ExceptionsHelper.missingModelDeployment); also stop with allow_no_match=false.</summary>
    public static ElasticsearchException UnknownDeployment(string deploymentId) =>
        EsErrors.NotFound($"No known model deployment with id [{deploymentId}]");

    /// <summary>409.</summary>
    public static ElasticsearchException NotStarted() => EsErrors.Status(409, "cannot update deployment that is not in [started] state");

    /// <summary>Ours: the scaler's change found the deployment's allocations changed since it decided (it decides again next poll).</summary>
    public static ElasticsearchException ChangedConcurrently(string deploymentId) =>
        EsErrors.Status(409, $"the number of allocations of deployment [{deploymentId}] changed concurrently");

    /// <summary>429; nothing changes.</summary>
    public static ElasticsearchException UpdateNotEnoughResources() => EsErrors.Status(429,
        "Could not update deployment because there are not enough resources to provide all requested allocations");

    /// <summary>400: a low-priority deployment keeps one allocation (ES PR #139989; its exact text is not known, this is ours).</summary>
    public static ElasticsearchException LowPriorityAllocations() =>
        EsErrors.BadRequest("[number_of_allocations] must be 1 when [priority] is low");

    /// <summary>400 validation_exception (ES's ValidationException) for rules found on the merged adaptive settings.</summary>
    public static ElasticsearchException MergedValidation(IEnumerable<string> errors) =>
        new(400, "validation_exception", ElasticsearchException.Validation(errors).Reason);

    // --- stop (TransportStopTrainedModelDeploymentAction) ---

    public static ElasticsearchException ReferencedByPipelines(string deploymentId) => EsErrors.Status(409,
        $"Cannot stop deployment [{deploymentId}] as it is referenced by ingest processors; use force to stop the deployment");

    public static ElasticsearchException AliasReferencedByPipelines(string deploymentId, string alias) => EsErrors.Status(409,
        $"Cannot stop deployment [{deploymentId}] as it has a model_alias [{alias}] that is still referenced by ingest processors; " +
        "use force to stop the deployment");

    /// <summary>500 when removing the assignment fails after the nodes let go of it.</summary>
    public static ElasticsearchException StopRemovalFailed() => EsErrors.Status(500,
        "failed to delete model assignment after nodes unallocated the deployment. Attempt to stop again");

    /// <summary>Java's <c>Map.toString()</c>: <c>{k=v, k2=v2}</c>, null values as <c>null</c>.</summary>
    internal static string JavaMap(IEnumerable<KeyValuePair<string, string?>> entries) =>
        "{" + string.Join(", ", entries.Select(e => $"{e.Key}={e.Value ?? "null"}")) + "}";
}
