namespace TrainedModelsOrleans.Runtime.Messaging;

/// <summary>A call that arrived from a peer, to be answered exactly once.</summary>
public sealed class InboundCall
{
    private readonly InboundConnection? _connection;
    private readonly long _id;
    private readonly Action<CallStatus, ReadOnlyMemory<byte>>? _reply;
    private readonly CancellationToken _external;
    private CancellationTokenSource? _cancellation;
    private int _cancelRequested;
    private int _replied;

    internal InboundCall(InboundConnection connection, long id, CallHeader header, ReadOnlyMemory<byte> arguments)
    {
        _connection = connection;
        _id = id;
        Caller = connection.Remote;
        Header = header;
        Arguments = arguments;
    }

    /// <summary>A call that did not come over a socket (in-process dispatch, tests): replies go to <paramref name="reply"/>.</summary>
    public InboundCall(PeerIdentity caller, CallHeader header, ReadOnlyMemory<byte> arguments,
        Action<CallStatus, ReadOnlyMemory<byte>> reply, CancellationToken cancelled = default)
    {
        Caller = caller;
        Header = header;
        Arguments = arguments;
        _reply = reply;
        _external = cancelled;
    }

    public PeerIdentity Caller { get; }

    public CallHeader Header { get; }

    public ReadOnlyMemory<byte> Arguments { get; }

    public bool IsReplied => Volatile.Read(ref _replied) != 0;

    /// <summary>Fires when the caller cancels the call (its deadline passed or its token fired) or the connection drops.</summary>
    public CancellationToken Cancelled
    {
        get
        {
            if (_connection is null) return _external;
            var cancellation = Volatile.Read(ref _cancellation);
            if (cancellation is null)
            {
                // Created on first use: most calls finish without anyone asking.
                var created = new CancellationTokenSource();
                cancellation = Interlocked.CompareExchange(ref _cancellation, created, null) ?? created;
                if (Volatile.Read(ref _cancelRequested) != 0) CancelQuietly(cancellation);
            }
            return cancellation.Token;
        }
    }

    /// <summary>Answers the call. The first reply wins; later ones are ignored. Safe from any thread.</summary>
    public void Reply(CallStatus status, ReadOnlySpan<byte> payload)
    {
        if (Interlocked.Exchange(ref _replied, 1) != 0) return;
        if (_connection is not null) _connection.SendResponse(_id, status, payload);
        else _reply!(status, payload.ToArray());
    }

    internal long Id => _id;

    internal void RequestCancel()
    {
        if (Interlocked.Exchange(ref _cancelRequested, 1) != 0) return;
        // Off the read loop: cancellation callbacks are the handler's code.
        if (Volatile.Read(ref _cancellation) is { } cancellation)
            ThreadPool.UnsafeQueueUserWorkItem(static c => CancelQuietly(c), cancellation, preferLocal: false);
    }

    private static void CancelQuietly(CancellationTokenSource cancellation)
    {
        try
        {
            cancellation.Cancel();
        }
        catch (AggregateException)
        {
            // A handler's cancellation callback threw; that is for the handler to report, not the transport.
        }
    }

    public override string ToString() => $"call {_id} {Header.Interface}.{Header.Method} ({Header.Key}) from {Caller.Name}";
}
