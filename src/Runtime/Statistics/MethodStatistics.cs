using System.Diagnostics;

namespace TrainedModelsOrleans.Runtime.Statistics;

/// <summary>Calls, failures and a latency histogram for one grain method; lock-free counters.</summary>
public sealed class MethodStatistics(string grainType, string method)
{
    /// <summary>Bucket i counts calls that took less than 2^i µs (the last bucket takes the rest).</summary>
    public const int BucketCount = 28;

    private long _calls;
    private long _failures;
    private long _elapsedTicks;
    private readonly long[] _buckets = new long[BucketCount];

    public string GrainType { get; } = grainType;
    public string Method { get; } = method;

    internal void Record(long startTimestamp, bool failed)
    {
        var elapsed = Stopwatch.GetTimestamp() - startTimestamp;
        Interlocked.Increment(ref _calls);
        if (failed) Interlocked.Increment(ref _failures);
        Interlocked.Add(ref _elapsedTicks, elapsed);
        var micros = (ulong)(elapsed * 1_000_000 / Stopwatch.Frequency);
        var bucket = Math.Min(BucketCount - 1, 64 - System.Numerics.BitOperations.LeadingZeroCount(micros));
        Interlocked.Increment(ref _buckets[bucket]);
    }

    public MethodStatisticsSnapshot Snapshot()
    {
        var buckets = new long[BucketCount];
        for (var i = 0; i < BucketCount; i++) buckets[i] = Volatile.Read(ref _buckets[i]);
        return new MethodStatisticsSnapshot(GrainType, Method, Volatile.Read(ref _calls), Volatile.Read(ref _failures),
            TimeSpan.FromSeconds((double)Volatile.Read(ref _elapsedTicks) / Stopwatch.Frequency), buckets);
    }
}

/// <param name="LatencyBuckets">Bucket i: calls under 2^i microseconds (and at least 2^(i-1)).</param>
public sealed record MethodStatisticsSnapshot(
    string GrainType, string Method, long Calls, long Failures, TimeSpan TotalElapsed, long[] LatencyBuckets)
{
    public double AverageMicroseconds => Calls == 0 ? 0 : TotalElapsed.TotalMicroseconds / Calls;

    /// <summary>Upper bound (µs) of the bucket holding the given quantile, e.g. 0.99.</summary>
    public double QuantileUpperBoundMicroseconds(double quantile)
    {
        var total = LatencyBuckets.Sum();
        if (total == 0) return 0;
        var rank = (long)Math.Ceiling(quantile * total);
        long seen = 0;
        for (var i = 0; i < LatencyBuckets.Length; i++)
        {
            seen += LatencyBuckets[i];
            if (seen >= rank) return Math.Pow(2, i);
        }
        return Math.Pow(2, LatencyBuckets.Length - 1);
    }
}

public sealed class GrainTypeStatistics(string grainType)
{
    private long _activations;
    public string GrainType { get; } = grainType;
    public long Activations => Volatile.Read(ref _activations);
    internal void ActivationAdded() => Interlocked.Increment(ref _activations);
    internal void ActivationRemoved() => Interlocked.Decrement(ref _activations);
}

/// <summary>What the dashboard reads: counters per grain type and method, activations per type.</summary>
public sealed record RuntimeStatisticsSnapshot(
    IReadOnlyList<MethodStatisticsSnapshot> Methods,
    IReadOnlyDictionary<string, long> ActivationsByType,
    DateTimeOffset TakenAt);
