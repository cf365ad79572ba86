using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Deployments.Scaling;
using Xunit;
using static TrainedModelsOrleans.ControlPlaneRules.Tests.Assignments;

namespace TrainedModelsOrleans.ControlPlaneRules.Tests;

/// <summary>Elasticsearch's estimator and decision rule (AdaptiveAllocationsScaler), fed synthetic request rates and inference times.</summary>
public class AdaptiveAllocationsScalerTests
{
    private const double Interval = 10;

    /// <summary>One poll of <paramref name="rate"/> requests per second, each <paramref name="seconds"/> long; the scaler's answer.</summary>
    private static int? Poll(AdaptiveAllocationsScaler scaler, double rate, double seconds, int allocations)
    {
        var count = (long)Math.Round(rate * Interval);
        scaler.Process(new RequestStats(count, 0, 0, count > 0 ? seconds : double.NaN), Interval, allocations);
        return scaler.Scale();
    }

    /// <summary>Polls at a steady load, applying each decision, until nothing changes for a while; the allocations then.</summary>
    private static int Settle(AdaptiveAllocationsScaler scaler, double rate, double seconds, int allocations, int polls = 30)
    {
        for (var i = 0; i < polls; i++)
            if (Poll(scaler, rate, seconds, allocations) is { } changed) allocations = changed;
        return allocations;
    }

    [Fact]
    public void Nothing_is_decided_before_the_first_measurement()
    {
        var scaler = new AdaptiveAllocationsScaler(1, TimeSpan.FromHours(24));
        Assert.Null(scaler.Scale());
    }

    [Fact]
    public void A_load_step_scales_up_to_what_the_load_needs()
    {
        var scaler = new AdaptiveAllocationsScaler(1, TimeSpan.FromHours(24));
        scaler.SetMinMax(1, 8);
        // 50 requests/s of 10 ms: half an allocation busy.
        Assert.Equal(1, Settle(scaler, 50, 0.010, 1));
        // 300 requests/s of 10 ms: 3 allocations busy, above 0.9 per allocation until 4.
        var first = Poll(scaler, 300, 0.010, 1);
        Assert.NotNull(first);
        Assert.True(first > 1);
        Assert.Equal(4, Settle(scaler, 300, 0.010, first!.Value));
        Assert.Equal(4, scaler.NeededNumberOfAllocations);
    }

    [Fact]
    public void A_load_within_the_hysteresis_band_holds()
    {
        var scaler = new AdaptiveAllocationsScaler(2, TimeSpan.FromHours(24));
        scaler.SetMinMax(1, 8);
        // 1.2 allocations busy: 0.6 each on 2 (no scale up), 1.2 > 0.85 on 1 (no scale down).
        for (var i = 0; i < 50; i++) Assert.Null(Poll(scaler, 120, 0.010, 2));
        // 1.75 busy on 2: 0.875 per allocation, between 0.85 and 0.9.
        var holding = new AdaptiveAllocationsScaler(2, TimeSpan.FromHours(24));
        holding.SetMinMax(1, 8);
        for (var i = 0; i < 50; i++) Assert.Null(Poll(holding, 175, 0.010, 2));
    }

    [Fact]
    public void A_load_that_falls_scales_down_to_the_minimum()
    {
        var scaler = new AdaptiveAllocationsScaler(1, TimeSpan.FromHours(24));
        scaler.SetMinMax(1, 8);
        var allocations = Settle(scaler, 400, 0.010, 1);
        Assert.Equal(5, allocations);
        Assert.Equal(1, Settle(scaler, 0, 0.010, allocations, polls: 100));
    }

    [Fact]
    public void The_count_is_clamped_to_min_and_max()
    {
        var capped = new AdaptiveAllocationsScaler(1, TimeSpan.FromHours(24));
        capped.SetMinMax(1, 3);
        Assert.Equal(3, Settle(capped, 1000, 0.010, 1));
        Assert.True(capped.NeededNumberOfAllocations > 3);

        var floored = new AdaptiveAllocationsScaler(1, TimeSpan.FromHours(24));
        floored.SetMinMax(2, 4);
        Assert.Equal(2, Poll(floored, 0, 0.010, 1));

        // No max: ES's safeguard of 32.
        var unbounded = new AdaptiveAllocationsScaler(1, TimeSpan.FromHours(24));
        Assert.Equal(AdaptiveAllocationsScaler.MaxNumberOfAllocationsSafeguard, Settle(unbounded, 100_000, 0.010, 1, polls: 60));
    }

    [Fact]
    public void Zero_only_with_min_zero_and_after_the_scale_to_zero_time_without_requests()
    {
        var scaleToZero = TimeSpan.FromMinutes(15);
        var scaler = new AdaptiveAllocationsScaler(1, scaleToZero);
        scaler.SetMinMax(0, 4);
        Assert.Equal(1, Settle(scaler, 5, 0.010, 1));
        var pollsBefore = (int)(scaleToZero.TotalSeconds / Interval);
        for (var i = 0; i < pollsBefore; i++) Assert.Null(Poll(scaler, 0, 0.010, 1));
        Assert.Equal(0, Poll(scaler, 0, 0.010, 1));
        Assert.Equal(0, scaler.NeededNumberOfAllocations);

        var withMinimum = new AdaptiveAllocationsScaler(1, scaleToZero);
        withMinimum.SetMinMax(1, 4);
        for (var i = 0; i < pollsBefore * 3; i++) Assert.Null(Poll(withMinimum, 0, 0.010, 1));

        // A request asking to scale from zero starts the idle time over.
        var reset = new AdaptiveAllocationsScaler(1, scaleToZero);
        reset.SetMinMax(0, 4);
        for (var i = 0; i < pollsBefore; i++) Poll(reset, 0, 0.010, 1);
        reset.ResetTimeWithoutRequests();
        Assert.Null(Poll(reset, 0, 0.010, 1));
    }

    [Fact]
    public void Request_stats_subtract_and_add_as_es_does()
    {
        var earlier = new RequestStats(10, 2, 1, 0.010);
        var later = new RequestStats(30, 0, 3, 0.020);
        var recent = later.Subtract(earlier);
        Assert.Equal((20L, 0L, 2L), (recent.SuccessCount, recent.PendingCount, recent.FailedCount));
        Assert.Equal(0.025, recent.InferenceTime, 9); // (30 × 0.020 − 10 × 0.010) / 20
        var sum = recent.Add(new RequestStats(20, 1, 0, 0.005));
        Assert.Equal(0.015, sum.InferenceTime, 9);
        Assert.Equal(43, sum.RequestCount);
        Assert.True(double.IsNaN(earlier.Subtract(earlier).InferenceTime));
    }
}

/// <summary>ES's AdaptiveAllocationsScalerService without its I/O: per-node counters to decisions, cool-downs and states.</summary>
public class AdaptiveAllocationsScalersTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

    private static TrainedModelAssignment Adaptive(int allocations, int? min, int? max, AssignmentState state = AssignmentState.Started) =>
        Of(numberOfAllocations: allocations, state: state, routes: [("n1", Route(RoutingState.Started, allocations, allocations))]) with
        {
            AdaptiveAllocations = new AdaptiveAllocations { Enabled = true, MinNumberOfAllocations = min, MaxNumberOfAllocations = max },
        };

    /// <summary>Drives polls every 10 s at <paramref name="rate"/> requests/s of <paramref name="seconds"/> each, applying decisions.</summary>
    private sealed class Driver(AdaptiveAllocationsScalers scalers, TrainedModelAssignment assignment, long? startTime = null)
    {
        public TrainedModelAssignment Assignment { get; private set; } = assignment;
        public DateTimeOffset Now { get; private set; } = T0;
        private long _count;
        private double _totalSeconds;

        public IReadOnlyList<ScalingDecision> Poll(double rate, double seconds)
        {
            var added = (long)Math.Round(rate * 10);
            _totalSeconds += added * seconds;
            _count += added;
            var node = new NodeObservation("n1", RoutingState.Started, _count, 0, 0, _count == 0 ? 0 : _totalSeconds / _count * 1000, startTime);
            scalers.Track([Assignment]);
            var decisions = scalers.Process([new DeploymentObservation(Assignment, [node])], Now);
            foreach (var d in decisions)
                Assignment = Assignment with { TaskParameters = Assignment.TaskParameters with { NumberOfAllocations = d.To } };
            Now += TimeSpan.FromSeconds(10);
            return decisions;
        }

        public int Allocations => Assignment.TaskParameters.NumberOfAllocations;
    }

    [Fact]
    public void A_scale_down_waits_for_the_cool_down_after_a_scale_up()
    {
        var options = new AdaptiveAllocationsOptions { ScaleCooldownTime = TimeSpan.FromMinutes(5) };
        var driver = new Driver(new AdaptiveAllocationsScalers(options), Adaptive(1, 1, 4));
        var scaledUpAt = DateTimeOffset.MinValue;
        for (var i = 0; i < 10; i++)
        {
            var at = driver.Now;
            if (driver.Poll(300, 0.010).Any(d => d.To > d.From)) scaledUpAt = at;
        }
        Assert.Equal(4, driver.Allocations);
        // The load stops: nothing comes down within 5 minutes of the last scale up.
        while (driver.Now < scaledUpAt + options.ScaleCooldownTime)
        {
            Assert.Empty(driver.Poll(0, 0.010));
            Assert.Equal(4, driver.Allocations);
        }
        for (var i = 0; i < 60 && driver.Allocations > 1; i++) driver.Poll(0, 0.010);
        Assert.Equal(1, driver.Allocations);
    }

    [Fact]
    public void A_node_that_started_the_deployment_recently_counts_as_a_scale_up()
    {
        var options = new AdaptiveAllocationsOptions { ScaleCooldownTime = TimeSpan.FromMinutes(5) };
        var driver = new Driver(new AdaptiveAllocationsScalers(options), Adaptive(3, 1, 4), startTime: T0.ToUnixTimeMilliseconds());
        for (var i = 0; i < 25; i++) Assert.Empty(driver.Poll(0, 0.010));
        Assert.Equal(3, driver.Allocations);
        for (var i = 0; i < 20 && driver.Allocations > 1; i++) driver.Poll(0, 0.010);
        Assert.Equal(1, driver.Allocations);
    }

    [Fact]
    public void Nothing_changes_while_the_deployment_is_not_started()
    {
        var driver = new Driver(new AdaptiveAllocationsScalers(new AdaptiveAllocationsOptions()), Adaptive(1, 1, 4, AssignmentState.Starting));
        for (var i = 0; i < 10; i++) Assert.Empty(driver.Poll(300, 0.010));
    }

    [Fact]
    public void Zero_after_the_scale_to_zero_time_with_min_zero()
    {
        var options = new AdaptiveAllocationsOptions { ScaleCooldownTime = TimeSpan.FromSeconds(30), ScaleToZeroTime = TimeSpan.FromMinutes(15) };
        var driver = new Driver(new AdaptiveAllocationsScalers(options), Adaptive(1, 0, 4));
        while (driver.Now < T0 + TimeSpan.FromMinutes(15))
        {
            Assert.Empty(driver.Poll(0, 0.010));
        }
        for (var i = 0; i < 3 && driver.Allocations > 0; i++) driver.Poll(0, 0.010);
        Assert.Equal(0, driver.Allocations);
    }

    [Fact]
    public void Deployments_without_enabled_adaptive_allocations_are_not_scaled()
    {
        var scalers = new AdaptiveAllocationsScalers(new AdaptiveAllocationsOptions());
        var disabled = Of(deploymentId: "off") with { AdaptiveAllocations = new AdaptiveAllocations { Enabled = false, MaxNumberOfAllocations = 4 } };
        var none = Of(deploymentId: "none");
        var on = Adaptive(1, 1, 4);
        Assert.Equal(["dep"], scalers.Track([disabled, none, on]).Select(a => a.TaskParameters.DeploymentId));
        Assert.Equal(["dep"], scalers.Tracked);
        scalers.Track([disabled, none]);
        Assert.Empty(scalers.Tracked);
        Assert.True(AdaptiveAllocationsScalers.ScalesFromZero(Adaptive(1, null, 4)));
        Assert.True(AdaptiveAllocationsScalers.ScalesFromZero(Adaptive(1, 0, 4)));
        Assert.False(AdaptiveAllocationsScalers.ScalesFromZero(Adaptive(1, 1, 4)));
        Assert.False(AdaptiveAllocationsScalers.ScalesFromZero(disabled));
    }
}
