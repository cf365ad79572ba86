using System.Diagnostics;

namespace TrainedModelsOrleans.Runtime.Messaging;

/// <summary>
/// A sent call awaiting its response. Exactly one of response, deadline, cancellation or connection loss completes
/// it (whoever flips <see cref="_done"/> first); completions run the caller's continuation on the thread pool, never
/// on the read loop.
/// </summary>
internal sealed class PendingCall : TaskCompletionSource<CallResponse>
{
    private readonly OutboundConnection _connection;
    private readonly long _id;
    private readonly CallHeader _header;
    private CancellationToken _ct;
    private CancellationTokenRegistration _cancellation;
    private long _deadline = long.MaxValue;
    private int _done;

    public PendingCall(OutboundConnection connection, long id, in CallHeader header)
        : base(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        _connection = connection;
        _id = id;
        _header = header;
    }

    /// <summary>
    /// Sets the deadline (in <see cref="Stopwatch"/> ticks, watched by <see cref="ExpireIfDue"/>) and the cancellation
    /// watch; after the call is registered, before it is queued.
    /// </summary>
    public void Arm(TimeSpan timeout, CancellationToken ct)
    {
        if (timeout != Timeout.InfiniteTimeSpan) _deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        if (ct.CanBeCanceled)
        {
            _ct = ct;
            _cancellation = ct.UnsafeRegister(static state => ((PendingCall)state!).OnCancelled(), this);
            Interlocked.MemoryBarrier();
        }
        if (Volatile.Read(ref _done) != 0) Disarm(); // completed while arming
    }

    /// <summary>The response arrived (the caller already removed the call from the connection's table).</summary>
    public void Complete(CallResponse response)
    {
        if (!Claim()) return;
        Disarm();
        TrySetResult(response);
    }

    public void Fail(Exception error)
    {
        if (!Claim()) return;
        _connection.Unregister(_id);
        Disarm();
        TrySetException(error);
    }

    /// <summary>Called by the periodic deadline sweep.</summary>
    public void ExpireIfDue(long now)
    {
        if (now < _deadline || !Claim()) return;
        _connection.Unregister(_id);
        _connection.SendCancel(_id);
        Disarm();
        TrySetException(new TimeoutException(
            $"Call {_header.Interface}.{_header.Method} ({_header.Key}) to {_connection.RemoteAddress} got no response within {_header.Timeout}."));
    }

    private void OnCancelled()
    {
        if (!Claim()) return;
        _connection.Unregister(_id);
        _connection.SendCancel(_id);
        Disarm();
        TrySetCanceled(_ct);
    }

    private bool Claim() => Interlocked.Exchange(ref _done, 1) == 0;

    private void Disarm() => _cancellation.Unregister();

    public override string ToString() => $"call {_id} {_header.Interface}.{_header.Method} to {_connection.RemoteAddress}";
}
