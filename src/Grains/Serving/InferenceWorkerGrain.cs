using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Inference.Nlp;
using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.Inference.Serving;
using TrainedModelsOrleans.Runtime;
using TrainedModelsOrleans.Runtime.Hosting;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>
/// A deployment's worker on this node: hands docs to the node's executor for the deployment and maps
/// its outcomes to Elasticsearch's errors. Reentrant: many requests wait on the executor at once.
/// </summary>
[StatelessWorker]
[Reentrant]
public sealed class InferenceWorkerGrain(DeploymentServing serving, SiloConfiguration silo) : Grain, IInferenceWorkerGrain
{
    private string DeploymentId => GetPrimaryKeyString();

    public Task Open(NodeRoute route) => serving.EnsureAsync(route);

    public Task Close() => serving.StopAsync(DeploymentId, finishPendingWork: false);

    public Task Stop(bool finishPendingWork) => serving.StopAsync(DeploymentId, finishPendingWork);

    public async Task<InferenceTensor[][]> InferTensors(InferenceTensor[][] docs, TimeSpan timeout)
    {
        var served = Served();
        var runs = new Task<Tensor[]>[docs.Length];
        for (var i = 0; i < docs.Length; i++) runs[i] = served.Executor.RunAsync(ToTensors(docs[i]), timeout);
        try
        {
            await Task.WhenAll(runs);
        }
        catch
        {
            // ES: if any doc errors, the whole request fails; report the first doc's error.
            throw ServingErrors.Map(runs.First(r => r.IsFaulted || r.IsCanceled).Exception?.InnerException ?? new TaskCanceledException(), DeploymentId);
        }
        var results = new InferenceTensor[docs.Length][];
        for (var i = 0; i < docs.Length; i++)
            results[i] = runs[i].Result.Select(t => new InferenceTensor(t.Name, OnnxElementTypes.NameOf(t.ElementType), t.Shape, t.Data)).ToArray();
        return results;
    }

    public async Task<JsonArray> InferDocuments(JsonArray docs, JsonObject? configUpdate, TimeSpan timeout)
    {
        var served = Served();
        NlpTaskOnNode nlp;
        try
        {
            nlp = await served.Nlp.Value;
        }
        catch (Exception) when (served.Nlp.Value.IsFaulted)
        {
            // Not cached: a vocabulary uploaded later makes the next request work.
            var error = served.Nlp.Value.Exception!.InnerException!;
            served = served with { Nlp = new Lazy<Task<NlpTaskOnNode>>(() => Task.FromException<NlpTaskOnNode>(error)) };
            throw ServingErrors.Map(error, DeploymentId);
        }
        var task = nlp.Task.WithUpdate(configUpdate);
        // One queue entry per doc, as ES sends them; docs of equal token length may still share a run.
        var batches = docs.Select(doc => task.Prepare([task.ReadInput((JsonObject)doc!)])).ToArray();
        var runs = batches.Select(batch => served.Executor.RunAsync(batch.BuildTensors(nlp.Inputs), timeout)).ToArray();
        try
        {
            await Task.WhenAll(runs);
        }
        catch
        {
            throw ServingErrors.Map(runs.First(r => r.IsFaulted || r.IsCanceled).Exception?.InnerException ?? new TaskCanceledException(), DeploymentId);
        }
        return new JsonArray(batches.Select((batch, i) => (JsonNode?)batch.ToResults(runs[i].Result)[0]).ToArray());
    }

    public Task<NodeDeploymentStats?> GetStats()
    {
        if (!serving.TryGet(DeploymentId, out var served)) return Task.FromResult<NodeDeploymentStats?>(null);
        var s = served.Executor.Statistics.Snapshot(served.Executor.Pending);
        return Task.FromResult<NodeDeploymentStats?>(new NodeDeploymentStats(silo.Silo.SiloName, s.InferenceCount, s.CacheHitCount,
            s.AverageInferenceTimeMs, s.AverageInferenceTimeMsExcludingCacheHits, s.ErrorCount, s.RejectedExecutionCount, s.TimeoutCount,
            s.PendingRequests, s.PeakThroughputPerMinute, s.ThroughputLastMinute, s.LastAccess, s.StartTime));
    }

    private ServedDeployment Served() =>
        serving.TryGet(DeploymentId, out var served) && !served.Executor.IsStopped
            ? served
            : throw ElasticsearchException.Conflict($"Trained model deployment [{DeploymentId}] is not allocated to any nodes");

    private static Tensor[] ToTensors(InferenceTensor[] doc)
    {
        var tensors = new Tensor[doc.Length];
        for (var i = 0; i < doc.Length; i++)
        {
            var t = doc[i];
            tensors[i] = new Tensor(t.Name, OnnxElementTypes.Parse(t.ElementType), t.Shape, t.Data);
        }
        return tensors;
    }
}
