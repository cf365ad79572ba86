using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace TrainedModelsOrleans.Runtime.Messaging;

/// <summary>
/// The calling side: one multiplexed connection per remote address, dialled on first use and dialled again after it
/// drops (so a restarted peer is reached at its new generation).
/// </summary>
public sealed class PeerConnections : IAsyncDisposable
{
    private static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How often pending calls are checked against their deadlines: a call times out at most this late. One sweep
    /// instead of a timer per call, which would cost more than the rest of a small call's bookkeeping.
    /// </summary>
    public static readonly TimeSpan DeadlineResolution = TimeSpan.FromMilliseconds(10);

    /// <summary>System.Threading.Timer's longest due time; a deadline beyond it is treated as none.</summary>
    private static readonly TimeSpan LongestDeadline = TimeSpan.FromMilliseconds(uint.MaxValue - 2);

    private readonly PeerIdentity _local;
    private readonly MessagingLog _log;
    private readonly TimeSpan _connectTimeout;
    private readonly ConcurrentDictionary<string, PeerLink> _links = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PeerIdentity> _identities = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _disposing = new();
    private readonly Timer _deadlines;
    private int _sweeping;

    public PeerConnections(PeerIdentity local, ILogger logger, TimeSpan? connectTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(local);
        _local = local;
        _log = new MessagingLog(logger);
        _connectTimeout = connectTimeout ?? DefaultConnectTimeout;
        _deadlines = new Timer(static state => ((PeerConnections)state!).ExpireDueCalls(), this, DeadlineResolution, DeadlineResolution);
    }

    /// <summary>
    /// Sends one call and awaits its response.
    /// <list type="bullet">
    /// <item>No response within <c>header.Timeout</c>: <see cref="TimeoutException"/>, and the peer is sent a cancel.</item>
    /// <item><paramref name="ct"/> fires: <see cref="OperationCanceledException"/>, and the peer is sent a cancel.</item>
    /// <item>Cannot connect, or the connection drops before the response: <see cref="PeerUnavailableException"/>, at once;
    /// WasSent is false only when the call certainly never reached the socket.</item>
    /// </list>
    /// Arguments above 16 KiB are sent from <paramref name="arguments"/> itself, not copied: leave the buffer unchanged,
    /// even after a timeout (the frame may still be on its way).
    /// </summary>
    public Task<CallResponse> CallAsync(string address, CallHeader header, ReadOnlyMemory<byte> arguments, CancellationToken ct = default)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(address);
            if (header.Interface is null || header.Key is null || header.Method is null)
                throw new ArgumentException("A call header needs an interface, a key and a method.", nameof(header));
            ObjectDisposedException.ThrowIf(_disposing.IsCancellationRequested, this);
            if (ct.IsCancellationRequested) return Task.FromCanceled<CallResponse>(ct);
            if (header.Timeout > LongestDeadline) header = header with { Timeout = Timeout.InfiniteTimeSpan };
            if (header.Timeout <= TimeSpan.Zero && header.Timeout != Timeout.InfiniteTimeSpan) throw Expired(address, header);

            if (_links.TryGetValue(address, out var link) && link.TryGetOpen(out var connection))
            {
                var call = connection.CallAsync(header, arguments, ct);
                // Closed between the lookup and the send: nothing went out, so dial again rather than fail.
                if (!call.IsFaulted || call.Exception.InnerException is not PeerUnavailableException { WasSent: false }) return call;
            }
            return ConnectAndCallAsync(address, header, arguments, ct);
        }
        catch (Exception e)
        {
            return Task.FromException<CallResponse>(e);
        }
    }

    /// <summary>The identity the peer at <paramref name="address"/> announced when last connected; null if never.</summary>
    public PeerIdentity? PeerAt(string address) => _identities.GetValueOrDefault(address);

    /// <summary>Drops the connection to <paramref name="address"/> (say, its silo was declared dead): its pending calls fail now.</summary>
    public void Forget(string address)
    {
        if (_links.TryRemove(address, out var link)) link.Abandon("forgotten by this side");
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposing.IsCancellationRequested) return;
        _disposing.Cancel();
        await _deadlines.DisposeAsync().ConfigureAwait(false);
        var stopping = new List<Task>();
        foreach (var address in _links.Keys)
        {
            if (_links.TryRemove(address, out var link)) stopping.Add(link.Abandon("this side is shutting down"));
        }
        await Task.WhenAll(stopping).ConfigureAwait(false);
    }

    private void ExpireDueCalls()
    {
        if (Interlocked.Exchange(ref _sweeping, 1) != 0) return; // the previous sweep is still running
        try
        {
            var now = Stopwatch.GetTimestamp();
            foreach (var (_, link) in _links)
            {
                if (link.TryGetOpen(out var connection)) connection.ExpireDueCalls(now);
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    private async Task<CallResponse> ConnectAndCallAsync(string address, CallHeader header, ReadOnlyMemory<byte> arguments, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        for (var attempt = 0; ; attempt++)
        {
            var link = _links.GetOrAdd(address, static (a, self) => new PeerLink(a, self), this);
            var connecting = link.Connection;
            if (!connecting.IsCompleted)
            {
                try
                {
                    await (header.Timeout == Timeout.InfiniteTimeSpan ? connecting.WaitAsync(ct) : connecting.WaitAsync(header.Timeout, ct))
                        .ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    throw new TimeoutException($"Connecting to {address} took longer than the call's {header.Timeout} deadline; the call was not sent.");
                }
            }
            var connection = await connecting.ConfigureAwait(false);
            if (connection.IsClosed)
            {
                // Dropped between dialling and now (or a stale link): dial once more.
                _links.TryRemove(KeyValuePair.Create(address, link));
                if (attempt == 0) continue;
                throw new PeerUnavailableException(address, false, $"The connection to {address} closed right after it was made; the call was not sent.");
            }
            if (header.Timeout != Timeout.InfiniteTimeSpan)
            {
                var remaining = header.Timeout - Stopwatch.GetElapsedTime(started);
                if (remaining <= TimeSpan.Zero) throw Expired(address, header);
                header = header with { Timeout = remaining };
            }
            return await connection.CallAsync(header, arguments, ct).ConfigureAwait(false);
        }
    }

    private async Task<OutboundConnection> ConnectAsync(string address, PeerLink link)
    {
        Socket? socket = null;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_disposing.Token);
            timeout.CancelAfter(_connectTimeout);
            var endPoint = await ResolveAsync(address, timeout.Token).ConfigureAwait(false);
            socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(endPoint, timeout.Token).ConfigureAwait(false);
            var (remote, reader) = await Handshake.RunAsync(socket, _local, timeout.Token).ConfigureAwait(false);

            var connection = new OutboundConnection(socket, reader, remote, address, _log);
            _identities[address] = remote;
            connection.Start();
            _ = connection.Stopped.ContinueWith(static (_, state) =>
            {
                var (self, address, link) = ((PeerConnections, string, PeerLink))state!;
                self._links.TryRemove(KeyValuePair.Create(address, link));
            }, (this, address, link), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            _log.Connected(address, remote.Name, remote.Generation);
            if (_disposing.IsCancellationRequested) connection.Close("this side is shutting down");
            return connection;
        }
        catch (Exception e)
        {
            socket?.Dispose();
            _links.TryRemove(KeyValuePair.Create(address, link));
            if (e is ArgumentException) throw;
            var reason = e switch
            {
                OperationCanceledException when _disposing.IsCancellationRequested => "this side is shutting down",
                OperationCanceledException => $"no connection and hello within {_connectTimeout}",
                SocketException s => $"{s.SocketErrorCode}",
                WireProtocolException p => "bad hello: " + p.Message,
                _ => e.Message,
            };
            _log.ConnectFailed(address, reason);
            throw new PeerUnavailableException(address, wasSent: false, $"Cannot connect to {address} ({reason}); the call was not sent.", e);
        }
    }

    private static async ValueTask<IPEndPoint> ResolveAsync(string address, CancellationToken ct)
    {
        if (IPEndPoint.TryParse(address, out var endPoint) && endPoint.Port != 0) return endPoint;
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), out var port) || port is <= 0 or > 65535)
            throw new ArgumentException($"'{address}' is not a host:port address.", nameof(address));
        var addresses = await Dns.GetHostAddressesAsync(address[..colon], ct).ConfigureAwait(false);
        var ip = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
            ?? throw new SocketException((int)SocketError.HostNotFound);
        return new IPEndPoint(ip, port);
    }

    private static TimeoutException Expired(string address, in CallHeader header) =>
        new($"Call {header.Interface}.{header.Method} ({header.Key}) to {address} has no time left; it was not sent.");

    /// <summary>The connection (or the dialling of it) for one address; dialled once, on first use.</summary>
    private sealed class PeerLink(string address, PeerConnections owner)
    {
        private readonly Lock _gate = new();
        private Task<OutboundConnection>? _started;

        public Task<OutboundConnection> Connection
        {
            get
            {
                if (Volatile.Read(ref _started) is { } started) return started;
                lock (_gate) return _started ??= owner.ConnectAsync(address, this);
            }
        }

        public bool TryGetOpen(out OutboundConnection connection)
        {
            if (Volatile.Read(ref _started) is { IsCompletedSuccessfully: true } started && !started.Result.IsClosed)
            {
                connection = started.Result;
                return true;
            }
            connection = null!;
            return false;
        }

        /// <summary>Closes the connection, now or when the dialling finishes.</summary>
        public Task Abandon(string reason)
        {
            Task<OutboundConnection>? started;
            lock (_gate) started = _started;
            if (started is null) return Task.CompletedTask;
            return started.ContinueWith(static (task, reason) =>
            {
                if (!task.IsCompletedSuccessfully) return Task.CompletedTask;
                task.Result.Close((string)reason!);
                return task.Result.Stopped;
            }, reason, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).Unwrap();
        }
    }
}
