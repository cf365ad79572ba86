using Orleans;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Serving;

namespace TrainedModelsOrleans.Grains.ModelStore;

/// <summary>
/// What <c>GET _ml/trained_models[/&lt;ids&gt;]/_stats</c> answers (ES's GetTrainedModelsStatsAction.Response):
/// <c>{"count", "trained_model_stats": [...]}</c>, typed. The HTTP layer renders it as Elasticsearch does.
/// </summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.GetTrainedModelStatsResponse")]
public sealed record GetTrainedModelStatsResponse
{
    /// <summary>count: every model the id expression matched, not only this page.</summary>
    public long Count { get; init; }

    /// <summary>
    /// trained_model_stats: for each model of the page (sorted by model id), one entry per deployment of it, or one
    /// without <see cref="TrainedModelStats.DeploymentStats"/> when it is not deployed.
    /// </summary>
    public IReadOnlyList<TrainedModelStats> TrainedModelStats { get; init; } = [];
}

/// <summary>One entry of <c>trained_model_stats</c>.</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.TrainedModelStats")]
public sealed record TrainedModelStats
{
    /// <summary>model_id.</summary>
    public required string ModelId { get; init; }

    /// <summary>model_size_stats.</summary>
    public required TrainedModelSizeStats ModelSizeStats { get; init; }

    /// <summary>pipeline_count: the ingest pipelines whose inference processors name the model (or a deployment id or alias of it).</summary>
    public int PipelineCount { get; init; }

    /// <summary>inference_stats, when there are any.</summary>
    public InferenceStats? InferenceStats { get; init; }

    /// <summary>deployment_stats: null when this entry is for a model with no deployment.</summary>
    public TrainedModelDeploymentStats? DeploymentStats { get; init; }
}

/// <summary><c>model_size_stats</c> (ES's TrainedModelSizeStats).</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.TrainedModelSizeStats")]
public sealed record TrainedModelSizeStats
{
    /// <summary>model_size_bytes: the definition's size.</summary>
    public long ModelSizeBytes { get; init; }

    /// <summary>required_native_memory_bytes: the memory a deployment of an ONNX model needs (ES's estimate); 0 for other models.</summary>
    public long RequiredNativeMemoryBytes { get; init; }
}

/// <summary><c>inference_stats</c> (ES's InferenceStats): the ingest-time counters of the model.</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.InferenceStats")]
public sealed record InferenceStats
{
    /// <summary>failure_count.</summary>
    public long FailureCount { get; init; }

    /// <summary>inference_count.</summary>
    public long InferenceCount { get; init; }

    /// <summary>cache_miss_count.</summary>
    public long CacheMissCount { get; init; }

    /// <summary>missing_all_fields_count.</summary>
    public long MissingAllFieldsCount { get; init; }

    /// <summary>timestamp: when the counters were read, epoch milliseconds.</summary>
    public long Timestamp { get; init; }
}

/// <summary>
/// <c>deployment_stats</c> (ES's AssignmentStats): the deployment as stored — its parameters, state, reason and routing
/// table, from which ES's deployment_id, threads_per_allocation, number_of_allocations, state, allocation_status… are
/// read — and each routed node's part.
/// </summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.TrainedModelDeploymentStats")]
public sealed record TrainedModelDeploymentStats
{
    public required TrainedModelAssignment Assignment { get; init; }

    /// <summary>nodes: one per route of <see cref="Assignment"/>'s routing table, sorted by node id.</summary>
    public IReadOnlyList<TrainedModelDeploymentNodeStats> Nodes { get; init; } = [];
}

/// <summary>One node of <c>deployment_stats.nodes</c> (ES's AssignmentStats.NodeStats); its route is the assignment's.</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.TrainedModelDeploymentNodeStats")]
public sealed record TrainedModelDeploymentNodeStats
{
    /// <summary>The node's id: its name, the routing table's key.</summary>
    public required string NodeId { get; init; }

    /// <summary>node: the node as the cluster knows it; null when Orleans' membership does not know the node.</summary>
    public NodeDescription? Node { get; init; }

    /// <summary>
    /// The node's counters for the deployment. Null when its route is not started, or when the node did not answer
    /// in time (its started route then shows zero counters, as ES shows a node it lost).
    /// </summary>
    public NodeDeploymentStats? Stats { get; init; }
}
