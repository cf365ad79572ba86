namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>Elasticsearch's memory estimate for one copy of a deployed model on a node (estimateMemoryUsageBytes).</summary>
public static class MemoryEstimate
{
    private const long Megabyte = 1024L * 1024;
    private const long Base = 240 * Megabyte;

    public static long Of(TaskParameters parameters, long? cacheSizeBytes)
    {
        if (parameters.NumberOfAllocations == 0) return 0;
        var modelBytes = parameters.ModelBytes;
        var estimate = Base + 2 * modelBytes;
        if (parameters.PerDeploymentMemoryBytes > 0 || parameters.PerAllocationMemoryBytes > 0)
            estimate = Math.Max(estimate, parameters.PerDeploymentMemoryBytes
                                          + parameters.PerAllocationMemoryBytes * parameters.NumberOfAllocations + modelBytes);
        // Saturates: a cache_size of 9223372036854775807b means "more than any node has", not a negative sum.
        if (cacheSizeBytes is long cache && cache > modelBytes) estimate = cache - modelBytes > long.MaxValue - estimate ? long.MaxValue : estimate + (cache - modelBytes);
        return estimate;
    }
}
