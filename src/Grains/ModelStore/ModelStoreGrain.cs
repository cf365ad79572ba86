using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Pipelines;
using Orleans;
using Orleans.Concurrency;
using Orleans.Runtime;

namespace TrainedModelsOrleans.Grains.ModelStore;

/// <summary>GET over many models: ES's id expression, tags and paging, answered from committed records (the HTTP layer renders them).</summary>
[StatelessWorker]
public sealed class ModelStoreGrain(PipelineTables pipelines, MlNodes mlNodes) : Grain, IModelStoreGrain
{
    private IMlIdsGrain Ids => GrainFactory.GetGrain<IMlIdsGrain>(IMlIdsGrain.Key);

    public async Task<GetTrainedModelsResponse> GetModels(GetTrainedModelsRequest given)
    {
        var request = GetTrainedModelsSettings.Of(given);
        var ids = await Ids.GetCommitted();
        var page = request.Select(ModelTags(ids), Aliases(ids));
        var records = await RecordsAsync(page.ModelIds, request.Includes.Contains(GetTrainedModelsSettings.IncludeDefinition),
            request.Includes.Contains(GetTrainedModelsSettings.IncludeDefinitionStatus));
        var configs = new List<ListedTrainedModel>();
        foreach (var id in page.ModelIds)
        {
            if (!records.TryGetValue(id, out var record) || record.Config is null) continue; // deleted since the listing
            configs.Add(new ListedTrainedModel { Config = record.Config, Definition = record.InlineDefinition, DefinitionProgress = record.Progress });
        }
        return new GetTrainedModelsResponse { Count = page.Count, TrainedModelConfigs = configs };
    }

    /// <summary>Every model's tags, from the namespace (a model claims its id with its tags).</summary>
    private static IReadOnlyDictionary<string, IReadOnlyList<string>> ModelTags(IReadOnlyDictionary<string, MlIdEntry> ids) =>
        ids.Where(i => i.Value.Kind == MlIdEntry.Model).ToDictionary(i => i.Key, i => i.Value.Tags, StringComparer.Ordinal);

    private static IReadOnlyDictionary<string, string> Aliases(IReadOnlyDictionary<string, MlIdEntry> ids) =>
        ids.Where(i => i.Value.Kind == MlIdEntry.Alias).ToDictionary(i => i.Key, i => i.Value.ModelId, StringComparer.Ordinal);

    /// <summary>
    /// The committed records of these models, each from its grain (in parallel); inline definitions only when asked, and
    /// the stored parts only when asked and the model, uploaded in parts, is incomplete (what an uploader resumes from).
    /// </summary>
    private async Task<IReadOnlyDictionary<string, (TrainedModelConfig? Config, JsonObject? InlineDefinition, DefinitionProgress? Progress)>> RecordsAsync(
        IReadOnlyList<string> modelIds, bool withDefinitions = false, bool withProgress = false)
    {
        var records = await Task.WhenAll(modelIds.Select(async id =>
        {
            var model = GrainFactory.GetGrain<ITrainedModelGrain>(id);
            var config = await model.GetConfig();
            var inline = config is null || !withDefinitions ? null : await model.GetInlineDefinition();
            var progress = withProgress && config is { FullyDefined: false, Location: not null }
                ? await model.GetDefinitionProgress() ?? new DefinitionProgress()
                : null;
            return (Id: id, Config: config, Inline: inline, Progress: progress);
        }));
        return records.ToDictionary(r => r.Id, r => (r.Config, r.Inline, r.Progress), StringComparer.Ordinal);
    }

    /// <summary>Model id → how many pipelines name it (directly, or through a deployment id or alias of it).</summary>
    private async Task<IReadOnlyDictionary<string, int>> PipelineCountsAsync(IReadOnlyDictionary<string, MlIdEntry> ids) =>
        (await pipelines.ReferencesAsync(CancellationToken.None))
            .GroupBy(r => ids.TryGetValue(r.ModelId, out var entry) ? entry.ModelId : r.ModelId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(r => r.PipelineId).Distinct(StringComparer.Ordinal).Count(), StringComparer.Ordinal);

    public async Task<IReadOnlyDictionary<string, int>> GetPipelineCounts() => await PipelineCountsAsync(await Ids.GetCommitted());

    public async Task<GetTrainedModelStatsResponse> GetStats(GetTrainedModelsRequest given)
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
        var known = mlNodes.Known().ToHashSet(StringComparer.Ordinal);

        var stats = new List<TrainedModelStats>();
        foreach (var id in page.ModelIds)
        {
            if (!records.TryGetValue(id, out var record) || record.Config is not { } config) continue;
            var ofModel = assignments.Where(a => a.TaskParameters.ModelId == id).ToArray();
            if (ofModel.Length == 0) stats.Add(ModelStats(config, pipelineCounts, null));
            foreach (var assignment in ofModel)
                stats.Add(ModelStats(config, pipelineCounts, await DeploymentStatsAsync(assignment, known)));
        }
        return new GetTrainedModelStatsResponse { Count = page.Count, TrainedModelStats = stats };
    }

    public async Task<IReadOnlyList<NodeOffer>> GetMlNodes() =>
        (await mlNodes.LiveAsync(CancellationToken.None)).Select(n => new NodeOffer(n.Name, n.AllocatedProcessors, n.MemoryBytes)).ToArray();

    /// <summary>The assignment and each routed node's part: its description if the cluster knows it, its counters if its route is started.</summary>
    private async Task<TrainedModelDeploymentStats> DeploymentStatsAsync(TrainedModelAssignment assignment, IReadOnlySet<string> knownNodes)
    {
        // Each node reports its own counters; a node that cannot answer has none (its route shows zeros, as ES shows a node it lost).
        var nodes = await Task.WhenAll(AssignmentStatus.SortedRoutes(assignment).Select(async route => new TrainedModelDeploymentNodeStats
        {
            NodeId = route.Key,
            Node = knownNodes.Contains(route.Key) ? new NodeDescription { Id = route.Key, Name = route.Key, TransportAddress = route.Key } : null,
            Stats = route.Value.RoutingState == RoutingState.Started ? await Serving.WorkerStats.ReadAsync(GrainFactory, route.Key, assignment.TaskParameters.DeploymentId) : null,
        }));
        return new TrainedModelDeploymentStats { Assignment = assignment, Nodes = nodes };
    }

    private static TrainedModelStats ModelStats(TrainedModelConfig config, IReadOnlyDictionary<string, int> pipelineCounts, TrainedModelDeploymentStats? deploymentStats) => new()
    {
        ModelId = config.ModelId,
        ModelSizeStats = new TrainedModelSizeStats
        {
            ModelSizeBytes = config.ModelSizeBytes,
            RequiredNativeMemoryBytes = config.ModelType == TrainedModelType.Onnx
                ? MemoryEstimate.Of(new TaskParameters { ModelId = config.ModelId, DeploymentId = config.ModelId, ModelBytes = config.ModelSizeBytes }, null)
                : 0,
        },
        PipelineCount = pipelineCounts.GetValueOrDefault(config.ModelId),
        // Ingest processors do not run here: their counters are zeros, read now.
        InferenceStats = new InferenceStats { Timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() },
        DeploymentStats = deploymentStats,
    };
}
