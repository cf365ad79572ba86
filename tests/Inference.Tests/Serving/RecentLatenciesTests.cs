using TrainedModelsOrleans.Inference.Serving;
using Xunit;

namespace TrainedModelsOrleans.Inference.Tests.Serving;

public sealed class RecentLatenciesTests
{
    // Values in microseconds: one tick = 1 µs.
    private const long MicrosecondTicks = 1_000_000;

    private sealed class ManualClock
    {
        public long Milliseconds = 1_000_000;
        public long Now() => Milliseconds;
    }

    [Fact]
    public void Nothing_recorded_has_no_percentile()
    {
        var latencies = new RecentLatencies(MicrosecondTicks, new ManualClock().Now);
        Assert.Null(latencies.Percentile(0.99));
    }

    [Fact]
    public void P99_of_a_hundred_values_is_the_ninety_ninth_within_a_bucket()
    {
        var latencies = new RecentLatencies(MicrosecondTicks, new ManualClock().Now);
        // 1 ms, 2 ms, …, 100 ms: the 99th value is 99 ms.
        for (var i = 1; i <= 100; i++) latencies.Record(i * 1_000);
        var p99 = latencies.Percentile(0.99)!.Value;
        Assert.InRange(p99, 99.0, 99.0 * 1.0625);
        var median = latencies.Percentile(0.5)!.Value;
        Assert.InRange(median, 50.0, 50.0 * 1.0625);
    }

    [Fact]
    public void Small_values_are_exact()
    {
        var latencies = new RecentLatencies(MicrosecondTicks, new ManualClock().Now);
        for (var i = 0; i < 99; i++) latencies.Record(7);
        latencies.Record(20);
        Assert.Equal(0.007, latencies.Percentile(0.99));
        Assert.Equal(0.020, latencies.Percentile(1.0));
    }

    [Fact]
    public void One_slow_request_in_a_hundred_is_not_the_p99_but_two_are()
    {
        var latencies = new RecentLatencies(MicrosecondTicks, new ManualClock().Now);
        for (var i = 0; i < 99; i++) latencies.Record(100);
        latencies.Record(5_000_000);
        Assert.InRange(latencies.Percentile(0.99)!.Value, 0.1, 0.1 * 1.0625);
        latencies.Record(5_000_000);
        Assert.InRange(latencies.Percentile(0.99)!.Value, 5_000.0, 5_000.0 * 1.0625);
    }

    [Fact]
    public void Values_older_than_a_minute_are_forgotten()
    {
        var clock = new ManualClock();
        var latencies = new RecentLatencies(MicrosecondTicks, clock.Now);
        latencies.Record(50_000);
        clock.Milliseconds += 30_000;
        latencies.Record(1_000);
        Assert.InRange(latencies.Percentile(1.0)!.Value, 50.0, 50.0 * 1.0625);

        // The first value's slot leaves the window; the second's is still in it.
        clock.Milliseconds += 35_000;
        Assert.InRange(latencies.Percentile(1.0)!.Value, 1.0, 1.0625);

        clock.Milliseconds += 60_000;
        Assert.Null(latencies.Percentile(0.99));
    }

    [Fact]
    public void A_slot_reused_a_minute_later_starts_empty()
    {
        var clock = new ManualClock();
        var latencies = new RecentLatencies(MicrosecondTicks, clock.Now);
        for (var i = 0; i < 10; i++) latencies.Record(80_000);
        clock.Milliseconds += RecentLatencies.SlotMilliseconds * RecentLatencies.Slots;
        latencies.Record(2_000);
        Assert.InRange(latencies.Percentile(1.0)!.Value, 2.0, 2.0 * 1.0625);
    }

    [Fact]
    public void Huge_values_land_in_the_top_bucket()
    {
        var latencies = new RecentLatencies(MicrosecondTicks, new ManualClock().Now);
        latencies.Record(long.MaxValue / 2_000_000);
        Assert.True(latencies.Percentile(1.0) >= (1L << 31) / 1000.0 - 1);
    }

    [Fact]
    public void Every_bucket_bound_holds_its_own_values_and_buckets_are_ordered()
    {
        for (var bucket = 0; bucket < RecentLatencies.BucketCount; bucket++)
        {
            var upper = RecentLatencies.UpperBoundMicroseconds(bucket);
            Assert.Equal(bucket, RecentLatencies.BucketOf(upper));
            if (bucket < RecentLatencies.BucketCount - 1) Assert.Equal(bucket + 1, RecentLatencies.BucketOf(upper + 1));
        }
    }

    [Fact]
    public void Concurrent_recording_loses_no_value()
    {
        var latencies = new RecentLatencies(MicrosecondTicks, new ManualClock().Now);
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 25_000; i++) latencies.Record(100);
        });
        latencies.Record(1_000_000);
        // 100,001 values: the single 1 s one is exactly the maximum, and more than 1% are 100 µs.
        Assert.InRange(latencies.Percentile(1.0)!.Value, 1000.0, 1062.5);
        Assert.InRange(latencies.Percentile(0.99999)!.Value, 0.1, 0.1 * 1.0625);
    }
}
