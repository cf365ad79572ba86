using System.Collections.Concurrent;

namespace TrainedModelsOrleans.Runtime.Catalog;

/// <summary>
/// Runs an activation's work one task at a time on the thread pool (Orleans' ActivationTaskScheduler):
/// awaits inside a grain resume here, so a grain never runs on two threads at once.
/// </summary>
internal sealed class ActivationTaskScheduler : TaskScheduler, IThreadPoolWorkItem
{
    private const int MaxTasksPerQuantum = 64;

    [ThreadStatic] private static ActivationTaskScheduler? s_running;

    private readonly ConcurrentQueue<Task> _queue = new();
    private int _scheduled;

    public override int MaximumConcurrencyLevel => 1;

    public bool IsRunningOnThisThread => ReferenceEquals(s_running, this);

    protected override void QueueTask(Task task)
    {
        _queue.Enqueue(task);
        if (Interlocked.CompareExchange(ref _scheduled, 1, 0) == 0)
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
    }

    void IThreadPoolWorkItem.Execute()
    {
        var previous = s_running;
        s_running = this;
        try
        {
            for (var n = 0; n < MaxTasksPerQuantum && _queue.TryDequeue(out var task); n++)
                TryExecuteTask(task);
        }
        finally
        {
            s_running = previous;
            // A full fence, not a release store: the queue check below must not move before this write,
            // or a task queued meanwhile (which saw the flag still set) would be stranded.
            Interlocked.Exchange(ref _scheduled, 0);
        }
        if (!_queue.IsEmpty && Interlocked.CompareExchange(ref _scheduled, 1, 0) == 0)
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
    }

    // Inline only when already inside this activation's turn: it cannot add parallelism then.
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) =>
        !taskWasPreviouslyQueued && IsRunningOnThisThread && TryExecuteTask(task);

    protected override IEnumerable<Task> GetScheduledTasks() => _queue.ToArray();
}
