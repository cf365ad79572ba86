using Orleans;
using System.Text.Json.Serialization;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// Elasticsearch's TrainedModelAssignment: a deployment's parameters and where its allocations run
/// (CORE/inference/assignment/TrainedModelAssignment.java). Stored as the deployment's state and
/// rendered by the start / update APIs as {"assignment": …}.
/// </summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.TrainedModelAssignment")]
public sealed record TrainedModelAssignment
{
    [JsonPropertyName("task_parameters")]
    public required TaskParameters TaskParameters { get; init; }

    /// <summary>Node name → route. Sorted by node name when rendered.</summary>
    [JsonPropertyName("routing_table")]
    public IReadOnlyDictionary<string, RoutingInfo> RoutingTable { get; init; } = new Dictionary<string, RoutingInfo>();

    [JsonPropertyName("assignment_state")]
    public AssignmentState AssignmentState { get; init; } = AssignmentState.Starting;

    [JsonPropertyName("reason")]
    public string? Reason { get; init; }

    /// <summary>Epoch milliseconds.</summary>
    [JsonPropertyName("start_time")]
    public long StartTime { get; init; }

    [JsonPropertyName("max_assigned_allocations")]
    public int MaxAssignedAllocations { get; init; }

    /// <summary>[new] The deployment's adaptive allocations settings (counts never -1 here); null when none were given.</summary>
    [JsonPropertyName("adaptive_allocations")]
    public AdaptiveAllocations? AdaptiveAllocations { get; init; }
}

[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.TaskParameters")]
public sealed record TaskParameters
{
    [JsonPropertyName("model_id")]
    public required string ModelId { get; init; }

    [JsonPropertyName("deployment_id")]
    public required string DeploymentId { get; init; }

    [JsonPropertyName("model_bytes")]
    public long ModelBytes { get; init; }

    [JsonPropertyName("threads_per_allocation")]
    public int ThreadsPerAllocation { get; init; } = 1;

    [JsonPropertyName("number_of_allocations")]
    public int NumberOfAllocations { get; init; } = 1;

    [JsonPropertyName("queue_capacity")]
    public int QueueCapacity { get; init; } = 1024;

    /// <summary>As the user gave it ("0", "10kb"); null when not set (then the model's size is used).</summary>
    [JsonPropertyName("cache_size")]
    public string? CacheSize { get; init; }

    [JsonPropertyName("priority")]
    public Priority Priority { get; init; } = Priority.Normal;

    [JsonPropertyName("per_deployment_memory_bytes")]
    public long PerDeploymentMemoryBytes { get; init; }

    [JsonPropertyName("per_allocation_memory_bytes")]
    public long PerAllocationMemoryBytes { get; init; }
}

[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.RoutingInfo")]
public sealed record RoutingInfo
{
    [JsonPropertyName("current_allocations")]
    public int CurrentAllocations { get; init; }

    [JsonPropertyName("target_allocations")]
    public int TargetAllocations { get; init; }

    [JsonPropertyName("routing_state")]
    public RoutingState RoutingState { get; init; } = RoutingState.Starting;

    [JsonPropertyName("reason")]
    public string? Reason { get; init; }
}

[JsonConverter(typeof(JsonStringEnumConverter<RoutingState>))]
[GenerateSerializer, Alias("tmo.RoutingState")]
public enum RoutingState
{
    [JsonStringEnumMemberName("starting")] Starting,
    [JsonStringEnumMemberName("started")] Started,
    [JsonStringEnumMemberName("stopping")] Stopping,
    [JsonStringEnumMemberName("failed")] Failed,
    [JsonStringEnumMemberName("stopped")] Stopped,
}

[JsonConverter(typeof(JsonStringEnumConverter<AssignmentState>))]
[GenerateSerializer, Alias("tmo.AssignmentState")]
public enum AssignmentState
{
    [JsonStringEnumMemberName("starting")] Starting,
    [JsonStringEnumMemberName("started")] Started,
    [JsonStringEnumMemberName("stopping")] Stopping,
    [JsonStringEnumMemberName("failed")] Failed,
}

[JsonConverter(typeof(JsonStringEnumConverter<Priority>))]
[GenerateSerializer, Alias("tmo.Priority")]
public enum Priority
{
    [JsonStringEnumMemberName("normal")] Normal,
    [JsonStringEnumMemberName("low")] Low,
}

/// <summary>ES's AllocationStatus.State, ordered: starting &lt; started &lt; fully_allocated (also wait_for).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AllocationState>))]
[GenerateSerializer, Alias("tmo.AllocationState")]
public enum AllocationState
{
    [JsonStringEnumMemberName("starting")] Starting,
    [JsonStringEnumMemberName("started")] Started,
    [JsonStringEnumMemberName("fully_allocated")] FullyAllocated,
}
