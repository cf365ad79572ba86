using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Serving;

namespace TrainedModelsOrleans.Grains.ModelStore;

/// <summary>
/// GET _ml/trained_models/_stats's body (GetTrainedModelsStatsAction.Response.toXContent): <c>{"count",
/// "trained_model_stats"}</c>, each entry's <c>deployment_stats</c> as <see cref="DeploymentStatsJson"/> renders it.
/// </summary>
public static class TrainedModelStatsJson
{
    public static JsonObject Render(GetTrainedModelStatsResponse response)
    {
        var stats = new JsonArray();
        foreach (var model in response.TrainedModelStats) stats.Add(Render(model));
        return new JsonObject { ["count"] = response.Count, ["trained_model_stats"] = stats };
    }

    public static JsonObject Render(TrainedModelStats stats)
    {
        var json = new JsonObject
        {
            ["model_id"] = stats.ModelId,
            ["model_size_stats"] = new JsonObject
            {
                ["model_size_bytes"] = stats.ModelSizeStats.ModelSizeBytes,
                ["required_native_memory_bytes"] = stats.ModelSizeStats.RequiredNativeMemoryBytes,
            },
            ["pipeline_count"] = stats.PipelineCount,
        };
        if (stats.InferenceStats is { } inference)
        {
            json["inference_stats"] = new JsonObject
            {
                ["failure_count"] = inference.FailureCount,
                ["inference_count"] = inference.InferenceCount,
                ["cache_miss_count"] = inference.CacheMissCount,
                ["missing_all_fields_count"] = inference.MissingAllFieldsCount,
                ["timestamp"] = inference.Timestamp,
            };
        }
        if (stats.DeploymentStats is { } deployment) json["deployment_stats"] = Render(deployment);
        return json;
    }

    /// <summary>
    /// Every started route shows its node's counters; one whose node did not answer shows zeros since the deployment
    /// started. Routes on nodes the cluster does not know print without <c>node</c>.
    /// </summary>
    private static JsonObject Render(TrainedModelDeploymentStats stats)
    {
        var assignment = stats.Assignment;
        var nodeStats = assignment.RoutingTable.Where(r => r.Value.RoutingState == RoutingState.Started)
            .ToDictionary(r => r.Key, _ => new NodeInferenceStats { StartTime = assignment.StartTime });
        foreach (var node in stats.Nodes)
            if (node.Stats is { } reported && nodeStats.ContainsKey(node.NodeId)) nodeStats[node.NodeId] = Counters(reported);
        var nodes = stats.Nodes.Where(n => n.Node is not null).ToDictionary(n => n.NodeId, n => n.Node!);
        return DeploymentStatsJson.Render(assignment, nodeStats, nodes);
    }

    private static NodeInferenceStats Counters(NodeDeploymentStats s) => new()
    {
        InferenceCount = s.InferenceCount,
        AverageInferenceTimeMs = s.AverageInferenceTimeMs,
        AverageInferenceTimeMsExcludingCacheHits = s.AverageInferenceTimeMsExcludingCacheHits,
        InferenceCacheHitCount = s.CacheHitCount,
        ErrorCount = (int)s.ErrorCount,
        RejectedExecutionCount = (int)s.RejectedExecutionCount,
        TimeoutCount = (int)s.TimeoutCount,
        NumberOfPendingRequests = s.PendingRequests,
        PeakThroughputPerMinute = s.PeakThroughputPerMinute,
        ThroughputLastMinute = s.ThroughputLastMinute,
        LastAccess = s.LastAccess,
        StartTime = s.StartTime,
        InferenceTimeP99Ms = s.InferenceTimeP99Ms,
    };
}
