using System.Collections.Concurrent;
using System.Diagnostics;

namespace TrainedModelsOrleans.Inference.Serving;

/// <summary>
/// Runs one deployment's requests on one node: a bounded queue (full = refused at once), at most
/// <see cref="ExecutorOptions.Allocations"/> model runs at a time on one shared session, and dynamic
/// batching of queued requests into one run. A request is run by the pool thread that submits it when
/// an allocation is free (no hand-off); otherwise it queues, and whoever frees an allocation takes the
/// queued requests as one batch, then hands the rest to the thread pool.
/// </summary>
public sealed class InferenceExecutor
{
    private readonly Func<IReadOnlyList<Tensor>, Tensor[]> _run;
    private readonly bool _batchable;
    private readonly ConcurrentQueue<WorkItem> _queue = new();
    private readonly ResultCache? _cache;
    private ExecutorOptions _options;
    private int _queued;
    private int _freeSlots;
    private int _running;
    private volatile bool _stopped;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<WorkItem, byte> _runningItems = new(ReferenceEqualityComparer.Instance);
    private readonly Timer _sweep;

    /// <param name="run">Runs the model on a set of input tensors (thread-safe: called from several allocations at once).</param>
    /// <param name="batchable">Inputs and outputs all have a batch (first) dimension, so requests may be stacked.</param>
    public InferenceExecutor(Func<IReadOnlyList<Tensor>, Tensor[]> run, ExecutorOptions options, bool batchable)
    {
        options.Validate();
        _run = run;
        _options = options;
        _batchable = batchable && options.MaxBatchSize > 1;
        _freeSlots = options.Allocations;
        _cache = options.CacheSizeBytes > 0 ? new ResultCache(options.CacheSizeBytes) : null;
        _sweep = new Timer(static self => ((InferenceExecutor)self!).SweepDeadlines(), this, SweepPeriod, SweepPeriod);
    }

    private static readonly TimeSpan SweepPeriod = TimeSpan.FromMilliseconds(50);

    public ExecutorStatistics Statistics { get; } = new();
    public ExecutorOptions Options => _options;

    /// <summary>Queued plus running requests (ES's number_of_pending_requests).</summary>
    public int Pending => Volatile.Read(ref _queued) + Volatile.Read(ref _running);

    public bool IsStopped => _stopped;

    /// <summary>Runs the model on these inputs (one or more rows). Throws QueueFullException, InferenceTimeoutException, ExecutorStoppedException, or the model's error.</summary>
    public Task<Tensor[]> RunAsync(Tensor[] inputs, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (_stopped) return Task.FromException<Tensor[]>(new ExecutorStoppedException("the deployment is stopping on this node"));
        var started = Stopwatch.GetTimestamp();
        ResultCache.Key key = default;
        if (_cache is not null)
        {
            key = ResultCache.KeyOf(inputs);
            if (_cache.TryGet(key, out var cached))
            {
                Statistics.Completed(Stopwatch.GetTimestamp() - started, cacheHit: true);
                return Task.FromResult(cached);
            }
        }
        if (Interlocked.Increment(ref _queued) > _options.QueueCapacity)
        {
            Interlocked.Decrement(ref _queued);
            Statistics.Rejected();
            return Task.FromException<Tensor[]>(new QueueFullException(_options.QueueCapacity));
        }
        var deadline = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : started + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var item = new WorkItem(inputs, started, deadline, timeout, _cache is null ? null : key);
        _queue.Enqueue(item);
        // Full fence: the enqueue must be visible before we read the free slots, or a run finishing on
        // another thread could see an empty queue while we see no free slot, and nobody runs the item.
        Interlocked.MemoryBarrier();
        // Run on this thread only when it is a plain pool thread: inside an actor's turn (a custom
        // scheduler) a model run would hold the turn, so requests would wait in mailboxes, not here.
        if (TaskScheduler.Current == TaskScheduler.Default) Pump();
        else if (Volatile.Read(ref _freeSlots) > 0) ThreadPool.UnsafeQueueUserWorkItem(static self => self.Pump(), this, preferLocal: true);
        if (cancellationToken.CanBeCanceled)
            cancellationToken.Register(static state => ((WorkItem)state!).Completion.TrySetCanceled(), item);
        return item.Completion.Task;
    }

    /// <summary>
    /// Fails waiting callers whose deadline passed (a sweep, not a timer per request: that would cost
    /// more than a tiny model's run). Queued ones are skipped when their turn comes (ES #80087).
    /// </summary>
    private void SweepDeadlines()
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var item in _queue)
            if (now >= item.Deadline && item.Completion.TrySetException(new InferenceTimeoutException(item.Timeout))) Statistics.TimedOut();
        foreach (var item in _runningItems.Keys)
            if (now >= item.Deadline && item.Completion.TrySetException(new InferenceTimeoutException(item.Timeout))) Statistics.TimedOut();
    }

    /// <summary>Changes how many allocations this node runs (an update of number_of_allocations).</summary>
    public void Resize(int allocations)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(allocations);
        var previous = Interlocked.Exchange(ref _options, _options with { Allocations = allocations }).Allocations;
        Interlocked.Add(ref _freeSlots, allocations - previous);
        Pump();
    }

    /// <summary>
    /// Stops taking requests. With finishPendingWork the queued requests run first; without it they fail
    /// with a clear error. Returns once nothing is queued or running.
    /// </summary>
    public async Task StopAsync(bool finishPendingWork, CancellationToken cancellationToken = default)
    {
        _stopped = true;
        if (!finishPendingWork)
            while (_queue.TryDequeue(out var item))
            {
                Interlocked.Decrement(ref _queued);
                item.Completion.TrySetException(new ExecutorStoppedException(
                    "the deployment was stopped on this node before the request ran; stop with finish_pending_work=true to drain queues"));
            }
        Pump();
        CheckDrained();
        await _drained.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        await _sweep.DisposeAsync().ConfigureAwait(false);
    }

    private void Pump()
    {
        while (!_queue.IsEmpty && TryAcquireSlot())
        {
            var batch = TakeBatch();
            var count = batch.Count; // RunBatch consumes the list
            if (count > 0)
            {
                Interlocked.Add(ref _running, count);
                RunBatch(batch);
                Interlocked.Add(ref _running, -count);
            }
            Interlocked.Increment(ref _freeSlots);
            if (!_queue.IsEmpty)
            {
                // Let the submitting thread return; the pool drains the rest.
                ThreadPool.UnsafeQueueUserWorkItem(static self => self.Pump(), this, preferLocal: false);
                break;
            }
        }
        if (_stopped) CheckDrained();
    }

    private bool TryAcquireSlot()
    {
        while (true)
        {
            var free = Volatile.Read(ref _freeSlots);
            if (free <= 0) return false;
            if (Interlocked.CompareExchange(ref _freeSlots, free - 1, free) == free) return true;
        }
    }

    private List<WorkItem> TakeBatch()
    {
        var max = _batchable ? _options.MaxBatchSize : 1;
        var batch = new List<WorkItem>(Math.Min(max, 8));
        var waitUntil = _options.MaxBatchWait > TimeSpan.Zero
            ? Stopwatch.GetTimestamp() + (long)(_options.MaxBatchWait.TotalSeconds * Stopwatch.Frequency)
            : 0;
        var spinner = new SpinWait();
        while (batch.Count < max)
        {
            if (_queue.TryDequeue(out var item))
            {
                Interlocked.Decrement(ref _queued);
                if (Skip(item)) continue;
                batch.Add(item);
                continue;
            }
            if (batch.Count == 0 || Stopwatch.GetTimestamp() >= waitUntil) break;
            spinner.SpinOnce(sleep1Threshold: -1);
        }
        return batch;
    }

    /// <summary>Requests whose caller already gave up, or whose deadline passed, are not run.</summary>
    private bool Skip(WorkItem item)
    {
        if (item.Completion.Task.IsCompleted) return true;
        if (Stopwatch.GetTimestamp() < item.Deadline) return false;
        var waited = TimeSpan.FromSeconds((double)(item.Deadline - item.Started) / Stopwatch.Frequency);
        if (item.Completion.TrySetException(new InferenceTimeoutException(waited))) Statistics.TimedOut();
        return true;
    }

    private void RunBatch(List<WorkItem> batch)
    {
        while (batch.Count > 0)
        {
            // Requests stack when every input matches but for the number of rows.
            var first = batch[0];
            var group = batch.Where(item => item == first || Stacks(first, item)).ToList();
            batch.RemoveAll(group.Contains);
            if (group.Count == 1 || !TryRunStacked(group))
                foreach (var item in group) RunOne(item);
        }
    }

    private static bool Stacks(WorkItem a, WorkItem b) =>
        a.Inputs.Length == b.Inputs.Length && a.Inputs.Zip(b.Inputs).All(p => p.First.StacksWith(p.Second));

    private void RunOne(WorkItem item)
    {
        _runningItems.TryAdd(item, 0);
        try
        {
            Complete(item, _run(item.Inputs));
        }
        catch (Exception error)
        {
            Statistics.Failed();
            item.Completion.TrySetException(error);
        }
        finally
        {
            _runningItems.TryRemove(item, out _);
        }
    }

    /// <summary>One run for the group; false (nothing completed) if it failed or its outputs cannot be split by rows.</summary>
    private bool TryRunStacked(List<WorkItem> group)
    {
        var inputs = Enumerable.Range(0, group[0].Inputs.Length).Select(i => Tensor.Concat(group.Select(g => g.Inputs[i]).ToArray())).ToArray();
        var rows = inputs[0].Rows;
        Tensor[] outputs;
        foreach (var item in group) _runningItems.TryAdd(item, 0);
        try
        {
            outputs = _run(inputs);
        }
        catch (Exception)
        {
            return false; // one bad request must not fail its neighbours: run them one by one
        }
        finally
        {
            foreach (var item in group) _runningItems.TryRemove(item, out _);
        }
        if (outputs.Any(o => o.Shape.Length == 0 || o.Rows != rows)) return false;
        long offset = 0;
        foreach (var item in group)
        {
            var itemRows = item.Inputs[0].Rows;
            var start = offset;
            Complete(item, outputs.Select(o => o.SliceRows(start, itemRows)).ToArray());
            offset += itemRows;
        }
        return true;
    }

    private void Complete(WorkItem item, Tensor[] outputs)
    {
        if (item.CacheKey is { } key) _cache?.Add(key, outputs);
        // Counted before the caller resumes (completion runs its continuation inline), so a caller that
        // reads the counters after its answer sees itself. A timeout racing this moment is counted twice.
        if (item.Completion.Task.IsCompleted) return;
        Statistics.Completed(Stopwatch.GetTimestamp() - item.Started, cacheHit: false);
        item.Completion.TrySetResult(outputs);
    }

    private void CheckDrained()
    {
        if (_stopped && _queue.IsEmpty && Volatile.Read(ref _running) == 0) _drained.TrySetResult();
    }

    private sealed class WorkItem(Tensor[] inputs, long started, long deadline, TimeSpan timeout, ResultCache.Key? cacheKey)
    {
        public Tensor[] Inputs { get; } = inputs;
        public long Started { get; } = started;
        public long Deadline { get; } = deadline;
        public TimeSpan Timeout { get; } = timeout;
        public ResultCache.Key? CacheKey { get; } = cacheKey;

        // Completed inline by the run's thread: awaiting grains re-queue onto their own scheduler anyway,
        // and a forced pool hop per request would cost more than a tiny model's run.
        public TaskCompletionSource<Tensor[]> Completion { get; } = new();
    }
}
