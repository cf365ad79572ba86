using System.Collections.Concurrent;
using System.Net.Sockets;

namespace TrainedModelsOrleans.Runtime.Messaging;

/// <summary>A connection this side dialled: it sends requests and cancels and reads responses, matched by call id.</summary>
internal sealed class OutboundConnection(Socket socket, FrameReader reader, PeerIdentity remote, string address, MessagingLog log)
    : Connection(socket, reader, remote, address, log)
{
    private readonly ConcurrentDictionary<long, PendingCall> _pending = new();
    private long _nextId;

    public int PendingCount => _pending.Count;

    /// <summary>Sends a call; <paramref name="header"/>'s timeout is the time left, already checked to be positive or infinite.</summary>
    public Task<CallResponse> CallAsync(in CallHeader header, ReadOnlyMemory<byte> arguments, CancellationToken ct)
    {
        if (header.TargetGeneration != 0 && header.TargetGeneration != Remote.Generation)
            return Task.FromResult(new CallResponse(CallStatus.WrongSilo, default)); // the peer would refuse it too

        var id = Interlocked.Increment(ref _nextId);
        var frame = WireProtocol.Request(id, header, header.Timeout, arguments);
        if (IsClosed)
        {
            frame.Release();
            return Task.FromException<CallResponse>(Lost(wasSent: false));
        }
        var call = new PendingCall(this, id, header);
        _pending[id] = call;
        call.Arm(header.Timeout, ct);
        if (!TrySend(frame)) call.Fail(Lost(wasSent: false));
        return call.Task;
    }

    public void Unregister(long id) => _pending.TryRemove(id, out _);

    public void ExpireDueCalls(long now)
    {
        foreach (var (_, call) in _pending) call.ExpireIfDue(now);
    }

    public void SendCancel(long id) => TrySend(WireProtocol.Cancel(id));

    protected override void OnFrame(WireProtocol.FrameType type, Frame frame)
    {
        if (type != WireProtocol.FrameType.Response) throw new WireProtocolException($"a frame of type {type} on a connection that only expects responses");
        var parser = new FrameParser(frame.Body.Span);
        parser.Byte();
        var id = parser.Int64();
        var status = parser.Byte();
        if (status > (byte)CallStatus.Unavailable) throw new WireProtocolException($"a response with unknown status {status}");
        if (!_pending.TryRemove(id, out var call)) return; // it timed out or was cancelled; the response is late

        var payload = frame.Body[parser.Position..];
        if (!frame.Owned) payload = payload.IsEmpty ? default : payload.ToArray();
        call.Complete(new CallResponse((CallStatus)status, payload));
    }

    protected override void OnClosed(HashSet<long>? unsent)
    {
        foreach (var (id, call) in _pending) call.Fail(Lost(wasSent: unsent?.Contains(id) != true));
    }

    private PeerUnavailableException Lost(bool wasSent) => new(RemoteAddress, wasSent,
        $"The connection to {RemoteAddress} ({Remote.Name}, generation {Remote.Generation}) was lost before the response" +
        (wasSent ? "; the call may have run" : "; the call was not sent") + $" ({CloseReasonOrOpen}).");

    private string CloseReasonOrOpen => CloseReason is { Length: > 0 } reason ? reason : "closing";
}
