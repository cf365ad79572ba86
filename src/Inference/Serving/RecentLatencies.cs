using System.Numerics;

namespace TrainedModelsOrleans.Inference.Serving;

/// <summary>
/// Latencies of the last minute as a log-bucketed histogram, for percentiles (the ML page's p99). Twelve
/// 5-second slots in a ring: recording is one atomic increment (no lock, no allocation); a slot is cleared
/// under a lock only when the clock first enters it, once per 5 s. Buckets: exact below 32 µs, then 16 per
/// power of two (a value is reported within 6.25% above it), up to 2^31 µs (about 36 min; longer is counted there).
/// </summary>
/// <remarks>
/// HdrHistogram (on the package list) would fit the recording, but it keeps no sliding window: a minute would
/// be twelve interval histograms of its own layout per deployment and node, and its Recorder costs three atomic
/// operations per value where this costs one.
/// </remarks>
public sealed class RecentLatencies
{
    public const int SlotMilliseconds = 5_000;
    public const int Slots = 12;
    private const int ExactBelow = 32;                 // 2^5: one bucket per microsecond below this
    private const int SubBucketBits = 4;               // 16 buckets per power of two above it
    private const int MaxExponent = 30;                // the top bucket holds [2^30, 2^31) µs and anything longer
    internal const int BucketCount = ExactBelow + (MaxExponent - 5 + 1) * (1 << SubBucketBits);

    private readonly int[] _counts = new int[Slots * BucketCount];
    private readonly long[] _slotEpochs = new long[Slots];
    private readonly Func<long> _nowMilliseconds;
    private readonly double _microsecondsPerTick;

    /// <param name="ticksPerSecond">The unit of recorded values (Stopwatch ticks by default).</param>
    /// <param name="nowMilliseconds">A monotonic clock in milliseconds (Environment.TickCount64 by default).</param>
    public RecentLatencies(long ticksPerSecond = 0, Func<long>? nowMilliseconds = null)
    {
        _microsecondsPerTick = 1_000_000.0 / (ticksPerSecond > 0 ? ticksPerSecond : System.Diagnostics.Stopwatch.Frequency);
        _nowMilliseconds = nowMilliseconds ?? (static () => Environment.TickCount64);
        // Epoch 0 would read as current at start; -Slots never does.
        Array.Fill(_slotEpochs, -Slots);
    }

    /// <summary>Counts one latency, in the ticks given at construction.</summary>
    public void Record(long elapsedTicks)
    {
        var epoch = _nowMilliseconds() / SlotMilliseconds;
        var slot = (int)(epoch % Slots);
        if (Volatile.Read(ref _slotEpochs[slot]) != epoch) EnterSlot(slot, epoch);
        Interlocked.Increment(ref _counts[slot * BucketCount + BucketOf((long)(elapsedTicks * _microsecondsPerTick))]);
    }

    private void EnterSlot(int slot, long epoch)
    {
        lock (_slotEpochs)
        {
            if (_slotEpochs[slot] == epoch) return;
            Array.Clear(_counts, slot * BucketCount, BucketCount);
            // Published after the clear: a recorder that sees the new epoch counts into a cleared slot.
            Volatile.Write(ref _slotEpochs[slot], epoch);
        }
    }

    /// <summary>
    /// The latency in milliseconds below which the given fraction of the last minute's values fall (the upper bound
    /// of the bucket holding that rank); null when nothing was recorded in the last minute.
    /// </summary>
    public double? Percentile(double fraction)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(fraction);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(fraction, 1.0);
        var epoch = _nowMilliseconds() / SlotMilliseconds;
        Span<bool> current = stackalloc bool[Slots];
        for (var s = 0; s < Slots; s++)
        {
            var age = epoch - Volatile.Read(ref _slotEpochs[s]);
            current[s] = age >= 0 && age < Slots;
        }
        long total = 0;
        for (var s = 0; s < Slots; s++)
            if (current[s])
                for (var b = 0; b < BucketCount; b++) total += Volatile.Read(ref _counts[s * BucketCount + b]);
        if (total == 0) return null;

        var rank = (long)Math.Ceiling(fraction * total);
        long seen = 0;
        for (var b = 0; b < BucketCount; b++)
        {
            for (var s = 0; s < Slots; s++)
                if (current[s]) seen += Volatile.Read(ref _counts[s * BucketCount + b]);
            if (seen >= rank) return UpperBoundMicroseconds(b) / 1000.0;
        }
        // Counts added while we read: the top of what was seen.
        return UpperBoundMicroseconds(BucketCount - 1) / 1000.0;
    }

    internal static int BucketOf(long microseconds)
    {
        if (microseconds < ExactBelow) return microseconds <= 0 ? 0 : (int)microseconds;
        var exponent = BitOperations.Log2((ulong)microseconds);
        if (exponent > MaxExponent) return BucketCount - 1;
        var sub = (int)(microseconds >> (exponent - SubBucketBits)) & ((1 << SubBucketBits) - 1);
        return ExactBelow + (exponent - 5) * (1 << SubBucketBits) + sub;
    }

    /// <summary>The largest value a bucket holds (exact buckets: the value itself).</summary>
    internal static long UpperBoundMicroseconds(int bucket)
    {
        if (bucket < ExactBelow) return bucket;
        var exponent = (bucket - ExactBelow) / (1 << SubBucketBits) + 5;
        var sub = (bucket - ExactBelow) % (1 << SubBucketBits);
        var width = 1L << (exponent - SubBucketBits);
        return (1L << exponent) + (sub + 1) * width - 1;
    }
}
