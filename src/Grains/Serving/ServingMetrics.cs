using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Orleans.Runtime;
using TrainedModelsOrleans.Inference.Serving;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>
/// This node's serving metrics, per deployment (tags <c>deployment</c> and <c>node</c>), on our meter
/// <see cref="MeterName"/>. The counters and gauges are read from each executor's <see cref="ExecutorStatistics"/>
/// when metrics are collected (nothing more on the hot path); the histograms are recorded where the executor counts.
/// </summary>
/// <remarks>
/// The Orleans dashboard shows only instruments made on Orleans' own meter instance (<see cref="OrleansInstruments"/>),
/// so each counter and gauge is made twice, once on each meter, reading the same counters: a copy costs nothing until
/// metrics are collected. The histograms are not copied: recording each request twice would double their hot-path
/// cost, and the dashboard would show a histogram only as its running sum; it gets the last minute's p99 as a gauge
/// instead. The Prometheus exporter drops the copies on Orleans' meter (<see cref="IsDashboardCopy"/>).
/// </remarks>
public sealed class ServingMetrics
{
    public const string MeterName = "TrainedModelsOrleans.ML";
    private const string Prefix = "ml.";

    private readonly ConcurrentDictionary<string, Tracked> _executors = new(StringComparer.Ordinal);
    private readonly Meter _meter;
    private readonly Histogram<double> _inferenceTime;
    private readonly Histogram<double> _queueWait;
    private readonly Histogram<int> _batchSize;
    private readonly string _node;

    private sealed record Tracked(InferenceExecutor Executor, KeyValuePair<string, object?>[] Tags);

    public ServingMetrics(IMeterFactory meters, OrleansInstruments orleans, LocalNode node)
    {
        _node = node.Name;
        _meter = meters.Create(MeterName);
        foreach (var meter in new[] { _meter, orleans.Meter }) CreateObserved(meter);

        // Seconds, as OpenTelemetry names durations; buckets from 50 µs (a tiny model's run) to 30 s (a long timeout).
        double[] durationBuckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
        _inferenceTime = _meter.CreateHistogram("ml.inference.duration", "s",
            "Time from a request's arrival in the node's queue to its answer (cache hits included)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = durationBuckets });
        _queueWait = _meter.CreateHistogram("ml.inference.queue_wait", "s",
            "Time a request waited in the node's queue before a run took it",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = durationBuckets });
        _batchSize = _meter.CreateHistogram("ml.inference.batch_size", "{request}",
            "Requests one model run took from the queue",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128] });
    }

    /// <summary>Our instruments' copies on Orleans' meter, there for the dashboard only.</summary>
    public static bool IsDashboardCopy(Instrument instrument) =>
        instrument.Meter.Name != MeterName && instrument.Name.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The histograms a new executor of the deployment records into.</summary>
    public ExecutorMeasurements MeasurementsFor(string deploymentId) =>
        new(_inferenceTime, _queueWait, _batchSize, new TagList(Tags(deploymentId)));

    /// <summary>From now on the deployment's counters and gauges are read from this executor.</summary>
    public void Track(string deploymentId, InferenceExecutor executor) => _executors[deploymentId] = new Tracked(executor, Tags(deploymentId));

    /// <summary>The executor stopped: its series end (a newer executor of the deployment stays tracked).</summary>
    public void Untrack(string deploymentId, InferenceExecutor executor)
    {
        if (_executors.TryGetValue(deploymentId, out var tracked) && tracked.Executor == executor)
            _executors.TryRemove(new KeyValuePair<string, Tracked>(deploymentId, tracked));
    }

    private KeyValuePair<string, object?>[] Tags(string deploymentId) => [new("deployment", deploymentId), new("node", _node)];

    private void CreateObserved(Meter meter)
    {
        const string requests = "{request}";
        meter.CreateObservableCounter("ml.inference.requests", () => Observe(s => s.InferenceCount), requests,
            "Inference requests answered (cache hits included)");
        meter.CreateObservableCounter("ml.inference.errors", () => Observe(s => s.ErrorCount), requests,
            "Inference requests the model failed");
        meter.CreateObservableCounter("ml.inference.rejections", () => Observe(s => s.RejectedCount), requests,
            "Inference requests refused because the node's queue was full (429)");
        meter.CreateObservableCounter("ml.inference.timeouts", () => Observe(s => s.TimeoutCount), requests,
            "Inference requests that timed out waiting or running");
        meter.CreateObservableCounter("ml.inference.cache_hits", () => Observe(s => s.CacheHitCount), requests,
            "Inference requests answered from the deployment's cache");
        meter.CreateObservableGauge("ml.inference.queue_depth", () => ObserveExecutors(e => e.Pending), requests,
            "Requests queued or running on the node (ES's number_of_pending_requests)");
        meter.CreateObservableGauge("ml.deployment.allocations", () => ObserveExecutors(e => e.Options.Allocations), "{allocation}",
            "Allocations (concurrent runs) the deployment has on the node");
        meter.CreateObservableGauge("ml.inference.duration.p99", ObserveP99, "ms",
            "The last minute's 99th percentile inference time (as _stats' inference_time_p99_ms)");
    }

    private IEnumerable<Measurement<long>> Observe(Func<ExecutorStatistics, long> read)
    {
        foreach (var tracked in _executors.Values) yield return new Measurement<long>(read(tracked.Executor.Statistics), tracked.Tags);
    }

    private IEnumerable<Measurement<int>> ObserveExecutors(Func<InferenceExecutor, int> read)
    {
        foreach (var tracked in _executors.Values) yield return new Measurement<int>(read(tracked.Executor), tracked.Tags);
    }

    private IEnumerable<Measurement<double>> ObserveP99()
    {
        foreach (var tracked in _executors.Values)
            if (tracked.Executor.Statistics.InferenceTimeP99Ms() is { } p99) yield return new Measurement<double>(p99, tracked.Tags);
    }
}
