using System.Collections.Concurrent;
using System.Diagnostics;

namespace TrainedModelsOrleans.Inference.Serving;

/// <summary>
/// Runs one deployment's requests on one node: a bounded queue (full = refused at once), at most
/// <see cref="ExecutorOptions.Allocations"/> model runs at a time on one shared session, and dynamic
/// batching of queued requests into one run. A request submitted from a plain pool thread is run by that
/// thread when an allocation is free (no hand-off); from inside an actor's turn it is queued and a run is
/// scheduled on the pool, which takes everything queued by then as one batch. A run whose requests have
/// all given up (timed out, or cancelled by their callers) is terminated, so its allocation frees at once.
/// </summary>
public sealed class InferenceExecutor
{
    private readonly Func<IReadOnlyList<Tensor>, CancellationToken, Tensor[]> _run;
    private readonly bool _batchable;
    private readonly ConcurrentQueue<IWorkItem> _queue = new();
    private readonly ResultCache? _cache;
    private readonly TensorBuffers _buffers;
    private ExecutorOptions _options;
    private int _queued;
    private int _freeSlots;
    private int _runningRequests;
    private int _activeRuns;
    private int _scheduledRuns;
    private volatile bool _stopped;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // Guarded by its own lock (two short holds per run): a concurrent dictionary allocated a node per run.
    private readonly HashSet<RunningBatch> _runningBatches = new(ReferenceEqualityComparer.Instance);
    private readonly Timer _sweep;

    /// <param name="run">
    /// Runs the model on a set of input tensors (thread-safe: called from several allocations at once). The token
    /// is cancelled when every request of the run has given up; the run should then stop and throw OperationCanceledException.
    /// A batch's inputs are views of pooled buffers (read them with <see cref="Tensor.AsSpan{T}"/>): the run must not keep them.
    /// </param>
    /// <param name="batchable">Inputs and outputs all have a batch (first) dimension, so requests may be stacked.</param>
    /// <param name="buffers">Where stacked batches rent their input buffers; <see cref="TensorBuffers.Shared"/> by default.</param>
    /// <param name="measurements">The metrics' histograms to record into, if any.</param>
    public InferenceExecutor(
        Func<IReadOnlyList<Tensor>, CancellationToken, Tensor[]> run, ExecutorOptions options, bool batchable, TensorBuffers? buffers = null,
        ExecutorMeasurements? measurements = null)
    {
        Statistics = new ExecutorStatistics(measurements);
        options.Validate();
        _run = run;
        _buffers = buffers ?? TensorBuffers.Shared;
        _options = options;
        _batchable = batchable && options.MaxBatchSize > 1;
        _freeSlots = options.Allocations;
        _cache = options.CacheSizeBytes > 0 ? new ResultCache(options.CacheSizeBytes) : null;
        _sweep = new Timer(static self => ((InferenceExecutor)self!).SweepDeadlines(), this, SweepPeriod, SweepPeriod);
    }

    private static readonly TimeSpan SweepPeriod = TimeSpan.FromMilliseconds(50);

    public ExecutorStatistics Statistics { get; }
    public ExecutorOptions Options => _options;

    /// <summary>Queued plus running requests (ES's number_of_pending_requests).</summary>
    public int Pending => Volatile.Read(ref _queued) + Volatile.Read(ref _runningRequests);

    public bool IsStopped => _stopped;

    /// <summary>Empties the result cache, if the deployment has one; runs already under way may still add their results.</summary>
    public void ClearCache() => _cache?.Clear();

    /// <summary>Runs the model on these inputs (one or more rows). Throws QueueFullException, InferenceTimeoutException, ExecutorStoppedException, or the model's error.</summary>
    public Task<Tensor[]> RunAsync(Tensor[] inputs, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        RunAsync(inputs, timeout, ResultShape.AsIs, cancellationToken);

    /// <summary>
    /// Runs the model on these inputs; the caller's task gets the outputs, and any failure, in the given shape,
    /// made on the run's thread (so a caller needs no continuation of its own to convert them).
    /// </summary>
    public Task<TResult> RunAsync<TResult>(Tensor[] inputs, TimeSpan timeout, ResultShape<TResult> shape, CancellationToken cancellationToken = default)
    {
        var task = Submit(inputs, timeout, shape, cancellationToken, out var queued);
        if (queued) StartRun();
        return task;
    }

    /// <summary>
    /// Runs several requests (the docs of one call), each a queue entry of its own as ES counts them, queued together
    /// before a run starts, so that requests of one shape go to the model as one batch.
    /// </summary>
    public Task<Tensor[]>[] RunAllAsync(IReadOnlyList<Tensor[]> requests, TimeSpan timeout)
    {
        var tasks = new Task<Tensor[]>[requests.Count];
        var anyQueued = false;
        for (var i = 0; i < tasks.Length; i++)
        {
            tasks[i] = Submit(requests[i], timeout, ResultShape.AsIs, CancellationToken.None, out var queued);
            anyQueued |= queued;
        }
        if (anyQueued) StartRun();
        return tasks;
    }

    /// <summary>The request answered from the cache or refused at once, or queued (<paramref name="queued"/>) for a run to take.</summary>
    private Task<TResult> Submit<TResult>(Tensor[] inputs, TimeSpan timeout, ResultShape<TResult> shape, CancellationToken cancellationToken, out bool queued)
    {
        queued = false;
        if (_stopped) return Task.FromException<TResult>(shape.Error(new ExecutorStoppedException("the deployment is stopping on this node")));
        var started = Stopwatch.GetTimestamp();
        ResultCache.Key? key = null;
        if (_cache is not null)
        {
            var k = ResultCache.KeyOf(inputs);
            if (_cache.TryGet(k, out var cached))
            {
                Statistics.CacheHit(Stopwatch.GetTimestamp() - started);
                return Task.FromResult(shape.Result(cached));
            }
            key = k;
        }
        if (Interlocked.Increment(ref _queued) > _options.QueueCapacity)
        {
            Interlocked.Decrement(ref _queued);
            Statistics.Rejected();
            return Task.FromException<TResult>(shape.Error(new QueueFullException(_options.QueueCapacity)));
        }
        var deadline = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : started + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var item = new WorkItem<TResult>(inputs, started, deadline, timeout, key, shape);
        // Before the enqueue: this thread may run the request itself, and cancelling must reach that run.
        if (cancellationToken.CanBeCanceled)
            cancellationToken.Register(static state => CancelByCaller((IWorkItem)state!), item);
        _queue.Enqueue(item);
        queued = true;
        return item.Task;
    }

    /// <summary>Starts a run for what was just queued: on this thread when it is a plain pool thread, else on the pool.</summary>
    private void StartRun()
    {
        // Full fence: the enqueue must be visible before we read the free slots, or a run finishing on
        // another thread could see an empty queue while we see no free slot, and nobody runs the item.
        Interlocked.MemoryBarrier();
        // Run on this thread only when it is a plain pool thread: inside an actor's turn (a custom
        // scheduler) a model run would hold the turn, so requests would wait in mailboxes, not here.
        if (TaskScheduler.Current == TaskScheduler.Default) Pump();
        else ScheduleRun();
    }

    private static void CancelByCaller(IWorkItem item)
    {
        item.TryCancel();
        item.Batch?.TerminateIfAbandoned();
    }

    /// <summary>
    /// Fails waiting callers whose deadline passed (a sweep, not a timer per request: that would cost
    /// more than a tiny model's run). Queued ones are skipped when their turn comes (ES #80087); a running
    /// batch that nobody waits for any more is terminated.
    /// </summary>
    private void SweepDeadlines()
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var item in _queue) TimeOutIfDue(item, now);
        RunningBatch[] running;
        lock (_runningBatches) running = [.. _runningBatches];
        foreach (var batch in running)
        {
            foreach (var item in batch.Items) TimeOutIfDue(item, now);
            batch.TerminateIfAbandoned();
        }
    }

    private void TimeOutIfDue(IWorkItem item, long now)
    {
        if (now >= item.Deadline && item.TryFail(new InferenceTimeoutException(item.Timeout))) Statistics.TimedOut();
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
                item.TryFail(new ExecutorStoppedException(
                    "the deployment was stopped on this node before the request ran; stop with finish_pending_work=true to drain queues"));
            }
        Pump();
        CheckDrained();
        await _drained.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        await _sweep.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Queues a run on the pool unless enough are already queued (one per free allocation: each takes
    /// everything queued when it starts). When batching, the run goes behind the work already waiting on
    /// the pool, so requests that arrive meanwhile join its batch; without batching it goes first.
    /// </summary>
    private void ScheduleRun()
    {
        if (Volatile.Read(ref _scheduledRuns) >= Volatile.Read(ref _freeSlots)) return;
        Interlocked.Increment(ref _scheduledRuns);
        ThreadPool.UnsafeQueueUserWorkItem(static self =>
        {
            // Before looking at the queue (see RunAsync's fence): a request that saw this run still
            // scheduled is then seen by it.
            Interlocked.Decrement(ref self._scheduledRuns);
            self.Pump();
        }, this, preferLocal: !_batchable);
    }

    /// <summary>Runs one batch if something is queued and an allocation is free; queues the next run if more wait.</summary>
    private void Pump()
    {
        if (!_queue.IsEmpty && TryAcquireSlot())
        {
            Interlocked.Increment(ref _activeRuns);
            try
            {
                if (TakeBatch() is { } items)
                {
                    Statistics.BatchTaken(items.Count);
                    if (Statistics.MeasuresQueueWait)
                    {
                        var taken = Stopwatch.GetTimestamp();
                        foreach (var item in items) Statistics.Waited(taken - item.Started);
                    }
                    // Each request leaves the running count just before its caller gets the answer (see RunOne).
                    Interlocked.Add(ref _runningRequests, items.Count);
                    var batch = new RunningBatch(items);
                    foreach (var item in items) item.Batch = batch;
                    lock (_runningBatches) _runningBatches.Add(batch);
                    // Full fence against CancelByCaller: a caller that gave up before seeing its batch is seen here.
                    Interlocked.MemoryBarrier();
                    batch.TerminateIfAbandoned();
                    try
                    {
                        RunBatch(items, batch.Token);
                    }
                    finally
                    {
                        lock (_runningBatches) _runningBatches.Remove(batch);
                        // A caller's registration outlives the run: it must not keep the other requests' inputs alive.
                        foreach (var item in items) item.Batch = null;
                    }
                }
            }
            finally
            {
                Interlocked.Decrement(ref _activeRuns);
                Interlocked.Increment(ref _freeSlots);
            }
            // Let a submitting thread return, and the pool run what completed; the next run takes the rest.
            if (!_queue.IsEmpty) ScheduleRun();
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

    /// <summary>Up to a batch of queued requests that are still wanted; null if none are.</summary>
    private List<IWorkItem>? TakeBatch()
    {
        var max = _batchable ? _options.MaxBatchSize : 1;
        List<IWorkItem>? batch = null;
        var now = Stopwatch.GetTimestamp();
        var waitUntil = _options.MaxBatchWait > TimeSpan.Zero ? now + (long)(_options.MaxBatchWait.TotalSeconds * Stopwatch.Frequency) : 0;
        var taken = 0;
        var spinner = new SpinWait();
        while ((batch?.Count ?? 0) < max)
        {
            if (_queue.TryDequeue(out var item))
            {
                taken++;
                if (Skip(item, now)) continue;
                (batch ??= new List<IWorkItem>(Math.Min(max, Volatile.Read(ref _queued) + 1))).Add(item);
                continue;
            }
            if (batch is null || waitUntil == 0 || (now = Stopwatch.GetTimestamp()) >= waitUntil) break;
            spinner.SpinOnce(sleep1Threshold: -1);
        }
        Interlocked.Add(ref _queued, -taken);
        return batch;
    }

    /// <summary>Requests whose caller already gave up, or whose deadline passed, are not run.</summary>
    private bool Skip(IWorkItem item, long now)
    {
        if (item.IsCompleted) return true;
        if (now < item.Deadline) return false;
        var waited = TimeSpan.FromSeconds((double)(item.Deadline - item.Started) / Stopwatch.Frequency);
        if (item.TryFail(new InferenceTimeoutException(waited))) Statistics.TimedOut();
        return true;
    }

    private void RunBatch(List<IWorkItem> batch, CancellationToken terminated)
    {
        while (true)
        {
            if (terminated.IsCancellationRequested)
            {
                Interlocked.Add(ref _runningRequests, -batch.Count);
                return;
            }
            // Requests stack when every input matches but for the number of rows; usually all of them do.
            var first = batch[0];
            var group = batch;
            List<IWorkItem>? rest = null;
            for (var i = 1; i < batch.Count; i++)
            {
                if (Stacks(first, batch[i])) continue;
                group = new List<IWorkItem>(batch.Count);
                rest = new List<IWorkItem>(batch.Count - i);
                for (var j = 0; j < batch.Count; j++)
                    (j < i || Stacks(first, batch[j]) ? group : rest).Add(batch[j]);
                break;
            }
            if (group.Count == 1 || !TryRunStacked(group, terminated))
                foreach (var item in group)
                {
                    // One by one after a failed or terminated stacked run: not for callers that gave up meanwhile.
                    if (item.IsCompleted) Interlocked.Decrement(ref _runningRequests);
                    else RunOne(item, terminated);
                }
            if (rest is null) return;
            batch = rest;
        }
    }

    private static bool Stacks(IWorkItem a, IWorkItem b)
    {
        if (a.Inputs.Length != b.Inputs.Length) return false;
        for (var i = 0; i < a.Inputs.Length; i++)
            if (!a.Inputs[i].StacksWith(b.Inputs[i])) return false;
        return true;
    }

    private void RunOne(IWorkItem item, CancellationToken terminated)
    {
        Tensor[] outputs;
        try
        {
            outputs = _run(item.Inputs, terminated);
        }
        catch (OperationCanceledException) when (terminated.IsCancellationRequested)
        {
            // Terminated because its caller gave up and was answered then: not the model's error.
            Interlocked.Decrement(ref _runningRequests);
            return;
        }
        catch (Exception error)
        {
            Statistics.Failed();
            Interlocked.Decrement(ref _runningRequests);
            item.TryFail(error);
            return;
        }
        if (item.CacheKey is { } key) _cache?.Add(key, outputs);
        // Counted before the caller resumes (completion runs its continuation inline), so a caller that
        // reads the counters after its answer sees itself. A timeout racing this moment is counted twice.
        if (!item.IsCompleted)
        {
            var elapsed = Stopwatch.GetTimestamp() - item.Started;
            Statistics.Answered(elapsed);
            Statistics.Completed(1, elapsed);
        }
        Interlocked.Decrement(ref _runningRequests);
        item.TrySucceed(outputs);
    }

    /// <summary>One run for the group; false (nothing completed) if it failed or its outputs cannot be split by rows.</summary>
    private bool TryRunStacked(List<IWorkItem> group, CancellationToken terminated)
    {
        // The batch's inputs are views of pooled buffers. They go back once the run has returned or thrown (ONNX
        // Runtime no longer reads them) and the outputs are split into copies (a model may echo an input).
        var inputs = new Tensor[group[0].Inputs.Length];
        Tensor[][] results;
        try
        {
            long rows;
            Tensor[] outputs;
            try
            {
                var parts = new Tensor[group.Count];
                for (var i = 0; i < inputs.Length; i++)
                {
                    for (var g = 0; g < parts.Length; g++) parts[g] = group[g].Inputs[i];
                    inputs[i] = Tensor.StackInto(parts, _buffers);
                }
                rows = inputs[0].Rows;
                outputs = _run(inputs, terminated);
            }
            catch (Exception)
            {
                // One bad request must not fail its neighbours: run them one by one (none, if it was terminated).
                return false;
            }
            foreach (var output in outputs)
                if (output.Shape.Length == 0 || output.Rows != rows) return false;

            // Split first, count the batch, then answer: see RunOne.
            results = new Tensor[group.Count][];
            long offset = 0;
            for (var g = 0; g < group.Count; g++)
            {
                var item = group[g];
                var itemRows = item.Inputs[0].Rows;
                var itemOutputs = new Tensor[outputs.Length];
                for (var o = 0; o < outputs.Length; o++) itemOutputs[o] = outputs[o].SliceRows(offset, itemRows);
                results[g] = itemOutputs;
                offset += itemRows;
                if (item.CacheKey is { } key) _cache?.Add(key, itemOutputs);
            }
        }
        finally
        {
            foreach (var input in inputs)
                if (input is not null) _buffers.Return(input.Data);
        }
        var now = Stopwatch.GetTimestamp();
        var answered = 0;
        long elapsed = 0;
        foreach (var item in group)
        {
            if (item.IsCompleted) continue;
            answered++;
            elapsed += now - item.Started;
            Statistics.Answered(now - item.Started);
        }
        Statistics.Completed(answered, elapsed);
        Interlocked.Add(ref _runningRequests, -group.Count);
        for (var g = 0; g < group.Count; g++) group[g].TrySucceed(results[g]);
        return true;
    }

    private void CheckDrained()
    {
        if (_stopped && _queue.IsEmpty && Volatile.Read(ref _activeRuns) == 0) _drained.TrySetResult();
    }

    /// <summary>A queued request, whatever shape its caller wants the answer in.</summary>
    private interface IWorkItem
    {
        Tensor[] Inputs { get; }
        long Started { get; }
        long Deadline { get; }
        TimeSpan Timeout { get; }
        ResultCache.Key? CacheKey { get; }
        bool IsCompleted { get; }
        /// <summary>The batch running this request, once it runs.</summary>
        RunningBatch? Batch { get; set; }
        bool TrySucceed(Tensor[] outputs);
        bool TryFail(Exception error);
        void TryCancel();
    }

    /// <summary>
    /// A queued request and its caller's task. Completed inline by the run's thread: awaiting grains
    /// re-queue onto their own scheduler anyway, and a forced pool hop per request would cost more than a
    /// tiny model's run.
    /// </summary>
    private sealed class WorkItem<TResult>(
        Tensor[] inputs, long started, long deadline, TimeSpan timeout, ResultCache.Key? cacheKey, ResultShape<TResult> shape)
        : TaskCompletionSource<TResult>, IWorkItem
    {
        public Tensor[] Inputs { get; } = inputs;
        public long Started { get; } = started;
        public long Deadline { get; } = deadline;
        public TimeSpan Timeout { get; } = timeout;
        public ResultCache.Key? CacheKey { get; } = cacheKey;
        public bool IsCompleted => Task.IsCompleted;
        public RunningBatch? Batch { get => Volatile.Read(ref _batch); set => Volatile.Write(ref _batch, value); }
        private RunningBatch? _batch;

        public bool TrySucceed(Tensor[] outputs)
        {
            TResult result;
            try
            {
                result = shape.Result(outputs);
            }
            catch (Exception e)
            {
                return TrySetException(shape.Error(e));
            }
            return TrySetResult(result);
        }

        public bool TryFail(Exception error) => TrySetException(shape.Error(error));

        public void TryCancel() => TrySetCanceled();
    }

    /// <summary>
    /// The requests one allocation is running, and the source of the token that terminates their run. It is
    /// the source itself (one allocation per batch), never disposed: a late sweep may still cancel it, and a
    /// source without timers or links holds nothing to free.
    /// </summary>
    private sealed class RunningBatch(List<IWorkItem> items) : CancellationTokenSource
    {
        public List<IWorkItem> Items { get; } = items;

        /// <summary>Terminates the run once no request of it is still waiting for an answer.</summary>
        public void TerminateIfAbandoned()
        {
            if (IsCancellationRequested) return;
            foreach (var item in Items)
                if (!item.IsCompleted) return;
            Cancel();
        }
    }
}
