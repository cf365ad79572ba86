using System.Diagnostics;

namespace TrainedModelsOrleans.Inference.Serving;

/// <summary>
/// The counters Elasticsearch shows per node and deployment; lock-free on the hot path. With measurements given, the
/// same counting points also record the metrics' histograms.
/// </summary>
public sealed class ExecutorStatistics(ExecutorMeasurements? measurements = null)
{
    private long _inferenceCount;
    private long _cacheHits;
    private long _elapsedTicks;
    private long _elapsedTicksExcludingCacheHits;
    private long _errors;
    private long _rejected;
    private long _timeouts;
    private long _lastAccessMillis;
    private readonly ThroughputWindow _throughput = new();
    private readonly RecentLatencies _latencies = new();

    public DateTimeOffset StartTime { get; } = DateTimeOffset.UtcNow;

    /// <summary>Requests answered by a run (one batch at a time: a few atomic adds and one clock read per batch).</summary>
    internal void Completed(int count, long elapsedTicks)
    {
        if (count == 0) return;
        Interlocked.Add(ref _inferenceCount, count);
        Interlocked.Add(ref _elapsedTicks, elapsedTicks);
        Interlocked.Add(ref _elapsedTicksExcludingCacheHits, elapsedTicks);
        Touch(count);
    }

    /// <summary>One answered request's time from arrival to answer, for the last minute's percentiles.</summary>
    internal void Answered(long elapsedTicks)
    {
        _latencies.Record(elapsedTicks);
        measurements?.Answered(elapsedTicks);
    }

    /// <summary>Whether <see cref="Waited"/> records anything: the executor then reports each request's time in the queue.</summary>
    internal bool MeasuresQueueWait => measurements?.MeasuresQueueWait == true;

    internal void Waited(long waitedTicks) => measurements?.Waited(waitedTicks);

    /// <summary>A run took this many requests from the queue.</summary>
    internal void BatchTaken(int requests) => measurements?.Batch(requests);

    internal void CacheHit(long elapsedTicks)
    {
        Answered(elapsedTicks);
        Interlocked.Increment(ref _inferenceCount);
        Interlocked.Add(ref _elapsedTicks, elapsedTicks);
        Interlocked.Increment(ref _cacheHits);
        Touch(1);
    }

    private void Touch(int count)
    {
        Volatile.Write(ref _lastAccessMillis, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        _throughput.Add(count);
    }

    public long InferenceCount => Volatile.Read(ref _inferenceCount);
    public long CacheHitCount => Volatile.Read(ref _cacheHits);
    public long ErrorCount => Volatile.Read(ref _errors);
    public long RejectedCount => Volatile.Read(ref _rejected);
    public long TimeoutCount => Volatile.Read(ref _timeouts);

    /// <summary>The last minute's 99th percentile inference time in ms; null if nothing was answered in it.</summary>
    public double? InferenceTimeP99Ms() => _latencies.Percentile(0.99);

    internal void Failed() => Interlocked.Increment(ref _errors);
    internal void Rejected() => Interlocked.Increment(ref _rejected);
    internal void TimedOut() => Interlocked.Increment(ref _timeouts);

    public ExecutorStatisticsSnapshot Snapshot(int pending)
    {
        var count = Volatile.Read(ref _inferenceCount);
        var hits = Volatile.Read(ref _cacheHits);
        var lastAccess = Volatile.Read(ref _lastAccessMillis);
        var (lastMinute, peak) = _throughput.Read();
        return new ExecutorStatisticsSnapshot(
            count, hits,
            count == 0 ? null : Milliseconds(Volatile.Read(ref _elapsedTicks)) / count,
            count - hits == 0 ? null : Milliseconds(Volatile.Read(ref _elapsedTicksExcludingCacheHits)) / (count - hits),
            Volatile.Read(ref _errors), Volatile.Read(ref _rejected), Volatile.Read(ref _timeouts), pending,
            peak, lastMinute, lastAccess == 0 ? null : lastAccess, StartTime.ToUnixTimeMilliseconds(),
            InferenceTimeP99Ms());
    }

    private static double Milliseconds(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    /// <summary>Completions per second over the last 60 s; the peak of that per-minute figure since start.</summary>
    private sealed class ThroughputWindow
    {
        private readonly long[] _seconds = new long[60];
        private readonly long[] _stamps = new long[60];
        private long _peak;
        private long _lastRolledSecond;

        public void Add(int count)
        {
            var now = Environment.TickCount64 / 1000;
            var slot = (int)(now % 60);
            if (Volatile.Read(ref _stamps[slot]) != now)
            {
                lock (_seconds)
                {
                    if (_stamps[slot] != now)
                    {
                        Roll(now);
                        _stamps[slot] = now;
                        _seconds[slot] = 0;
                    }
                }
            }
            Interlocked.Add(ref _seconds[slot], count);
        }

        public (long LastMinute, long Peak) Read()
        {
            lock (_seconds)
            {
                var now = Environment.TickCount64 / 1000;
                var sum = Sum(now);
                return (sum, Math.Max(_peak, sum));
            }
        }

        // Once per second: fold the minute that just ended into the peak.
        private void Roll(long now)
        {
            if (now == _lastRolledSecond) return;
            _lastRolledSecond = now;
            _peak = Math.Max(_peak, Sum(now - 1));
        }

        private long Sum(long now)
        {
            long sum = 0;
            for (var i = 0; i < 60; i++)
                if (now - _stamps[i] < 60 && now >= _stamps[i]) sum += Volatile.Read(ref _seconds[i]);
            return sum;
        }
    }
}

public sealed record ExecutorStatisticsSnapshot(
    long InferenceCount,
    long CacheHitCount,
    double? AverageInferenceTimeMs,
    double? AverageInferenceTimeMsExcludingCacheHits,
    long ErrorCount,
    long RejectedExecutionCount,
    long TimeoutCount,
    int PendingRequests,
    long PeakThroughputPerMinute,
    long ThroughputLastMinute,
    long? LastAccess,
    long StartTime,
    // Not an Elasticsearch field: ours, for the ML page (null when nothing was answered in the last minute).
    double? InferenceTimeP99MsLastMinute = null);
