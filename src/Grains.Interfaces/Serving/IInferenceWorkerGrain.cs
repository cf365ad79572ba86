using TrainedModelsOrleans.Grains.Deployments;
using Orleans;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>
/// A stateless worker (keyed by deployment id) on the node a route lives on: opens the deployment's
/// model in ONNX Runtime — one session per node and deployment, shared by every worker, with
/// intra-op threads = threads_per_allocation.
/// </summary>
public interface IInferenceWorkerGrain : IGrainWithStringKey
{
    /// <summary>Opens (or finds open) the model for this route; throws with ONNX Runtime's message if it cannot.</summary>
    Task Open(NodeRoute route);

    /// <summary>Closes this node's session of the deployment; queued requests fail.</summary>
    Task Close();

    /// <summary>Stops serving here: with finishPendingWork the queue drains first, otherwise queued requests fail.</summary>
    [ResponseTimeout("00:10:00")]
    Task Stop(bool finishPendingWork);

    /// <summary>Runs each doc (a set of input tensors) through the deployment's queue on this node.</summary>
    [ResponseTimeout("00:10:00")]
    Task<InferenceTensor[][]> InferTensors(InferenceTensor[][] docs, TimeSpan timeout);

    /// <summary>Runs text docs through the model's NLP task (tokenization, model, result shaping) on this node.</summary>
    [ResponseTimeout("00:10:00")]
    Task<System.Text.Json.Nodes.JsonArray> InferDocuments(System.Text.Json.Nodes.JsonArray docs, System.Text.Json.Nodes.JsonObject? configUpdate, TimeSpan timeout);

    /// <summary>This node's counters for the deployment; null when it is not served here.</summary>
    Task<NodeDeploymentStats?> GetStats();

    /// <summary>Empties this node's result cache of the deployment (nothing to do when it is not served here).</summary>
    Task ClearCache();
}

/// <summary>
/// The front door of inference (a stateless worker on every silo): resolves a model id, deployment id or
/// alias to a deployment (or a tree model evaluated in place) and sends the docs to a node serving it.
/// </summary>
public interface IInferenceGrain : IGrainWithStringKey
{
    /// <summary>POST _ml/trained_models/&lt;id&gt;/_infer (and the deprecated .../deployment/_infer).</summary>
    [ResponseTimeout("00:10:00")]
    Task<InferTrainedModelResponse> Infer(InferTrainedModelRequest request);

    /// <summary>The SDK's tensor path: each doc's input tensors in, its output tensors out.</summary>
    [ResponseTimeout("00:10:00")]
    Task<InferenceTensor[][]> InferTensors(string id, InferenceTensor[][] docs, TimeSpan? timeout = null);
}
