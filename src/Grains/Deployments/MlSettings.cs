namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>Cluster-wide ML settings (configuration section "Ml"), with Elasticsearch's defaults.</summary>
public sealed class MlSettings
{
    /// <summary>ES's xpack.ml.max_lazy_ml_nodes: scaling is possible while it exceeds the live ML node count.</summary>
    public int MaxLazyNodes { get; set; }

    /// <summary>ES's MAX_TRAINED_MODEL_DEPLOYMENTS.</summary>
    public int MaxDeployments { get; set; } = 100;

    /// <summary>How often each node asks the coordinator to re-plan if the live nodes changed.</summary>
    public TimeSpan NodeCheckInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The adaptive allocations scaler's poll interval and cool-downs ("Ml:AdaptiveAllocations").</summary>
    public Scaling.AdaptiveAllocationsOptions AdaptiveAllocations { get; set; } = new();
}
