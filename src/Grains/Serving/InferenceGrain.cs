using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Inference;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Runtime;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>
/// The inference front door on every silo: resolves the id from the silo's cached view (alias → model,
/// deployment id → deployment, else the model's best deployment), then sends the docs to the node with the
/// shortest queue (<see cref="InferenceRouter"/>): this silo's own queue directly, another node through its
/// worker grain. Tree models are evaluated right here.
/// </summary>
[StatelessWorker]
[Reentrant]
public sealed class InferenceGrain(InferenceTargets targets, TreeModels trees, InferenceRouter router) : Grain, IInferenceGrain
{
    public async Task<JsonObject> Infer(string id, byte[] body, IReadOnlyDictionary<string, string?> query, bool deploymentPath)
    {
        var request = InferRequest.Parse(body, query, deploymentPath);
        var target = await ResolveAsync(id);
        var timeout = request.Timeout.ToTimeSpan();
        JsonArray results;
        if (target.Tree is not null)
        {
            results = new JsonArray(request.Docs.Select(doc => (JsonNode?)target.Tree.Infer((JsonObject)doc!, request.InferenceConfig)).ToArray());
        }
        else if (request.Docs.All(d => TensorDocuments.IsTensorDoc((JsonObject)d!)))
        {
            var signature = target.Config.Onnx ?? throw ElasticsearchException.BadRequest($"model [{target.Config.ModelId}] has no recorded ONNX signature");
            var docs = request.Docs.Select((doc, i) => TensorDocuments.Parse((JsonObject)doc!, i, signature)).ToArray();
            var outputs = await router.RunAsync(target.Deployment!,
                served => ServedRequests.InferTensorsAsync(served, docs, timeout),
                worker => worker.InferTensors(docs, timeout));
            results = new JsonArray(outputs.Select(o => (JsonNode?)TensorDocuments.Render(o)).ToArray());
        }
        else
        {
            results = await router.RunAsync(target.Deployment!,
                served => ServedRequests.InferDocumentsAsync(served, request.Docs, request.InferenceConfig, timeout),
                worker => worker.InferDocuments(request.Docs, request.InferenceConfig, timeout));
        }
        return new JsonObject { ["inference_results"] = results };
    }

    public async Task<InferenceTensor[][]> InferTensors(string id, InferenceTensor[][] docs, TimeSpan? timeout = null)
    {
        var target = await ResolveAsync(id);
        if (target.Tree is not null) throw ElasticsearchException.BadRequest($"model [{id}] is a tree ensemble; it takes documents, not tensors");
        var deadline = timeout ?? InferRequest.DefaultTimeout.ToTimeSpan();
        return await router.RunAsync(target.Deployment!,
            served => ServedRequests.InferTensorsAsync(served, docs, deadline),
            worker => worker.InferTensors(docs, deadline));
    }

    /// <summary>ES's resolution (TransportInternalInferModelAction), from this silo's cached view; a miss re-reads once.</summary>
    private async Task<Target> ResolveAsync(string id)
    {
        try
        {
            return await ResolveAsync(id, await targets.CurrentAsync());
        }
        catch (ElasticsearchException e) when (e.Status is 404 or 409)
        {
            return await ResolveAsync(id, await targets.CurrentAsync(notBefore: DateTimeOffset.UtcNow));
        }
    }

    private async Task<Target> ResolveAsync(string id, InferenceTargets.Snapshot snapshot)
    {
        var modelId = snapshot.Aliases.TryGetValue(id, out var aliased) ? aliased : id;
        var deployment = snapshot.Assignments.FirstOrDefault(a => a.TaskParameters.DeploymentId == modelId)
                         ?? snapshot.Assignments.Where(a => a.TaskParameters.ModelId == modelId)
                             .OrderBy(a => StatePreference(a.AssignmentState)).ThenBy(_ => Random.Shared.Next()).FirstOrDefault();
        if (deployment is null)
        {
            var config = await targets.ConfigAsync(modelId) ?? throw ElasticsearchException.NotFound($"Could not find trained model [{id}]");
            if (config.ModelType == TrainedModelType.Onnx)
                throw ElasticsearchException.Conflict($"Model [{id}] must be deployed to use. Please deploy with the start trained model deployment API.");
            return new Target(config, null, await trees.GetAsync(config));
        }
        var deploymentId = deployment.TaskParameters.DeploymentId;
        if (deployment.AssignmentState is AssignmentState.Stopping or AssignmentState.Failed)
            throw ElasticsearchException.Conflict($"Trained model [{deploymentId}] is [{EsNames.Of(deployment.AssignmentState)}]");
        if (!deployment.RoutingTable.Values.Any(AssignmentStatus.IsRoutable))
            throw ElasticsearchException.Conflict($"Trained model deployment [{deploymentId}] is not allocated to any nodes");
        var modelConfig = snapshot.Configs.GetValueOrDefault(deployment.TaskParameters.ModelId)
                          ?? await targets.ConfigAsync(deployment.TaskParameters.ModelId)
                          ?? throw ElasticsearchException.NotFound($"Could not find trained model [{deployment.TaskParameters.ModelId}]");
        return new Target(modelConfig, deployment, null);
    }

    private static int StatePreference(AssignmentState state) => state switch
    {
        AssignmentState.Started => 0,
        AssignmentState.Starting => 1,
        AssignmentState.Stopping => 2,
        _ => 3,
    };

    private sealed record Target(TrainedModelConfig Config, TrainedModelAssignment? Deployment, TreeModels.Evaluator? Tree);
}
