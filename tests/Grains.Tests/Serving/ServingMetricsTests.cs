using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using TrainedModelsOrleans.Grains.Serving;
using TrainedModelsOrleans.Inference.Serving;
using Xunit;

namespace TrainedModelsOrleans.Grains.Tests.Serving;

/// <summary>ServingMetrics read through a MeterListener, as OpenTelemetry and the dashboard read them.</summary>
public sealed class ServingMetricsTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly OrleansInstruments _orleans;
    private readonly ServingMetrics _metrics;

    public ServingMetricsTests()
    {
        var meters = _services.GetRequiredService<IMeterFactory>();
        _orleans = new OrleansInstruments(meters);
        _metrics = new ServingMetrics(meters, _orleans, new LocalNode("node-7", 4, 1L << 30));
    }

    public void Dispose() => _services.Dispose();

    private static Tensor[] Twice(IReadOnlyList<Tensor> inputs, CancellationToken _) =>
        [Tensor.Of("y", inputs[0].AsSpan<float>().ToArray().Select(v => v * 2).ToArray(), inputs[0].Shape)];

    private InferenceExecutor Executor(string deploymentId, int allocations = 2) =>
        new(Twice, new ExecutorOptions { Allocations = allocations, QueueCapacity = 8, CacheSizeBytes = 1 << 20 }, batchable: true,
            measurements: _metrics.MeasurementsFor(deploymentId));

    /// <summary>Every measurement of our instruments on the meters chosen, as (instrument, deployment, node, value).</summary>
    private static List<(string Name, string? Deployment, string? Node, double Value)> Collect(Func<Meter, bool> meters)
    {
        var seen = new List<(string, string?, string?, double)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (meters(instrument.Meter) && instrument.Name.StartsWith("ml.", StringComparison.Ordinal)) l.EnableMeasurementEvents(instrument);
        };
        void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? deployment = null, node = null;
            foreach (var tag in tags)
                if (tag.Key == "deployment") deployment = (string?)tag.Value;
                else if (tag.Key == "node") node = (string?)tag.Value;
            lock (seen) seen.Add((instrument.Name, deployment, node, value));
        }
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Add(i, v, t));
        listener.SetMeasurementEventCallback<int>((i, v, t, _) => Add(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Add(i, v, t));
        listener.Start();
        listener.RecordObservableInstruments();
        return seen;
    }

    [Fact]
    public async Task Counters_and_gauges_read_the_tracked_executors_counters_per_deployment_on_our_meter_and_as_node_totals_on_orleans()
    {
        var a = Executor("dep-a");
        var c = Executor("dep-c", allocations: 3);
        _metrics.Track("dep-a", a);
        _metrics.Track("dep-c", c);
        var input = new[] { Tensor.Of("x", new float[] { 1, 2 }, 1, 2) };
        await a.RunAsync(input, TimeSpan.FromSeconds(30));
        await a.RunAsync(input, TimeSpan.FromSeconds(30)); // a cache hit
        await c.RunAsync(input, TimeSpan.FromSeconds(30));

        var ours = Collect(m => m.Name == ServingMetrics.MeterName);
        double Value(string name, string deployment) => Assert.Single(ours, s => s.Name == name && s.Deployment == deployment && s.Node == "node-7").Value;
        Assert.Equal(2, Value("ml.inference.requests", "dep-a"));
        Assert.Equal(1, Value("ml.inference.requests", "dep-c"));
        Assert.Equal(1, Value("ml.inference.cache_hits", "dep-a"));
        Assert.Equal(0, Value("ml.inference.errors", "dep-a"));
        Assert.Equal(0, Value("ml.inference.rejections", "dep-a"));
        Assert.Equal(0, Value("ml.inference.timeouts", "dep-a"));
        Assert.Equal(0, Value("ml.inference.queue_depth", "dep-a"));
        Assert.Equal(2, Value("ml.deployment.allocations", "dep-a"));
        Assert.Equal(3, Value("ml.deployment.allocations", "dep-c"));
        Assert.True(Value("ml.inference.duration.p99", "dep-a") >= 0);

        // The dashboard keeps one value per name: the node's totals, untagged.
        var dashboard = Collect(m => m == _orleans.Meter);
        Assert.All(dashboard, s => Assert.Null(s.Deployment));
        double Total(string name) => Assert.Single(dashboard, s => s.Name == name).Value;
        Assert.Equal(3, Total("ml.inference.requests"));
        Assert.Equal(1, Total("ml.inference.cache_hits"));
        Assert.Equal(0, Total("ml.inference.errors"));
        Assert.Equal(5, Total("ml.deployment.allocations"));
        Assert.Equal(Math.Max(Value("ml.inference.duration.p99", "dep-a"), Value("ml.inference.duration.p99", "dep-c")), Total("ml.inference.duration.p99"));
        await a.StopAsync(finishPendingWork: true);
        await c.StopAsync(finishPendingWork: true);
    }

    [Fact]
    public void A_stopped_executor_reports_nothing_but_a_newer_one_of_the_deployment_keeps_reporting()
    {
        var first = Executor("dep-b");
        var second = Executor("dep-b", allocations: 3);
        _metrics.Track("dep-b", first);
        _metrics.Track("dep-b", second);
        _metrics.Untrack("dep-b", first); // the older executor finished stopping after the newer one started
        Func<Meter, bool> ours = m => m.Name == ServingMetrics.MeterName;
        Assert.Equal(3, Assert.Single(Collect(ours), s => s.Name == "ml.deployment.allocations" && s.Deployment == "dep-b").Value);
        Assert.Equal(3, Assert.Single(Collect(m => m == _orleans.Meter), s => s.Name == "ml.deployment.allocations").Value);

        _metrics.Untrack("dep-b", second);
        Assert.DoesNotContain(Collect(ours), s => s.Deployment == "dep-b");
        Assert.Equal(0, Assert.Single(Collect(m => m == _orleans.Meter), s => s.Name == "ml.deployment.allocations").Value);
    }

    [Fact]
    public void Only_our_instruments_on_orleans_meter_are_dashboard_copies()
    {
        using var listener = new MeterListener();
        var instruments = new List<Instrument>();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Name.StartsWith("ml.", StringComparison.Ordinal) || instrument.Meter == _orleans.Meter) instruments.Add(instrument);
        };
        listener.Start();
        _orleans.Meter.CreateCounter<long>("orleans-test-counter");
        var copies = instruments.Where(ServingMetrics.IsDashboardCopy).Select(i => i.Name).Order().ToArray();
        Assert.Equal(["ml.deployment.allocations", "ml.inference.cache_hits", "ml.inference.duration.p99", "ml.inference.errors",
            "ml.inference.queue_depth", "ml.inference.rejections", "ml.inference.requests", "ml.inference.timeouts"], copies);
        Assert.DoesNotContain(instruments, i => i.Name == "orleans-test-counter" && ServingMetrics.IsDashboardCopy(i));
    }
}
