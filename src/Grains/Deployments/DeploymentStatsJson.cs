using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// One node's inference counters for one deployment (ES's ModelStats of a started process). Times in
/// milliseconds; <see cref="LastAccess"/> and <see cref="StartTime"/> are epoch milliseconds.
/// </summary>
public sealed record NodeInferenceStats
{
    public long InferenceCount { get; init; }

    /// <summary>Average over all inferences; printed only when <see cref="InferenceCount"/> &gt; 0.</summary>
    public double? AverageInferenceTimeMs { get; init; }

    public double? AverageInferenceTimeMsExcludingCacheHits { get; init; }
    public long InferenceCacheHitCount { get; init; }
    public int ErrorCount { get; init; }
    public int RejectedExecutionCount { get; init; }
    public int TimeoutCount { get; init; }
    public int NumberOfPendingRequests { get; init; }
    public long PeakThroughputPerMinute { get; init; }
    public long ThroughputLastMinute { get; init; }
    public double? AverageInferenceTimeMsLastMinute { get; init; }
    public long InferenceCacheHitCountLastMinute { get; init; }

    /// <summary>
    /// The 99th percentile of the last minute's inference times, from arrival in the node's queue to the answer
    /// (<c>inference_time_p99_ms</c>). Elasticsearch has no such field: it is ours, for the ML page; null (omitted)
    /// when the node answered nothing in the last minute.
    /// </summary>
    public double? InferenceTimeP99Ms { get; init; }

    /// <summary>Null before the first inference (then <c>last_access</c> is not printed).</summary>
    public long? LastAccess { get; init; }

    /// <summary>When the node's model process started; null falls back to the assignment's start time.</summary>
    public long? StartTime { get; init; }
}

/// <summary>
/// An entry's <c>deployment_stats</c> for <c>GET _ml/trained_models/&lt;id&gt;/_stats</c>, shaped as
/// AssignmentStats.toXContent with the state TransportGetDeploymentStatsAction sets.
/// </summary>
public static class DeploymentStatsJson
{
    /// <summary>TransportGetDeploymentStatsAction's reason when every route failed and the assignment has none.</summary>
    public const string AllRoutesFailedReason = "All node routes are failed; see node route reason for details";

    /// <summary>
    /// Builds <c>deployment_stats</c>. Routes that are not started show their routing state and reason only; a
    /// started route with counters shows them (ES's presence rules: averages only after an inference, error /
    /// rejected / timeout counts only above 0, last_access only once used); a started route without counters
    /// shows as <c>stopped</c> with an empty reason, as ES does when the node has no process. Nodes sort by id.
    /// </summary>
    /// <param name="nodeStats">Counters by node id (the routing table's keys).</param>
    /// <param name="nodes">Descriptions by node id; a route whose node is unknown prints without <c>node</c>.</param>
    public static JsonObject Render(
        TrainedModelAssignment assignment,
        IReadOnlyDictionary<string, NodeInferenceStats> nodeStats,
        IReadOnlyDictionary<string, NodeDescription> nodes,
        AdaptiveAllocationsSettings? adaptiveAllocations = null)
    {
        var parameters = assignment.TaskParameters;
        var json = new JsonObject
        {
            ["deployment_id"] = parameters.DeploymentId,
            ["model_id"] = parameters.ModelId,
            ["threads_per_allocation"] = parameters.ThreadsPerAllocation,
            ["number_of_allocations"] = parameters.NumberOfAllocations,
        };
        adaptiveAllocations ??= AdaptiveAllocationsSettings.From(assignment.AdaptiveAllocations);
        if (adaptiveAllocations is not null) json["adaptive_allocations"] = adaptiveAllocations.ToJson();
        json["queue_capacity"] = parameters.QueueCapacity;

        var (state, reason) = StateAndReason(assignment);
        json["state"] = EsNames.Of(state);
        if (reason is not null) json["reason"] = reason;
        if (assignment.AssignmentState is AssignmentState.Started or AssignmentState.Starting
            && AssignmentStatus.CalculateAllocationStatus(assignment) is { } status)
        {
            json["allocation_status"] = new JsonObject
            {
                ["allocation_count"] = status.AllocationCount,
                ["target_allocation_count"] = status.TargetAllocationCount,
                ["state"] = EsNames.Of(status.State),
            };
        }
        if (CacheSizeBytes(parameters) is { } cacheBytes) json["cache_size"] = ByteSize.OfBytes(cacheBytes).ToString();
        json["priority"] = EsNames.Of(parameters.Priority);
        json["start_time"] = assignment.StartTime;

        var shown = Nodes(assignment, nodeStats).ToList();
        var errors = shown.Sum(n => n.Stats?.ErrorCount ?? 0);
        var rejected = shown.Sum(n => n.Stats?.RejectedExecutionCount ?? 0);
        var timeouts = shown.Sum(n => n.Stats?.TimeoutCount ?? 0);
        var inferences = shown.Sum(n => n.Stats?.InferenceCount ?? 0);
        if (errors > 0) json["error_count"] = errors;
        if (rejected > 0) json["rejected_execution_count"] = rejected;
        if (timeouts > 0) json["timeout_count"] = timeouts;
        if (inferences > 0) json["inference_count"] = inferences;
        json["peak_throughput_per_minute"] = shown.Sum(n => n.Stats?.PeakThroughputPerMinute ?? 0);

        var array = new JsonArray();
        foreach (var node in shown)
            array.Add(RenderNode(node, assignment, nodes.GetValueOrDefault(node.NodeId)));
        json["nodes"] = array;
        return json;
    }

    /// <summary>
    /// The assignment's state and reason for stats: <c>failed</c> when the table is not empty and every route
    /// failed (reason defaulting to <see cref="AllRoutesFailedReason"/>), else the stored state and reason.
    /// </summary>
    public static (AssignmentState State, string? Reason) StateAndReason(TrainedModelAssignment assignment)
    {
        if (assignment.RoutingTable.Count > 0 && assignment.RoutingTable.Values.All(r => r.RoutingState == RoutingState.Failed))
            return (AssignmentState.Failed, assignment.Reason ?? AllRoutesFailedReason);
        return (assignment.AssignmentState, assignment.Reason);
    }

    /// <summary>The deployment's inference count over started routes (the entry's <c>inference_stats</c> adds it).</summary>
    public static long InferenceCount(TrainedModelAssignment assignment, IReadOnlyDictionary<string, NodeInferenceStats> nodeStats) =>
        Nodes(assignment, nodeStats).Sum(n => n.Stats?.InferenceCount ?? 0);

    /// <summary>AssignmentStats.getOverallInferenceStats: <c>failure_count</c> = Σ (errors + timeouts + rejections).</summary>
    public static long FailureCount(TrainedModelAssignment assignment, IReadOnlyDictionary<string, NodeInferenceStats> nodeStats) =>
        Nodes(assignment, nodeStats).Sum(n => (long)(n.Stats?.ErrorCount ?? 0) + (n.Stats?.TimeoutCount ?? 0) + (n.Stats?.RejectedExecutionCount ?? 0));

    /// <summary>The cache size in bytes: the one set, else the model's size (as ES's TaskParams default it).</summary>
    private static long? CacheSizeBytes(TaskParameters parameters)
    {
        if (parameters.CacheSize is null) return parameters.ModelBytes;
        try
        {
            return ByteSize.Parse(parameters.CacheSize, "cache_size").Bytes;
        }
        catch (ElasticsearchException)
        {
            return null;
        }
    }

    private sealed record ShownNode(string NodeId, RoutingState State, string? Reason, NodeInferenceStats? Stats, int Allocations);

    // TransportGetDeploymentStatsAction: started routes report their process's counters; the others (and a
    // started route whose process is missing) report only their state.
    private static IEnumerable<ShownNode> Nodes(TrainedModelAssignment assignment, IReadOnlyDictionary<string, NodeInferenceStats> nodeStats)
    {
        foreach (var (nodeId, route) in AssignmentStatus.SortedRoutes(assignment))
        {
            if (route.RoutingState != RoutingState.Started)
                yield return new ShownNode(nodeId, route.RoutingState, route.Reason, null, route.CurrentAllocations);
            else if (nodeStats.TryGetValue(nodeId, out var stats))
                yield return new ShownNode(nodeId, RoutingState.Started, null, stats, route.CurrentAllocations);
            else
                yield return new ShownNode(nodeId, RoutingState.Stopped, "", null, route.CurrentAllocations);
        }
    }

    // AssignmentStats.NodeStats.toXContent.
    private static JsonObject RenderNode(ShownNode node, TrainedModelAssignment assignment, NodeDescription? description)
    {
        var json = new JsonObject();
        if (description is not null) json["node"] = new JsonObject { [description.Id] = RenderDescription(description) };
        var routingState = new JsonObject { ["routing_state"] = EsNames.Of(node.State) };
        if (node.Reason is not null) routingState["reason"] = node.Reason;
        json["routing_state"] = routingState;

        if (node.Stats is not { } stats)
        {
            json["peak_throughput_per_minute"] = 0L;
            json["throughput_last_minute"] = 0L;
            return json;
        }

        json["inference_count"] = stats.InferenceCount;
        if (stats.InferenceCount > 0)
        {
            if (stats.AverageInferenceTimeMs is { } average) json["average_inference_time_ms"] = average;
            if (stats.AverageInferenceTimeMsExcludingCacheHits is { } excluding) json["average_inference_time_ms_excluding_cache_hits"] = excluding;
        }
        json["inference_cache_hit_count"] = stats.InferenceCacheHitCount;
        if (stats.LastAccess is { } lastAccess) json["last_access"] = lastAccess;
        json["number_of_pending_requests"] = stats.NumberOfPendingRequests;
        if (stats.ErrorCount > 0) json["error_count"] = stats.ErrorCount;
        if (stats.RejectedExecutionCount > 0) json["rejected_execution_count"] = stats.RejectedExecutionCount;
        if (stats.TimeoutCount > 0) json["timeout_count"] = stats.TimeoutCount;
        json["start_time"] = stats.StartTime ?? assignment.StartTime;
        json["threads_per_allocation"] = assignment.TaskParameters.ThreadsPerAllocation;
        json["number_of_allocations"] = node.Allocations;
        json["peak_throughput_per_minute"] = stats.PeakThroughputPerMinute;
        json["throughput_last_minute"] = stats.ThroughputLastMinute;
        if (stats.AverageInferenceTimeMsLastMinute is { } lastMinute) json["average_inference_time_ms_last_minute"] = lastMinute;
        json["inference_cache_hit_count_last_minute"] = stats.InferenceCacheHitCountLastMinute;
        if (stats.InferenceTimeP99Ms is { } p99) json["inference_time_p99_ms"] = p99;
        return json;
    }

    /// <summary>DiscoveryNode.toXContent's fields: name, ephemeral_id, transport_address, attributes, roles.</summary>
    private static JsonObject RenderDescription(NodeDescription node)
    {
        var json = new JsonObject { ["name"] = node.Name };
        if (node.EphemeralId is not null) json["ephemeral_id"] = node.EphemeralId;
        json["transport_address"] = node.TransportAddress;
        var attributes = new JsonObject();
        foreach (var (key, value) in node.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal)) attributes[key] = value;
        json["attributes"] = attributes;
        json["roles"] = new JsonArray(node.Roles.Select(r => (JsonNode?)r).ToArray());
        return json;
    }
}
