using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace TrainedModelsOrleans.TestSupport;

/// <summary>
/// A TCP relay in front of the test PostgreSQL on loopback: a process connects through it, and <see cref="Cut"/>
/// drops every connection and refuses new ones — the database is still up, but this process is cut off from it.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _sockets = new();
    private readonly Task _accepting;
    private volatile bool _cut;

    private TcpRelay(IPEndPoint target, string connectionString)
    {
        _target = target;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Host = "127.0.0.1",
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port,
            Timeout = 2,
            CommandTimeout = 2,
            Pooling = true,
        };
        ConnectionString = builder.ConnectionString;
        _accepting = AcceptAsync();
    }

    /// <summary>The same database, reached through the relay.</summary>
    public string ConnectionString { get; }

    public static Task<TcpRelay> StartAsync(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var host = builder.Host is null or "localhost" ? IPAddress.Loopback : IPAddress.Parse(builder.Host);
        return Task.FromResult(new TcpRelay(new IPEndPoint(host, builder.Port), connectionString));
    }

    public void Cut()
    {
        _cut = true;
        lock (_sockets)
        {
            foreach (var socket in _sockets) socket.Close(0);
            _sockets.Clear();
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptSocketAsync(_stop.Token);
                if (_cut)
                {
                    client.Close(0);
                    continue;
                }
                var server = new Socket(SocketType.Stream, ProtocolType.Tcp);
                try { await server.ConnectAsync(_target, _stop.Token); }
                catch { client.Close(0); server.Dispose(); continue; }
                lock (_sockets) { _sockets.Add(client); _sockets.Add(server); }
                _ = PumpAsync(client, server);
                _ = PumpAsync(server, client);
            }
        }
        catch (OperationCanceledException) { }
        catch (ObjectDisposedException) { }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0) break;
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }
        }
        catch { /* either side closed or the relay was cut */ }
        finally
        {
            try { to.Shutdown(SocketShutdown.Both); } catch { }
            to.Close(0);
            from.Close(0);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
        try { await _accepting; } catch { }
        _stop.Dispose();
    }
}
