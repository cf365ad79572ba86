using System.Collections.Concurrent;
using System.Net.Sockets;

namespace TrainedModelsOrleans.Runtime.Messaging;

/// <summary>A connection a peer dialled: it reads requests and cancels, runs them through the listener's handler and writes responses.</summary>
internal sealed class InboundConnection(Socket socket, FrameReader reader, PeerIdentity remote, string remoteAddress,
    MessageListener listener, MessagingLog log) : Connection(socket, reader, remote, remoteAddress, log)
{
    private readonly ConcurrentDictionary<long, InboundCall> _calls = new();
    private readonly Utf8StringCache _names = new();

    public void SendResponse(long id, CallStatus status, ReadOnlySpan<byte> payload)
    {
        _calls.TryRemove(id, out _);
        if (IsClosed) return;
        if (payload.Length > WireProtocol.MaxFrameBytes - WireProtocol.ResponseFixedBytes)
        {
            Log.ReplyTooLarge(RemoteAddress, payload.Length);
            status = CallStatus.Error;
            payload = default;
        }
        TrySend(WireProtocol.Response(id, status, payload));
    }

    protected override void OnFrame(WireProtocol.FrameType type, Frame frame)
    {
        switch (type)
        {
            case WireProtocol.FrameType.Request:
                OnRequest(frame);
                break;
            case WireProtocol.FrameType.Cancel:
                var parser = new FrameParser(frame.Body.Span);
                parser.Byte();
                var id = parser.Int64();
                parser.End();
                if (_calls.TryGetValue(id, out var call)) call.RequestCancel();
                break;
            default:
                throw new WireProtocolException($"a frame of type {type} on a connection that only expects requests");
        }
    }

    private void OnRequest(Frame frame)
    {
        var parser = new FrameParser(frame.Body.Span);
        parser.Byte();
        var id = parser.Int64();
        var targetGeneration = parser.Int64();
        var timeoutTicks = parser.Int64();
        var @interface = parser.String(_names) ?? throw new WireProtocolException("a request without an interface");
        var key = parser.String(null) ?? throw new WireProtocolException("a request without a key");
        var method = parser.String(_names) ?? throw new WireProtocolException("a request without a method");
        var onSilo = parser.String(_names);
        var arguments = frame.Body[parser.Position..];
        if (!frame.Owned) arguments = arguments.IsEmpty ? default : arguments.ToArray();

        var timeout = timeoutTicks < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromTicks(timeoutTicks);
        var call = new InboundCall(this, id, new CallHeader(@interface, key, method, targetGeneration, timeout, onSilo), arguments);
        if (listener.IsStopping)
        {
            call.Reply(CallStatus.Unavailable, default);
            return;
        }
        if (targetGeneration != 0 && targetGeneration != listener.Local.Generation)
        {
            call.Reply(CallStatus.WrongSilo, default);
            return;
        }
        if (!_calls.TryAdd(id, call)) throw new WireProtocolException($"call id {id} is already in use");
        try
        {
            listener.Handler.Handle(call);
        }
        catch (Exception e)
        {
            Log.HandlerFailed(@interface, method, e);
            call.Reply(CallStatus.Error, default);
        }
    }

    protected override void OnClosed(HashSet<long>? unsent)
    {
        foreach (var (_, call) in _calls) call.RequestCancel();
        _calls.Clear();
        listener.Remove(this);
    }
}
