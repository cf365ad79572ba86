using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Errors;
using Orleans;
using Orleans.Concurrency;
using TrainedModelsOrleans.Grains.Placement;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>
/// A deployment's worker on one node (key "node/deployment", placed on that node's silo): hands docs to
/// the node's executor for the deployment, which keeps the thread budget the plan granted, and maps its
/// outcomes to Elasticsearch's errors. Reentrant: many requests wait on the executor at once.
/// </summary>
[SiloNamePlacement]
[Reentrant]
public sealed class InferenceWorkerGrain(DeploymentServing serving, LocalNode node) : Grain, IInferenceWorkerGrain
{
    private string DeploymentId => InferenceWorkerKey.DeploymentIdOf(this.GetPrimaryKeyString());

    public Task Open(NodeRoute route) => serving.EnsureAsync(route);

    public Task Close() => serving.StopAsync(DeploymentId, finishPendingWork: false);

    public Task Stop(bool finishPendingWork) => serving.StopAsync(DeploymentId, finishPendingWork);

    public Task<InferenceTensor[][]> InferTensors(InferenceTensor[][] docs, TimeSpan timeout) =>
        ServedRequests.InferTensorsAsync(Served(), docs, timeout);

    public Task<JsonArray> InferDocuments(JsonArray docs, JsonObject? configUpdate, TimeSpan timeout) =>
        ServedRequests.InferDocumentsAsync(Served(), docs, configUpdate, timeout);

    public Task<NodeDeploymentStats?> GetStats()
    {
        if (!serving.TryGet(DeploymentId, out var served)) return Task.FromResult<NodeDeploymentStats?>(null);
        var s = served.Executor.Statistics.Snapshot(served.Executor.Pending);
        return Task.FromResult<NodeDeploymentStats?>(new NodeDeploymentStats(node.Name, s.InferenceCount, s.CacheHitCount,
            s.AverageInferenceTimeMs, s.AverageInferenceTimeMsExcludingCacheHits, s.ErrorCount, s.RejectedExecutionCount, s.TimeoutCount,
            s.PendingRequests, s.PeakThroughputPerMinute, s.ThroughputLastMinute, s.LastAccess, s.StartTime, s.InferenceTimeP99MsLastMinute));
    }

    public Task ClearCache()
    {
        if (serving.TryGet(DeploymentId, out var served)) served.Executor.ClearCache();
        return Task.CompletedTask;
    }

    private ServedDeployment Served() =>
        serving.TryGet(DeploymentId, out var served) && !served.Executor.IsStopped
            ? served
            : throw ElasticsearchException.Conflict($"Trained model deployment [{DeploymentId}] is not allocated to any nodes");
}
