using System.Diagnostics;

namespace TrainedModelsOrleans.Runtime.Proxies;

/// <summary>One call in flight: queued in a mailbox, run as a turn, completed once (result, exception or timeout).</summary>
internal abstract class GrainRequest
{
    protected GrainRequest(GrainMethod method, object?[] arguments, TimeSpan timeout)
    {
        Method = method;
        Arguments = arguments;
        StartTimestamp = Stopwatch.GetTimestamp();
        DeadlineTimestamp = StartTimestamp + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
    }

    public GrainMethod Method { get; }
    public object?[] Arguments { get; }

    /// <summary>A stateless worker call pinned to the silo with this name (the caller routed it there).</summary>
    public string? OnSilo { get; init; }

    /// <summary>How often the request was sent on because its target was elsewhere; bounded to stop ping-pong.</summary>
    public int Forwards { get; set; }

    public TimeSpan Remaining => TimeSpan.FromSeconds(Math.Max(0, DeadlineTimestamp - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency);
    public long StartTimestamp { get; }
    public long DeadlineTimestamp { get; }
    public abstract bool IsCompleted { get; }

    /// <summary>Runs the method on the grain; completes the caller's task. Never throws.</summary>
    public abstract Task ExecuteAsync(object grain);

    /// <summary>Completes the caller's task with an error if it is still pending.</summary>
    public abstract bool TryFail(Exception error);

    /// <summary>Completes the caller's task with a result that came back from another silo.</summary>
    public abstract bool TryComplete(object? result);

    /// <summary>Completes once the caller's task has (result, error or timeout).</summary>
    public abstract Task Completion { get; }

    /// <summary>The result after a successful completion (boxed), for replying over the wire.</summary>
    public abstract object? Result { get; }

    /// <summary>The exception the grain method threw, if any (for InconsistentState handling).</summary>
    public Exception? Fault { get; protected set; }

    public bool IsExpired(long now) => now >= DeadlineTimestamp;

    public TimeoutException TimeoutError(GrainId target) =>
        new($"Response did not arrive on time in {Method.Timeout} for call to {target}.{Method.Name}.");
}

internal sealed class GrainRequest<TResult>(GrainMethod<TResult> method, object?[] arguments, TimeSpan timeout)
    : GrainRequest(method, arguments, timeout)
{
    // Continuations run asynchronously so a caller never runs inside the callee's turn.
    private readonly TaskCompletionSource<TResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<TResult> TypedCompletion => _completion.Task;

    public override Task Completion => _completion.Task;

    public override object? Result => _completion.Task.Result;

    public override bool TryComplete(object? result)
    {
        if (!_completion.TrySetResult((TResult)result!)) return false;
        Method.Statistics.Record(StartTimestamp, failed: false);
        return true;
    }

    public override bool IsCompleted => _completion.Task.IsCompleted;

    public override Task ExecuteAsync(object grain)
    {
        Task<TResult> task;
        try
        {
            task = method.Invoker(grain, Arguments);
        }
        catch (Exception e)
        {
            Complete(e);
            return Task.CompletedTask;
        }
        if (task.IsCompleted)
        {
            CompleteFrom(task);
            return Task.CompletedTask;
        }
        return AwaitAndComplete(task);
    }

    private async Task AwaitAndComplete(Task<TResult> task)
    {
        try { await task; }
        catch { /* observed below */ }
        CompleteFrom(task);
    }

    private void CompleteFrom(Task<TResult> task)
    {
        if (task.IsCompletedSuccessfully)
        {
            Method.Statistics.Record(StartTimestamp, failed: false);
            _completion.TrySetResult(task.Result);
        }
        else if (task.IsCanceled)
        {
            Complete(new TaskCanceledException(task));
        }
        else
        {
            var inner = task.Exception!.InnerExceptions.Count == 1 ? task.Exception.InnerException! : task.Exception;
            Complete(inner);
        }
    }

    private void Complete(Exception e)
    {
        Fault = e;
        Method.Statistics.Record(StartTimestamp, failed: true);
        _completion.TrySetException(e);
    }

    public override bool TryFail(Exception error)
    {
        if (!_completion.TrySetException(error)) return false;
        Method.Statistics.Record(StartTimestamp, failed: true);
        return true;
    }
}
