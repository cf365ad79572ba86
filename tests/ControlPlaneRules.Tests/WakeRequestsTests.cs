using TrainedModelsOrleans.Grains.Serving;
using Xunit;

namespace TrainedModelsOrleans.ControlPlaneRules.Tests;

/// <summary>A burst of requests to a deployment at zero asks the coordinator once per interval, not once per request.</summary>
public class WakeRequestsTests
{
    private sealed class ManualTime : TimeProvider
    {
        public long Ticks { get; set; } = 1_000;
        public override long GetTimestamp() => Ticks;
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    }

    [Fact]
    public void One_ask_per_deployment_per_interval()
    {
        var time = new ManualTime();
        var wakes = new WakeRequests(time);

        Assert.True(wakes.TryBegin("a"));
        Assert.False(wakes.TryBegin("a"));
        Assert.True(wakes.TryBegin("b"));

        time.Ticks += (WakeRequests.Interval - TimeSpan.FromMilliseconds(1)).Ticks;
        Assert.False(wakes.TryBegin("a"));
        time.Ticks += TimeSpan.FromMilliseconds(1).Ticks;
        Assert.True(wakes.TryBegin("a"));
        Assert.False(wakes.TryBegin("a"));
    }

    [Fact]
    public void Concurrent_requests_ask_once()
    {
        var wakes = new WakeRequests(new ManualTime());
        var asked = 0;
        Parallel.For(0, 1_000, _ => { if (wakes.TryBegin("z")) Interlocked.Increment(ref asked); });
        Assert.Equal(1, asked);
    }
}
