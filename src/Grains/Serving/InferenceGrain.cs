using System.Diagnostics;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Inference.Serving;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Deployments.Scaling;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Inference;
using TrainedModelsOrleans.Grains.Models;
using Orleans;
using Orleans.Concurrency;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>
/// The inference front door on every silo: resolves the id from the silo's cached view (alias → model,
/// deployment id → deployment, else the model's best deployment), then sends the docs to the node with the
/// shortest queue (<see cref="InferenceRouter"/>): this silo's own queue directly, another node through its
/// worker grain. Tree models are evaluated right here.
/// </summary>
[StatelessWorker]
[Reentrant]
public sealed class InferenceGrain(InferenceTargets targets, TreeModels trees, InferenceRouter router, DirectInference direct, WakeRequests wakes,
    Limits.ServiceLimits limits)
    : Grain, IInferenceGrain
{
    public async Task<InferTrainedModelResponse> Infer(InferTrainedModelRequest given)
    {
        var started = Stopwatch.GetTimestamp();
        var request = InferRequest.From(given);
        limits.CheckInferDocs(request.Docs.Count);
        var id = given.Id;
        var target = await ResolveAsync(id);
        if (given.TextInput) request = request with { Docs = TextDocs(request.Docs, target.Config) };
        var timeout = request.Timeout.ToTimeSpan();
        var deadline = started + (long)(Math.Min(timeout.TotalSeconds, TimeSpan.FromDays(1).TotalSeconds) * Stopwatch.Frequency);
        JsonArray results;
        if (target.Tree is not null)
        {
            results = TreeResults(target.Tree, request, deadline, timeout);
        }
        else if (request.Docs.All(d => TensorDocuments.IsTensorDoc((JsonObject)d!)))
        {
            var signature = target.Config.Onnx ?? throw ElasticsearchException.BadRequest($"model [{target.Config.ModelId}] has no recorded ONNX signature");
            var elements = 0L;
            void CountElements(string input, long[] shape) => elements = limits.CheckTensorElements(input, shape, elements);
            var docs = request.Docs.Select((doc, i) => TensorDocuments.Parse((JsonObject)doc!, i, signature, CountElements)).ToArray();
            var outputs = await direct.InferTensorsAsync(target.Deployment!, docs, timeout);
            results = new JsonArray(outputs.Select(o => (JsonNode?)TensorDocuments.Render(o)).ToArray());
        }
        else
        {
            results = await router.RunAsync(target.Deployment!,
                served => ServedRequests.InferDocumentsAsync(served, request.Docs, request.InferenceConfig, timeout),
                worker => worker.InferDocuments(request.Docs, request.InferenceConfig, timeout));
        }
        return new InferTrainedModelResponse { InferenceResults = results, ModelId = target.ResolvedId };
    }

    /// <summary>
    /// Tree models run on this thread: the deadline is checked between documents (a document costs at most
    /// Limits:MaxTrees tree walks), so a request past its timeout answers ES's 408 and stops using the CPU.
    /// </summary>
    private static JsonArray TreeResults(TreeModels.Evaluator tree, InferRequest request, long deadline, TimeSpan timeout)
    {
        var results = new JsonNode?[request.Docs.Count];
        for (var i = 0; i < results.Length; i++)
        {
            if (Stopwatch.GetTimestamp() > deadline)
                throw ServingErrors.Map(new InferenceTimeoutException(timeout), deploymentId: "");
            results[i] = tree.Infer((JsonObject)request.Docs[i]!, request.InferenceConfig);
        }
        return new JsonArray(results);
    }

    // forTextInput: each text under the model's input field.
    private static JsonArray TextDocs(JsonArray docs, TrainedModelConfig config)
    {
        var field = config.Input.FieldNames.FirstOrDefault() ?? "text_field";
        return new JsonArray(docs.Select(d => (JsonNode?)new JsonObject { [field] = d?["text_field"]?.DeepClone() }).ToArray());
    }

    public Task<InferenceTensor[][]> InferTensors(string id, InferenceTensor[][] docs, TimeSpan? timeout = null)
    {
        var deadline = timeout ?? DefaultTimeout;
        // The common case, without an await before the queue: the id resolves from a fresh view.
        return direct.ResolveFresh(id) is { } target
            ? direct.InferTensorsAsync(target.Deployment, docs, deadline)
            : InferTensorsRoutedAsync(id, docs, deadline);
    }

    private async Task<InferenceTensor[][]> InferTensorsRoutedAsync(string id, InferenceTensor[][] docs, TimeSpan deadline)
    {
        var target = await ResolveAsync(id);
        if (target.Tree is not null) throw ElasticsearchException.BadRequest($"model [{id}] is a tree ensemble; it takes documents, not tensors");
        return await direct.InferTensorsAsync(target.Deployment!, docs, deadline);
    }

    private static readonly TimeSpan DefaultTimeout = InferRequest.DefaultTimeout.ToTimeSpan();

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
        var resolution = snapshot.Resolve(id);
        if (resolution.Pick() is not { } candidate)
        {
            var config = await targets.ConfigAsync(resolution.ModelId) ?? throw ElasticsearchException.NotFound($"Could not find trained model [{id}]");
            if (config.ModelType == TrainedModelType.Onnx)
                throw ElasticsearchException.Conflict($"Model [{id}] must be deployed to use. Please deploy with the start trained model deployment API.");
            return new Target(config, null, await trees.GetAsync(config)) { ResolvedId = resolution.ModelId };
        }
        var deployment = candidate.Deployment;
        var deploymentId = deployment.TaskParameters.DeploymentId;
        if (deployment.AssignmentState is AssignmentState.Stopping or AssignmentState.Failed)
            throw ElasticsearchException.Conflict($"Trained model [{deploymentId}] is [{EsNames.Of(deployment.AssignmentState)}]");
        if (!deployment.RoutingTable.Values.Any(AssignmentStatus.IsRoutable))
            throw NotAllocated(deployment);
        var modelConfig = candidate.Config
                          ?? await targets.ConfigAsync(deployment.TaskParameters.ModelId)
                          ?? throw ElasticsearchException.NotFound($"Could not find trained model [{deployment.TaskParameters.ModelId}]");
        return new Target(modelConfig, deployment, null) { ResolvedId = resolution.ModelId };
    }

    /// <summary>
    /// ES's answer when no node can take the request; when adaptive allocations may scale the deployment from zero, the
    /// coordinator is asked (without waiting) to start one allocation, and the answer says so.
    /// </summary>
    private ElasticsearchException NotAllocated(TrainedModelAssignment deployment)
    {
        var deploymentId = deployment.TaskParameters.DeploymentId;
        if (!AdaptiveAllocationsScalers.ScalesFromZero(deployment))
            return ElasticsearchException.Conflict($"Trained model deployment [{deploymentId}] is not allocated to any nodes");
        if (wakes.TryBegin(deploymentId))
            GrainFactory.GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key).ScaleFromZero(deploymentId).Ignore();
        return ElasticsearchException.Conflict(
            $"Trained model deployment [{deploymentId}] is not allocated to any nodes; starting deployment of one allocation");
    }

    private sealed record Target(TrainedModelConfig Config, TrainedModelAssignment? Deployment, TreeModels.Evaluator? Tree)
    {
        /// <summary>The id asked for, an alias replaced by its model.</summary>
        public string? ResolvedId { get; init; }
    }
}
