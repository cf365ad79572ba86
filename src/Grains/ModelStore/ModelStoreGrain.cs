using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Runtime;

namespace TrainedModelsOrleans.Grains.ModelStore;

/// <summary>GET over many models: ES's id expression, tags and paging, rendered from committed records.</summary>
[StatelessWorker]
public sealed class ModelStoreGrain(ModelStoreTables tables, DeploymentTables deployments) : Grain, IModelStoreGrain
{
    public async Task<JsonObject> GetModels(string? idExpression, IReadOnlyDictionary<string, string?> query)
    {
        var request = GetTrainedModelsRequest.Parse(idExpression, query);
        var page = request.Select(await tables.ModelTagsAsync(CancellationToken.None), await tables.AliasesAsync(CancellationToken.None));
        var records = await tables.RecordsAsync(page.ModelIds, CancellationToken.None);
        var configs = new JsonArray();
        foreach (var id in page.ModelIds)
        {
            if (!records.TryGetValue(id, out var record) || record.Config is null) continue; // deleted since the listing
            configs.Add(TrainedModelConfigJson.Render(record.Config, request, record.InlineDefinition));
        }
        return new JsonObject { ["count"] = page.Count, ["trained_model_configs"] = configs };
    }
    public async Task<JsonObject> GetStats(string? idExpression, IReadOnlyDictionary<string, string?> query)
    {
        var request = GetTrainedModelsRequest.Parse(idExpression, query.Where(q => q.Key is "allow_no_match" or "from" or "size")
            .ToDictionary(q => q.Key, q => q.Value));
        var page = request.Select(await tables.ModelTagsAsync(CancellationToken.None), await tables.AliasesAsync(CancellationToken.None));
        var records = await tables.RecordsAsync(page.ModelIds, CancellationToken.None);
        var assignments = await GrainFactory.GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key).GetAssignments();
        var pipelineCounts = await deployments.PipelineCountsAsync(CancellationToken.None);
        var nodes = (await deployments.LiveNodesAsync(TimeSpan.FromDays(3650), CancellationToken.None)).ToDictionary(
            n => n.Name, n => new NodeDescription { Id = n.Name, Name = n.Name, TransportAddress = n.Name });

        var stats = new JsonArray();
        foreach (var id in page.ModelIds)
        {
            if (!records.TryGetValue(id, out var record) || record.Config is not { } config) continue;
            var ofModel = assignments.Where(a => a.TaskParameters.ModelId == id).ToArray();
            if (ofModel.Length == 0) stats.Add(ModelStats(config, pipelineCounts, null));
            foreach (var assignment in ofModel)
            {
                var nodeStats = assignment.RoutingTable.Where(r => r.Value.RoutingState == RoutingState.Started)
                    .ToDictionary(r => r.Key, _ => new NodeInferenceStats { StartTime = assignment.StartTime });
                // This silo's counters; other nodes report theirs once calls reach them (a cluster of silos).
                var local = await GrainFactory.GetGrain<Serving.IInferenceWorkerGrain>(assignment.TaskParameters.DeploymentId).GetStats();
                if (local is not null && nodeStats.ContainsKey(local.Node)) nodeStats[local.Node] = ToNodeStats(local);
                stats.Add(ModelStats(config, pipelineCounts, DeploymentStatsJson.Render(assignment, nodeStats, nodes)));
            }
        }
        return new JsonObject { ["count"] = page.Count, ["trained_model_stats"] = stats };
    }

    private static NodeInferenceStats ToNodeStats(Serving.NodeDeploymentStats s) => new()
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
    };

    private static JsonObject ModelStats(TrainedModelConfig config, IReadOnlyDictionary<string, int> pipelineCounts, JsonObject? deploymentStats)
    {
        var json = new JsonObject
        {
            ["model_id"] = config.ModelId,
            ["model_size_stats"] = new JsonObject
            {
                ["model_size_bytes"] = config.ModelSizeBytes,
                ["required_native_memory_bytes"] = config.ModelType == TrainedModelType.Onnx
                    ? MemoryEstimate.Of(new TaskParameters { ModelId = config.ModelId, DeploymentId = config.ModelId, ModelBytes = config.ModelSizeBytes }, null)
                    : 0,
            },
            ["pipeline_count"] = pipelineCounts.GetValueOrDefault(config.ModelId),
            ["inference_stats"] = new JsonObject
            {
                ["failure_count"] = 0,
                ["inference_count"] = 0,
                ["cache_miss_count"] = 0,
                ["missing_all_fields_count"] = 0,
                ["timestamp"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            },
        };
        if (deploymentStats is not null) json["deployment_stats"] = deploymentStats;
        return json;
    }
}
