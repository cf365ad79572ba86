using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.ModelStore;
using Orleans;
using Orleans.Concurrency;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// One deployment (keyed by deployment id): the start / update / stop APIs. Its durable state is the
/// assignment, written only inside the coordinator's transactions (the Join methods).
/// </summary>
public interface IDeploymentGrain : IGrainWithStringKey
{
    /// <summary>
    /// POST _ml/trained_models/&lt;model_id&gt;/deployment/_start (the key is the deployment id): the assignment once
    /// <see cref="StartDeploymentRequest.WaitFor"/> is reached.
    /// </summary>
    [ResponseTimeout("01:00:00")]
    Task<TrainedModelAssignment> Start(StartDeploymentRequest request);

    /// <summary>POST _ml/trained_models/&lt;deployment_id&gt;/deployment/_update: the assignment after the change.</summary>
    Task<TrainedModelAssignment> Update(UpdateDeploymentRequest request);

    /// <summary>POST _ml/trained_models/&lt;deployment_id&gt;/deployment/_stop.</summary>
    [ResponseTimeout("00:10:00")]
    Task Stop(StopDeploymentRequest request);

    /// <summary>
    /// POST _ml/trained_models/&lt;deployment_id&gt;/deployment/cache/_clear: empties the result cache on every node whose
    /// route is routable (TransportClearDeploymentCacheAction); 404 for an unknown deployment id.
    /// </summary>
    Task ClearCache();

    /// <summary>The committed assignment, as the coordinator holds it; null when there is no such deployment.</summary>
    Task<TrainedModelAssignment?> GetAssignment();

    /// <summary>Within a coordinator transaction: the stored record.</summary>
    [Transaction(TransactionOption.Join)]
    Task<DeploymentRecord> ReadRecord();

    /// <summary>Within a coordinator transaction: replaces the record. With <paramref name="create"/>, fails if one exists (a second start of the id).</summary>
    [Transaction(TransactionOption.Join)]
    Task WriteRecord(DeploymentRecord record, bool create);

    /// <summary>Within a coordinator transaction: the deployment is gone.</summary>
    [Transaction(TransactionOption.Join)]
    Task ClearRecord();
}

/// <summary>
/// The single writer of assignments and node reservations (key "cluster"): runs the planner and commits every
/// touched deployment, node, id and its own index of deployments in one Orleans transaction. Its changes are
/// serial (one at a time); reads answer from the committed plan it holds.
/// </summary>
public interface IAssignmentCoordinatorGrain : IGrainWithStringKey
{
    Task<TrainedModelAssignment> CreateAssignment(TaskParameters parameters, long memoryBytes, AdaptiveAllocations? adaptiveAllocations = null);

    /// <summary>The update API's change: the number of allocations and the (merged) adaptive settings, null for none.</summary>
    Task<TrainedModelAssignment> UpdateDeployment(string deploymentId, int numberOfAllocations, AdaptiveAllocations? adaptiveAllocations);

    /// <summary>
    /// The adaptive allocations scaler's change: from <paramref name="expected"/> allocations (else nothing happens) to
    /// <paramref name="target"/>, or as many as fit; true when it changed.
    /// </summary>
    Task<bool> ScaleAllocations(string deploymentId, int expected, int target);

    /// <summary>A request found no allocation: starts one if adaptive allocations may scale the deployment from zero.</summary>
    Task ScaleFromZero(string deploymentId);

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

    /// <summary>The routes committed for one node (what it must serve).</summary>
    Task<IReadOnlyList<NodeRoute>> GetRoutes(string node);
}

/// <summary>
/// One ML node (key = node name = silo name, placed on that silo): what it offers, the reservations the committed
/// plan holds on it (its transactional state, where invariant 1 is checked), and applying its routes locally.
/// </summary>
public interface INodeCapacityGrain : IGrainWithStringKey
{
    /// <summary>What this node offers to model allocations (its silo's Node:Processors and Node:MemoryBytes).</summary>
    [AlwaysInterleave]
    Task<NodeOffer> GetOffer();

    /// <summary>
    /// Within a coordinator transaction: the reservations of every deployment on this node. Refused when the
    /// normal-priority threads would exceed the node's processors.
    /// </summary>
    [Transaction(TransactionOption.Join)]
    Task Reserve(IReadOnlyDictionary<string, NodeReservation> reservations);

    /// <summary>The node's silo started: join the plan and re-open what is routed here.</summary>
    Task Join();

    /// <summary>The node's silo is leaving gracefully.</summary>
    Task Leave();

    /// <summary>The coordinator committed a plan that changes this node's routes.</summary>
    Task RoutesChanged();

    /// <summary>The committed reservations, summed.</summary>
    [Transaction(TransactionOption.CreateOrJoin)]
    Task<NodeCapacity> GetCapacity();
}

[GenerateSerializer, Immutable, Alias("tmo.NodeOffer")]
public sealed record NodeOffer(string Node, int Processors, long MemoryBytes);

/// <summary>What one deployment holds on one node.</summary>
[GenerateSerializer, Immutable, Alias("tmo.NodeReservation")]
public sealed record NodeReservation(int ThreadsPerAllocation, int Allocations, Priority Priority)
{
    public int Threads => ThreadsPerAllocation * Allocations;
}

[GenerateSerializer, Immutable, Alias("tmo.NodeCapacity")]
public sealed record NodeCapacity(string Node, int AllocatedProcessors, long MemoryBytes, int NormalThreads, int LowThreads);

/// <summary>A route this node must serve, as committed.</summary>
[GenerateSerializer, Immutable, Alias("tmo.NodeRoute")]
public sealed record NodeRoute(string DeploymentId, string ModelId, int ThreadsPerAllocation, int Allocations, Priority Priority, RoutingState State,
    int QueueCapacity = 1024, long CacheSizeBytes = 0);
