using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Runtime;

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

    /// <summary>Closes this node's session of the deployment.</summary>
    Task Close();
}
