using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace TrainedModelsOrleans.Runtime.Messaging;

/// <summary>
/// Accepts connections from peers and clients and hands their calls to one <see cref="IInboundCallHandler"/>.
/// A connection must say hello within <see cref="HandshakeTimeout"/>; one that breaks the protocol is closed alone.
/// </summary>
public sealed class MessageListener : IAsyncDisposable
{
    /// <summary>How long an accepted connection may take to send its hello.</summary>
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long disposal waits for replies already queued to be written before it closes connections.</summary>
    public static readonly TimeSpan DrainTimeout = TimeSpan.FromMilliseconds(250);

    private readonly Socket _socket;
    private readonly MessagingLog _log;
    private readonly ConcurrentDictionary<InboundConnection, byte> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _acceptLoop;
    private int _disposed;

    private MessageListener(Socket socket, PeerIdentity local, IInboundCallHandler handler, ILogger logger)
    {
        _socket = socket;
        _log = new MessagingLog(logger);
        Local = local;
        Handler = handler;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Binds <paramref name="endPoint"/> (port 0 picks a free port) and starts accepting.</summary>
    public static MessageListener Start(IPEndPoint endPoint, PeerIdentity local, IInboundCallHandler handler, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(handler);
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // No ReuseAddress: on Linux it sets SO_REUSEPORT too, and two live listeners would share the port. .NET
            // already sets plain SO_REUSEADDR, so a restarted silo can rebind over its old connections in TIME_WAIT.
            socket.Bind(endPoint);
            socket.Listen(512);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new MessageListener(socket, local, handler, logger);
    }

    public IPEndPoint LocalEndPoint { get; }

    public PeerIdentity Local { get; }

    /// <summary>Connections past their handshake and not yet closed.</summary>
    public int ConnectionCount => _connections.Count;

    internal IInboundCallHandler Handler { get; }

    internal bool IsStopping => _stopping.IsCancellationRequested;

    /// <summary>
    /// Fencing or shutdown: stops accepting, answers calls that arrive from now on with <see cref="CallStatus.Unavailable"/>
    /// (they were not run), flushes replies already queued (for at most <see cref="DrainTimeout"/>) and closes every
    /// connection. Calls handed to the handler and not yet answered are not answered Unavailable, since they may have
    /// run: their <see cref="InboundCall.Cancelled"/> fires, and their callers get a <see cref="PeerUnavailableException"/>
    /// with WasSent = true. Replies made after this are dropped.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stopping.Cancel();
        _socket.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        await Task.WhenAll(_connections.Keys.Select(c => c.CloseGracefullyAsync("the listener stopped", DrainTimeout))).ConfigureAwait(false);
    }

    internal void Remove(InboundConnection connection) => _connections.TryRemove(connection, out _);

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await _socket.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (_stopping.IsCancellationRequested && e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            catch (SocketException e)
            {
                // Out of descriptors or a connection reset while queued: keep listening, but do not spin.
                _log.AcceptFailed(LocalEndPoint.ToString(), e);
                await Task.Delay(TimeSpan.FromMilliseconds(100)).ConfigureAwait(false);
                continue;
            }
            _ = OpenAsync(accepted);
        }
    }

    private async Task OpenAsync(Socket socket)
    {
        var remoteAddress = socket.RemoteEndPoint?.ToString() ?? "unknown";
        try
        {
            socket.NoDelay = true;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(HandshakeTimeout);
            var (remote, reader) = await Handshake.RunAsync(socket, Local, timeout.Token).ConfigureAwait(false);
            var connection = new InboundConnection(socket, reader, remote, remoteAddress, this, _log);
            _connections.TryAdd(connection, 0);
            connection.Start();
            _log.Accepted(remoteAddress, remote.Name, remote.Generation, remote.IsClient);
            // Disposal may have taken its snapshot of connections just before this one was added.
            if (IsStopping) await connection.CloseGracefullyAsync("the listener stopped", DrainTimeout).ConfigureAwait(false);
        }
        catch (WireProtocolException e)
        {
            _log.ProtocolViolation(remoteAddress, e.Message);
            socket.Dispose();
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            _log.Closed(remoteAddress, "before its hello: " + e.Message);
            socket.Dispose();
        }
        catch (Exception e)
        {
            _log.Unexpected(remoteAddress, e);
            socket.Dispose();
        }
    }
}
