using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace TrainedModelsOrleans.Inference.Serving;

/// <summary>
/// The histograms one executor records into (inference time, queue wait, batch size), with its deployment's and
/// node's tags made once. The counters and gauges need nothing here: they are observed from
/// <see cref="ExecutorStatistics"/> when metrics are collected, so the hot path pays only for these histograms.
/// </summary>
public sealed class ExecutorMeasurements(Histogram<double> inferenceTime, Histogram<double> queueWait, Histogram<int> batchSize, TagList tags)
{
    private static readonly double SecondsPerTick = 1.0 / Stopwatch.Frequency;
    private readonly TagList _tags = tags;

    /// <summary>Whether anyone listens to the queue wait (the executor skips its per-request loop otherwise).</summary>
    internal bool MeasuresQueueWait => queueWait.Enabled;

    internal void Answered(long elapsedTicks) => inferenceTime.Record(elapsedTicks * SecondsPerTick, in _tags);

    internal void Waited(long waitedTicks) => queueWait.Record(waitedTicks * SecondsPerTick, in _tags);

    internal void Batch(int requests) => batchSize.Record(requests, in _tags);
}
