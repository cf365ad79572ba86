namespace TrainedModelsOrleans.Grains.Deployments.Scaling;

/// <summary>
/// What the scaler reads of a deployment's stats (AdaptiveAllocationsScalerService.Stats): requests answered, pending and
/// failed (errors, timeouts and rejections), and the average inference time of the answered ones in seconds (NaN with none).
/// </summary>
public readonly record struct RequestStats(long SuccessCount, long PendingCount, long FailedCount, double InferenceTime)
{
    public long RequestCount => SuccessCount + PendingCount + FailedCount;

    public double TotalInferenceTime => SuccessCount * InferenceTime;

    public RequestStats Add(RequestStats other)
    {
        var success = SuccessCount + other.SuccessCount;
        return new(success, PendingCount + other.PendingCount, FailedCount + other.FailedCount,
            success > 0 ? (Total(this) + Total(other)) / success : double.NaN);
    }

    /// <summary>What happened since <paramref name="earlier"/> (counters never go below 0).</summary>
    public RequestStats Subtract(RequestStats earlier)
    {
        var success = Math.Max(0, SuccessCount - earlier.SuccessCount);
        return new(success, Math.Max(0, PendingCount - earlier.PendingCount), Math.Max(0, FailedCount - earlier.FailedCount),
            success > 0 ? Math.Max(0, Total(this) - Total(earlier)) / success : double.NaN);
    }

    private static double Total(RequestStats stats) => stats.SuccessCount > 0 ? stats.TotalInferenceTime : 0;
}
