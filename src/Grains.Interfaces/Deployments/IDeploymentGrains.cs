using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.ModelStore;
using Orleans;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// One deployment (keyed by deployment id): the start / update / stop APIs. Its durable state is the
/// assignment, written only by the coordinator; the grain re-reads it before answering.
/// </summary>
public interface IDeploymentGrain : IGrainWithStringKey
{
    /// <summary>POST _ml/trained_models/&lt;model_id&gt;/deployment/_start (the key is the deployment id).</summary>
    [ResponseTimeout("01:00:00")]
    Task<StoreResponse> Start(string modelId, IReadOnlyDictionary<string, string?> query, byte[] body);

    Task<JsonObject> Update(IReadOnlyDictionary<string, string?> query, byte[] body);

    [ResponseTimeout("00:10:00")]
    Task<JsonObject> Stop(IReadOnlyDictionary<string, string?> query, byte[] body);

    Task<TrainedModelAssignment?> GetAssignment();
}

/// <summary>
/// The single writer of assignments and node capacity (key "cluster"): runs the planner and commits
/// every touched deployment and node in one transaction. Non-reentrant: changes are serial.
/// </summary>
public interface IAssignmentCoordinatorGrain : IGrainWithStringKey
{
    Task<TrainedModelAssignment> CreateAssignment(TaskParameters parameters, long memoryBytes);

    Task<TrainedModelAssignment> UpdateAllocations(string deploymentId, int numberOfAllocations);

    /// <summary>Marks the assignment stopping (routers stop sending to it); null if unknown.</summary>
    Task<TrainedModelAssignment?> MarkStopping(string deploymentId, string reason);

    /// <summary>Marks the assignment stopping if it is not, removes it and re-plans the rest. False if unknown.</summary>
    Task<bool> RemoveAssignment(string deploymentId, string reason);

    /// <summary>A node reports what happened to a route (started, failed with a reason, stopped).</summary>
    Task UpdateRoutingState(string deploymentId, string node, RoutingState state, string? reason);

    Task NodeJoined(string node);

    Task NodeLeft(string node);

    /// <summary>Re-plans if the live nodes (or what they offer) changed since the last plan.</summary>
    Task RefreshNodes();

    Task<TrainedModelAssignment?> GetAssignment(string deploymentId);

    Task<IReadOnlyList<TrainedModelAssignment>> GetAssignments();

    /// <summary>The ML node (silo name) this activation runs on: where the control plane lives right now.</summary>
    Task<string> GetNode();
}

/// <summary>One ML node (key = node name): applies its routes by opening and closing models locally.</summary>
public interface INodeCapacityGrain : IGrainWithStringKey
{
    /// <summary>The node's silo started: join the plan and re-open what is routed here.</summary>
    Task Join();

    /// <summary>The node's silo is leaving gracefully.</summary>
    Task Leave();

    /// <summary>The coordinator committed a plan that changes this node's routes.</summary>
    Task RoutesChanged();

    Task<NodeCapacity> GetCapacity();
}

[GenerateSerializer, Immutable, Alias("tmo.NodeCapacity")]
public sealed record NodeCapacity(string Node, int AllocatedProcessors, long MemoryBytes, int NormalThreads, int LowThreads);

/// <summary>A route this node must serve, as committed.</summary>
[GenerateSerializer, Immutable, Alias("tmo.NodeRoute")]
public sealed record NodeRoute(string DeploymentId, string ModelId, int ThreadsPerAllocation, int Allocations, Priority Priority, RoutingState State,
    int QueueCapacity = 1024, long CacheSizeBytes = 0);
