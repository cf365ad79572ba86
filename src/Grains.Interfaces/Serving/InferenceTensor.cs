using Orleans;
namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>A named tensor as grains exchange it: ONNX element type name ("float", "int64", …), shape, row-major data.</summary>
[GenerateSerializer, Immutable, Alias("tmo.InferenceTensor")]
public sealed record InferenceTensor(string Name, string ElementType, long[] Shape, Array Data)
{
    public static InferenceTensor Of(string name, float[] data, params long[] shape) => new(name, "float", shape, data);
    public static InferenceTensor Of(string name, long[] data, params long[] shape) => new(name, "int64", shape, data);
}

/// <summary>
/// A node's counters for one deployment (ES's per-node deployment stats), and the last minute's 99th percentile
/// inference time in ms (not an ES field: ours, for the ML page; null when nothing was answered in the last minute).
/// </summary>
[GenerateSerializer, Immutable, Alias("tmo.NodeDeploymentStats")]
public sealed record NodeDeploymentStats(
    string Node, long InferenceCount, long CacheHitCount, double? AverageInferenceTimeMs, double? AverageInferenceTimeMsExcludingCacheHits,
    long ErrorCount, long RejectedExecutionCount, long TimeoutCount, int PendingRequests, long PeakThroughputPerMinute,
    long ThroughputLastMinute, long? LastAccess, long StartTime, double? InferenceTimeP99Ms = null);
