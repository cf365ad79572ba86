using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Pipelines;
using Orleans;
using Orleans.Concurrency;
using Orleans.Runtime;

namespace TrainedModelsOrleans.Grains.ModelStore;

/// <summary>GET over many models: ES's id expression, tags and paging, rendered from committed records.</summary>
[StatelessWorker]
public sealed class ModelStoreGrain(PipelineTables pipelines, MlNodes mlNodes) : Grain, IModelStoreGrain
{
    private IMlIdsGrain Ids => GrainFactory.GetGrain<IMlIdsGrain>(IMlIdsGrain.Key);

    public async Task<JsonObject> GetModels(GetTrainedModelsRequest given)
    {
        var request = GetTrainedModelsSettings.Of(given);
        var ids = await Ids.GetCommitted();
        var page = request.Select(ModelTags(ids), Aliases(ids));
        var records = await RecordsAsync(page.ModelIds);
        var configs = new JsonArray();
        foreach (var id in page.ModelIds)
        {
            if (!records.TryGetValue(id, out var record) || record.Config is null) continue; // deleted since the listing
            configs.Add(TrainedModelConfigJson.Render(record.Config, request, record.InlineDefinition));
        }
        return new JsonObject { ["count"] = page.Count, ["trained_model_configs"] = configs };
    }

    /// <summary>Every model's tags, from the namespace (a model claims its id with its tags).</summary>
    private static IReadOnlyDictionary<string, IReadOnlyList<string>> ModelTags(IReadOnlyDictionary<string, MlIdEntry> ids) =>
        ids.Where(i => i.Value.Kind == MlIdEntry.Model).ToDictionary(i => i.Key, i => i.Value.Tags, StringComparer.Ordinal);

    private static IReadOnlyDictionary<string, string> Aliases(IReadOnlyDictionary<string, MlIdEntry> ids) =>
        ids.Where(i => i.Value.Kind == MlIdEntry.Alias).ToDictionary(i => i.Key, i => i.Value.ModelId, StringComparer.Ordinal);

    /// <summary>The committed records of these models, each from its grain (in parallel).</summary>
    private async Task<IReadOnlyDictionary<string, (TrainedModelConfig? Config, JsonObject? InlineDefinition)>> RecordsAsync(IReadOnlyList<string> modelIds)
    {
        var records = await Task.WhenAll(modelIds.Select(async id =>
        {
            var model = GrainFactory.GetGrain<ITrainedModelGrain>(id);
            var config = await model.GetConfig();
            return (Id: id, Config: config, Inline: config is null ? null : await model.GetInlineDefinition());
        }));
        return records.ToDictionary(r => r.Id, r => (r.Config, r.Inline), StringComparer.Ordinal);
    }

    /// <summary>Model id → how many pipelines name it (directly, or through a deployment id or alias of it).</summary>
    private async Task<IReadOnlyDictionary<string, int>> PipelineCountsAsync(IReadOnlyDictionary<string, MlIdEntry> ids) =>
        (await pipelines.ReferencesAsync(CancellationToken.None))
            .GroupBy(r => ids.TryGetValue(r.ModelId, out var entry) ? entry.ModelId : r.ModelId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(r => r.PipelineId).Distinct(StringComparer.Ordinal).Count(), StringComparer.Ordinal);
    public async Task<JsonObject> GetStats(GetTrainedModelsRequest given)
    {
        // _stats reads only allow_no_match, from and size.
        var request = GetTrainedModelsSettings.Of(new GetTrainedModelsRequest
        {
            ModelId = given.ModelId, AllowNoMatch = given.AllowNoMatch, From = given.From, Size = given.Size,
        });
        var ids = await Ids.GetCommitted();
        var page = request.Select(ModelTags(ids), Aliases(ids));
        var records = await RecordsAsync(page.ModelIds);
        var assignments = await GrainFactory.GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key).GetAssignments();
        var pipelineCounts = await PipelineCountsAsync(ids);
        var nodes = mlNodes.Known().ToDictionary(n => n, n => new NodeDescription { Id = n, Name = n, TransportAddress = n });

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
                // Each node reports its own counters; a node that cannot answer shows zeros, as ES shows a node it lost.
                var reported = await Task.WhenAll(nodeStats.Keys.Select(node => NodeStatsAsync(assignment.TaskParameters.DeploymentId, node)));
                foreach (var node in reported)
                    if (node is not null && nodeStats.ContainsKey(node.Node)) nodeStats[node.Node] = ToNodeStats(node);
                stats.Add(ModelStats(config, pipelineCounts, DeploymentStatsJson.Render(assignment, nodeStats, nodes)));
            }
        }
        return new JsonObject { ["count"] = page.Count, ["trained_model_stats"] = stats };
    }

    private async Task<Serving.NodeDeploymentStats?> NodeStatsAsync(string deploymentId, string node)
    {
        try
        {
            return await GrainFactory.GetGrain<Serving.IInferenceWorkerGrain>(Serving.InferenceWorkerKey.Of(node, deploymentId)).GetStats()
                .WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is SiloUnavailableException or TimeoutException)
        {
            return null;
        }
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
