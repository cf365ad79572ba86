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
/// so each counter and gauge is made twice, reading the same counters: a copy costs nothing until metrics are
/// collected. The dashboard keeps one value per instrument name, so its copies are the node's totals, untagged (the
/// counters and queue depth summed over deployments, allocations summed, p99 the worst deployment's). The histograms
/// are not copied: recording each request twice would double their hot-path cost, and the dashboard would show a
/// histogram only as its running sum. The Prometheus exporter drops the copies (<see cref="IsDashboardCopy"/>).
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
        CreateObserved(_meter, nodeTotals: false);
        CreateObserved(orleans.Meter, nodeTotals: true);

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

    private void CreateObserved(Meter meter, bool nodeTotals)
    {
        const string requests = "{request}";
        Func<IEnumerable<Measurement<long>>> Counter(Func<ExecutorStatistics, long> read) =>
            nodeTotals ? () => [new Measurement<long>(Executors.Sum(e => read(e.Statistics)))] : () => Observe(read);
        Func<IEnumerable<Measurement<int>>> Gauge(Func<InferenceExecutor, int> read) =>
            nodeTotals ? () => [new Measurement<int>(Executors.Sum(read))] : () => ObserveExecutors(read);

        meter.CreateObservableCounter("ml.inference.requests", Counter(s => s.InferenceCount), requests,
            "Inference requests answered (cache hits included)");
        meter.CreateObservableCounter("ml.inference.errors", Counter(s => s.ErrorCount), requests,
            "Inference requests the model failed");
        meter.CreateObservableCounter("ml.inference.rejections", Counter(s => s.RejectedCount), requests,
            "Inference requests refused because the node's queue was full (429)");
        meter.CreateObservableCounter("ml.inference.timeouts", Counter(s => s.TimeoutCount), requests,
            "Inference requests that timed out waiting or running");
        meter.CreateObservableCounter("ml.inference.cache_hits", Counter(s => s.CacheHitCount), requests,
            "Inference requests answered from the deployment's cache");
        meter.CreateObservableGauge("ml.inference.queue_depth", Gauge(e => e.Pending), requests,
            "Requests queued or running on the node (ES's number_of_pending_requests)");
        meter.CreateObservableGauge("ml.deployment.allocations", Gauge(e => e.Options.Allocations), "{allocation}",
            "Allocations (concurrent runs) the deployment has on the node");
        meter.CreateObservableGauge("ml.inference.duration.p99", nodeTotals ? WorstP99 : (Func<IEnumerable<Measurement<double>>>)ObserveP99, "ms",
            "The last minute's 99th percentile inference time (as _stats' inference_time_p99_ms)");
    }

    private IEnumerable<InferenceExecutor> Executors
    {
        get
        {
            // Enumerating the dictionary itself takes no lock and copies nothing (.Values would do both).
            foreach (var (_, tracked) in _executors) yield return tracked.Executor;
        }
    }

    private IEnumerable<Measurement<double>> WorstP99()
    {
        double? worst = null;
        foreach (var executor in Executors)
            if (executor.Statistics.InferenceTimeP99Ms() is { } p99 && (worst is null || p99 > worst)) worst = p99;
        if (worst is { } value) yield return new Measurement<double>(value);
    }

    private IEnumerable<Measurement<long>> Observe(Func<ExecutorStatistics, long> read)
    {
        foreach (var (_, tracked) in _executors) yield return new Measurement<long>(read(tracked.Executor.Statistics), tracked.Tags);
    }

    private IEnumerable<Measurement<int>> ObserveExecutors(Func<InferenceExecutor, int> read)
    {
        foreach (var (_, tracked) in _executors) yield return new Measurement<int>(read(tracked.Executor), tracked.Tags);
    }

    private IEnumerable<Measurement<double>> ObserveP99()
    {
        foreach (var (_, tracked) in _executors)
            if (tracked.Executor.Statistics.InferenceTimeP99Ms() is { } p99) yield return new Measurement<double>(p99, tracked.Tags);
    }
}
