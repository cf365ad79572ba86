using Orleans;
using Orleans.Runtime;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>One node's counters for one deployment, as `_stats` and the adaptive scaler read them.</summary>
public static class WorkerStats
{
    /// <summary>How long a node may take to answer before it is left out of this reading.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>The node's counters, or null when it cannot answer (leaving, dead, slow): ES leaves out a node without stats.</summary>
    public static async Task<NodeDeploymentStats?> ReadAsync(IGrainFactory grains, string node, string deploymentId)
    {
        try
        {
            return await grains.GetGrain<IInferenceWorkerGrain>(InferenceWorkerKey.Of(node, deploymentId)).GetStats().WaitAsync(Timeout);
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            return null;
        }
    }
}
