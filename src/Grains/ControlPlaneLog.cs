using Microsoft.Extensions.Logging;

namespace TrainedModelsOrleans.Grains;

/// <summary>
/// The control plane's events, one line each, logged once by whoever made the change after it committed (never per
/// attempt of a retried transaction, never per inference request). Every event names what changed (deployment, model,
/// alias), the node (the node that made or underwent the change) and its outcome, as structured fields the json
/// console formatter writes out separately. Event ids 1300–1399.
/// </summary>
public static partial class ControlPlaneLog
{
    [LoggerMessage(EventId = 1301, EventName = "DeploymentStarted", Level = LogLevel.Information,
        Message = "Deployment {DeploymentId} of model {ModelId} started from node {Node}: {Allocations} allocations planned on [{Nodes}], outcome {Outcome}")]
    public static partial void DeploymentStarted(ILogger logger, string deploymentId, string modelId, string node, int allocations, string nodes, string outcome);

    [LoggerMessage(EventId = 1302, EventName = "DeploymentUpdated", Level = LogLevel.Information,
        Message = "Deployment {DeploymentId} updated from node {Node}: {From} to {To} allocations on [{Nodes}], outcome {Outcome}")]
    public static partial void DeploymentUpdated(ILogger logger, string deploymentId, string node, int from, int to, string nodes, string outcome);

    [LoggerMessage(EventId = 1303, EventName = "DeploymentScaled", Level = LogLevel.Information,
        Message = "Deployment {DeploymentId} scaled by adaptive allocations from node {Node}: {From} to {To} allocations on [{Nodes}], outcome {Outcome}")]
    public static partial void DeploymentScaled(ILogger logger, string deploymentId, string node, int from, int to, string nodes, string outcome);

    [LoggerMessage(EventId = 1304, EventName = "DeploymentStopped", Level = LogLevel.Information,
        Message = "Deployment {DeploymentId} stopped from node {Node} ({Reason}), outcome {Outcome}")]
    public static partial void DeploymentStopped(ILogger logger, string deploymentId, string node, string reason, string outcome);

    [LoggerMessage(EventId = 1311, EventName = "AllocationStarted", Level = LogLevel.Information,
        Message = "Deployment {DeploymentId} serves on node {Node}: {Allocations} allocations of {Threads} threads, outcome {Outcome}")]
    public static partial void AllocationStarted(ILogger logger, string deploymentId, string node, int allocations, int threads, string outcome);

    [LoggerMessage(EventId = 1312, EventName = "AllocationResized", Level = LogLevel.Information,
        Message = "Deployment {DeploymentId} on node {Node}: {From} to {To} allocations, outcome {Outcome}")]
    public static partial void AllocationResized(ILogger logger, string deploymentId, string node, int from, int to, string outcome);

    [LoggerMessage(EventId = 1313, EventName = "AllocationRemoved", Level = LogLevel.Information,
        Message = "Deployment {DeploymentId} no longer serves on node {Node}, outcome {Outcome}")]
    public static partial void AllocationRemoved(ILogger logger, string deploymentId, string node, string outcome);

    [LoggerMessage(EventId = 1314, EventName = "AllocationFailed", Level = LogLevel.Warning,
        Message = "Deployment {DeploymentId} failed to open on node {Node}: {Reason}, outcome {Outcome}")]
    public static partial void AllocationFailed(ILogger logger, string deploymentId, string node, string reason, string outcome);

    [LoggerMessage(EventId = 1321, EventName = "AliasMoved", Level = LogLevel.Information,
        Message = "Alias {Alias} points to model {ModelId} (before: {FromModelId}) on node {Node}, outcome {Outcome}")]
    public static partial void AliasMoved(ILogger logger, string alias, string fromModelId, string modelId, string node, string outcome);

    [LoggerMessage(EventId = 1322, EventName = "AliasDeleted", Level = LogLevel.Information,
        Message = "Alias {Alias} of model {ModelId} deleted on node {Node}, outcome {Outcome}")]
    public static partial void AliasDeleted(ILogger logger, string alias, string modelId, string node, string outcome);

    [LoggerMessage(EventId = 1331, EventName = "ModelPut", Level = LogLevel.Information,
        Message = "Model {ModelId} ({ModelType}) put on node {Node}, outcome {Outcome}")]
    public static partial void ModelPut(ILogger logger, string modelId, string modelType, string node, string outcome);

    [LoggerMessage(EventId = 1332, EventName = "ModelDeleted", Level = LogLevel.Information,
        Message = "Model {ModelId} deleted on node {Node} (force {Force}), outcome {Outcome}")]
    public static partial void ModelDeleted(ILogger logger, string modelId, string node, bool force, string outcome);

    [LoggerMessage(EventId = 1341, EventName = "NodeJoined", Level = LogLevel.Information,
        Message = "Node {Node} joined the ML plan, outcome {Outcome}")]
    public static partial void NodeJoined(ILogger logger, string node, string outcome);

    [LoggerMessage(EventId = 1342, EventName = "NodeLeft", Level = LogLevel.Information,
        Message = "Node {Node} left the ML plan, outcome {Outcome}")]
    public static partial void NodeLeft(ILogger logger, string node, string outcome);
}
