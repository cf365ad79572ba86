namespace TrainedModelsOrleans.Grains.Deployments.Scaling;

/// <summary>The adaptive allocations scaler's timing (configuration section "Ml:AdaptiveAllocations"), with Elasticsearch's defaults.</summary>
public sealed class AdaptiveAllocationsOptions
{
    /// <summary>How often the deployments' stats are read and the scalers decide (ES: every 10 s).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// ES's <c>xpack.ml.trained_models.adaptive_allocations.scale_cooldown_time</c>: after a scale up (or a node starting the
    /// deployment), no scale down for this long.
    /// </summary>
    public TimeSpan ScaleCooldownTime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// ES's <c>xpack.ml.trained_models.adaptive_allocations.scale_to_zero_time</c> (24 h; ES's minimum is 15 min, not enforced
    /// here so that tests can use seconds): with min_number_of_allocations 0 or unset, no request for this long scales to 0.
    /// </summary>
    public TimeSpan ScaleToZeroTime { get; set; } = TimeSpan.FromHours(24);
}
