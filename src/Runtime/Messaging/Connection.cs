using System.Buffers;
using System.Net.Sockets;
using System.Threading.Channels;

namespace TrainedModelsOrleans.Runtime.Messaging;

/// <summary>
/// One TCP connection after its handshake: a read loop that parses frames in place and hands them to
/// <see cref="OnFrame"/>, and a write loop that drains a queue of frames into one buffer and sends it when the queue
/// is empty (or the buffer full), so concurrent calls share syscalls. Closing is idempotent; once both loops have
/// stopped, <see cref="OnClosed"/> learns which queued requests never reached the socket.
/// </summary>
internal abstract class Connection
{
    private const int CoalesceBytes = 64 * 1024;

    private readonly Socket _socket;
    private readonly FrameReader _reader;
    private readonly Channel<OutboundFrame> _outbox = Channel.CreateUnbounded<OutboundFrame>(
        new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _writeLoop = Task.CompletedTask;
    private int _closed;
    private string _closeReason = "";

    protected Connection(Socket socket, FrameReader reader, PeerIdentity remote, string remoteAddress, MessagingLog log)
    {
        _socket = socket;
        _reader = reader;
        Remote = remote;
        RemoteAddress = remoteAddress;
        Log = log;
    }

    public PeerIdentity Remote { get; }

    /// <summary>The address dialled, or the remote end point of an accepted connection.</summary>
    public string RemoteAddress { get; }

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>Completes once the connection is closed and its calls have been failed or cancelled.</summary>
    public Task Stopped => _stopped.Task;

    protected string CloseReason => Volatile.Read(ref _closeReason);

    protected MessagingLog Log { get; }

    public void Start()
    {
        var readLoop = Task.Run(ReadLoopAsync);
        _writeLoop = Task.Run(WriteLoopAsync);
        _ = CompleteWhenStoppedAsync(readLoop, _writeLoop);
    }

    /// <summary>Queues a frame; false (and the frame released) if the connection is closing.</summary>
    public bool TrySend(OutboundFrame frame)
    {
        if (_outbox.Writer.TryWrite(frame)) return true;
        frame.Release();
        return false;
    }

    public void Close(string reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        Interlocked.CompareExchange(ref _closeReason, reason, "");
        _outbox.Writer.TryComplete();
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already reset by the peer.
        }
        _socket.Dispose();
        Log.Closed(RemoteAddress, CloseReason);
    }

    /// <summary>Stops taking frames, lets the write loop flush what is queued (for at most <paramref name="drain"/>), then closes.</summary>
    public async Task CloseGracefullyAsync(string reason, TimeSpan drain)
    {
        Interlocked.CompareExchange(ref _closeReason, reason, "");
        _outbox.Writer.TryComplete();
        try
        {
            await _writeLoop.WaitAsync(drain).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A peer that does not read its socket does not get to hold up shutdown.
        }
        Close(reason);
        await Stopped.ConfigureAwait(false);
    }

    /// <summary>Handles one frame on the read loop; the body is only valid during the call unless the frame is owned.</summary>
    protected abstract void OnFrame(WireProtocol.FrameType type, Frame frame);

    /// <summary>The connection is closed; <paramref name="unsent"/> holds the ids of requests that never reached the socket.</summary>
    protected abstract void OnClosed(HashSet<long>? unsent);

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                var frame = await _reader.ReadAsync(CancellationToken.None).ConfigureAwait(false);
                if (frame.IsEnd)
                {
                    Close("the peer closed the connection");
                    return;
                }
                var type = (WireProtocol.FrameType)frame.Body.Span[0];
                OnFrame(type, frame);
            }
        }
        catch (WireProtocolException e)
        {
            if (!IsClosed) Log.ProtocolViolation(RemoteAddress, e.Message);
            Close("protocol violation: " + e.Message);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException or OperationCanceledException)
        {
            Close(e is SocketException s ? $"socket error {s.SocketErrorCode}" : e.Message);
        }
        catch (Exception e)
        {
            Log.Unexpected(RemoteAddress, e);
            Close("unexpected error: " + e.Message);
        }
    }

    private async Task WriteLoopAsync()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(CoalesceBytes);
        var reader = _outbox.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                var used = 0;
                while (reader.TryRead(out var frame))
                {
                    try
                    {
                        if (used + frame.HeadLength > buffer.Length)
                        {
                            await SendAsync(buffer.AsMemory(0, used)).ConfigureAwait(false);
                            used = 0;
                        }
                        if (frame.HeadLength > buffer.Length)
                        {
                            await SendAsync(frame.Head.AsMemory(0, frame.HeadLength)).ConfigureAwait(false);
                        }
                        else
                        {
                            frame.Head.AsSpan(0, frame.HeadLength).CopyTo(buffer.AsSpan(used));
                            used += frame.HeadLength;
                        }
                    }
                    finally
                    {
                        frame.Release();
                    }
                    var tail = frame.Tail;
                    if (tail.IsEmpty) continue;
                    if (used + tail.Length <= buffer.Length)
                    {
                        tail.Span.CopyTo(buffer.AsSpan(used));
                        used += tail.Length;
                        continue;
                    }
                    if (used > 0) await SendAsync(buffer.AsMemory(0, used)).ConfigureAwait(false);
                    used = 0;
                    await SendAsync(tail).ConfigureAwait(false);
                }
                if (used > 0) await SendAsync(buffer.AsMemory(0, used)).ConfigureAwait(false);
            }
            Close("closed by this side");  // the outbox was completed by a graceful close
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            Close(e is SocketException s ? $"socket error {s.SocketErrorCode}" : e.Message);
        }
        catch (Exception e)
        {
            Log.Unexpected(RemoteAddress, e);
            Close("unexpected error: " + e.Message);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async ValueTask SendAsync(ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            var sent = await _socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    private async Task CompleteWhenStoppedAsync(Task readLoop, Task writeLoop)
    {
        await writeLoop.ConfigureAwait(false);
        // The outbox is complete: whatever is still in it never reached the socket.
        HashSet<long>? unsent = null;
        while (_outbox.Reader.TryRead(out var frame))
        {
            frame.Release();
            if (frame.RequestId != 0) (unsent ??= []).Add(frame.RequestId);
        }
        try
        {
            OnClosed(unsent);
        }
        catch (Exception e)
        {
            Log.Unexpected(RemoteAddress, e);
        }
        await readLoop.ConfigureAwait(false);
        _stopped.TrySetResult();
    }
}
