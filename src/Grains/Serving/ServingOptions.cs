namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>How nodes run deployments (configuration section "Serving").</summary>
public sealed class ServingOptions
{
    /// <summary>Queued requests of a deployment that run as one ONNX Runtime call (1 = no batching).</summary>
    public int MaxBatchSize { get; set; } = 32;

    /// <summary>How long a run waits for more requests to fill a batch; 0 batches only what is already queued.</summary>
    public TimeSpan MaxBatchWait { get; set; } = TimeSpan.Zero;

    /// <summary>How stale the silo's view of deployments and aliases may get before a request refreshes it.</summary>
    public TimeSpan TargetRefreshInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long a request waits for a refresh of that view when it has an older one to fall back on.</summary>
    public TimeSpan TargetRefreshTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
