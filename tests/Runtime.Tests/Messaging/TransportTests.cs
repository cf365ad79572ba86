using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using TrainedModelsOrleans.Runtime.Messaging;
using TrainedModelsOrleans.TestSupport;
using Xunit;
using Xunit.Abstractions;
using static TrainedModelsOrleans.Runtime.Tests.Messaging.TransportTestKit;

namespace TrainedModelsOrleans.Runtime.Tests.Messaging;

[Collection(nameof(TransportTests))]
public sealed class TransportTests(ITestOutputHelper output)
{
    private readonly TestOutputLogger _logger = new(output);

    [Fact]
    public async Task Concurrent_calls_are_paired_with_their_responses()
    {
        var handled = 0;
        await using var listener = Listen(call =>
        {
            // Half the replies come from another thread, later.
            if (Interlocked.Increment(ref handled) % 2 == 0) Echo(call);
            else ThreadPool.QueueUserWorkItem(_ => Echo(call));
        }, _logger);
        await using var peers = new PeerConnections(Caller, _logger);
        var address = AddressOf(listener);

        const int callers = 64, callsEach = 500;
        var mismatches = 0;
        await Task.WhenAll(Enumerable.Range(0, callers).Select(caller => Task.Run(async () =>
        {
            var sent = new byte[8];
            for (var i = 0; i < callsEach; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(sent, caller);
                BinaryPrimitives.WriteInt32LittleEndian(sent.AsSpan(4), i);
                var response = await peers.CallAsync(address, Header(), sent);
                if (response.Status != CallStatus.Ok || !response.Payload.Span.SequenceEqual(sent)) Interlocked.Increment(ref mismatches);
            }
        }))).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, mismatches);
        Assert.Equal(callers * callsEach, handled);
        Assert.Equal(1, listener.ConnectionCount);
    }

    [Fact]
    public async Task Header_and_caller_identity_travel_with_the_call()
    {
        var received = new TaskCompletionSource<InboundCall>();
        await using var listener = Listen(call => { received.TrySetResult(call); call.Reply(CallStatus.Ok, default); }, _logger, generation: 7);
        await using var peers = new PeerConnections(new PeerIdentity("client-9", 0, IsClient: true), _logger);

        var header = new CallHeader("Tests.IThing", "ключ/42", "Do(Int32)", 7, TimeSpan.FromSeconds(3), OnSilo: "silo-b");
        var response = await peers.CallAsync(AddressOf(listener), header, new byte[] { 1, 2, 3 });

        var call = await received.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(CallStatus.Ok, response.Status);
        Assert.True(response.Payload.IsEmpty);
        Assert.Equal(new PeerIdentity("client-9", 0, true), call.Caller);
        Assert.Equal(header with { Timeout = call.Header.Timeout }, call.Header);
        Assert.InRange(call.Header.Timeout, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3));
        Assert.Equal(new byte[] { 1, 2, 3 }, call.Arguments.ToArray());
        Assert.Equal(new PeerIdentity("silo-b", 7, false), peers.PeerAt(AddressOf(listener)));
    }

    [Fact]
    public async Task Error_reply_reaches_the_caller()
    {
        await using var listener = Listen(call => call.Reply(CallStatus.Error, "boom"u8), _logger);
        await using var peers = new PeerConnections(Caller, _logger);

        var response = await peers.CallAsync(AddressOf(listener), Header(), default);

        Assert.Equal(CallStatus.Error, response.Status);
        Assert.Equal("boom", Encoding.UTF8.GetString(response.Payload.Span));
    }

    [Fact]
    public async Task First_reply_wins()
    {
        await using var listener = Listen(call =>
        {
            call.Reply(CallStatus.Ok, "first"u8);
            call.Reply(CallStatus.Error, "second"u8);
        }, _logger);
        await using var peers = new PeerConnections(Caller, _logger);

        var first = await peers.CallAsync(AddressOf(listener), Header(), default);
        var next = await peers.CallAsync(AddressOf(listener), Header(), default);

        Assert.Equal((CallStatus.Ok, "first"), (first.Status, Encoding.UTF8.GetString(first.Payload.Span)));
        Assert.Equal((CallStatus.Ok, "first"), (next.Status, Encoding.UTF8.GetString(next.Payload.Span)));
    }

    [Fact]
    public async Task Handler_that_throws_gets_an_error_reply_and_the_connection_stays()
    {
        var calls = 0;
        await using var listener = Listen(call =>
        {
            if (Interlocked.Increment(ref calls) == 1) throw new InvalidOperationException("handler bug");
            Echo(call);
        }, _logger);
        await using var peers = new PeerConnections(Caller, _logger);

        var failed = await peers.CallAsync(AddressOf(listener), Header(), new byte[] { 1 });
        var ok = await peers.CallAsync(AddressOf(listener), Header(), new byte[] { 2 });

        Assert.Equal(CallStatus.Error, failed.Status);
        Assert.True(failed.Payload.IsEmpty);
        Assert.Equal(new byte[] { 2 }, ok.Payload.ToArray());
    }

    [Fact]
    public async Task Deadline_throws_timeout_on_the_caller_and_cancels_the_callee()
    {
        var calleeCancelled = new TaskCompletionSource();
        await using var listener = Listen(call =>
        {
            if (call.Header.Method == "Warm") Echo(call);
            else call.Cancelled.Register(() => calleeCancelled.TrySetResult());
        }, _logger);
        await using var peers = new PeerConnections(Caller, _logger);
        await peers.CallAsync(AddressOf(listener), Header(method: "Warm"), default); // connect first, so the deadline measures the call

        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAsync<TimeoutException>(() => peers.CallAsync(AddressOf(listener), Header(TimeSpan.FromMilliseconds(200)), default));
        var elapsed = clock.Elapsed;

        Assert.InRange(elapsed, TimeSpan.FromMilliseconds(180), TimeSpan.FromSeconds(2));
        await calleeCancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Caller_cancellation_cancels_the_callee()
    {
        var received = new TaskCompletionSource();
        var calleeCancelled = new TaskCompletionSource();
        await using var listener = Listen(call =>
        {
            call.Cancelled.Register(() => calleeCancelled.TrySetResult());
            received.TrySetResult();
        }, _logger);
        await using var peers = new PeerConnections(Caller, _logger);
        using var cancellation = new CancellationTokenSource();

        var pending = peers.CallAsync(AddressOf(listener), Header(), default, cancellation.Token);
        await received.Task.WaitAsync(TimeSpan.FromSeconds(5));
        cancellation.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(TimeSpan.FromSeconds(5)));
        await calleeCancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Pending_calls_fail_fast_when_the_peer_goes_away()
    {
        var received = 0;
        var calleeCancelled = 0;
        var listener = Listen(call =>
        {
            call.Cancelled.Register(() => Interlocked.Increment(ref calleeCancelled));
            Interlocked.Increment(ref received);
        }, _logger);
        await using var peers = new PeerConnections(Caller, _logger);
        var pending = Enumerable.Range(0, 10).Select(_ => peers.CallAsync(AddressOf(listener), Header(TimeSpan.FromSeconds(30)), default)).ToList();
        await EventuallyAsync(() => Volatile.Read(ref received) == 10, "the peer received every call");

        var clock = Stopwatch.StartNew();
        await listener.DisposeAsync();
        foreach (var call in pending)
        {
            var error = await Assert.ThrowsAsync<PeerUnavailableException>(() => call.WaitAsync(TimeSpan.FromSeconds(5)));
            Assert.True(error.WasSent);
            Assert.Contains(AddressOf(listener), error.Message);
        }
        var elapsed = clock.Elapsed;

        Assert.True(elapsed < TimeSpan.FromSeconds(1), $"pending calls failed after {elapsed}");
        await EventuallyAsync(() => Volatile.Read(ref calleeCancelled) == 10, "the callee saw every call cancelled");
    }

    [Fact]
    public async Task Call_to_a_closed_port_fails_as_not_sent()
    {
        await using var peers = new PeerConnections(Caller, _logger);
        var address = $"127.0.0.1:{FreePort()}";

        var clock = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<PeerUnavailableException>(() => peers.CallAsync(address, Header(), default));

        Assert.False(error.WasSent);
        Assert.Equal(address, error.Address);
        Assert.Contains(address, error.Message);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2));
        Assert.Null(peers.PeerAt(address));
    }

    [Fact]
    public async Task Forget_fails_pending_calls_and_the_next_call_reconnects()
    {
        var received = new TaskCompletionSource();
        var calls = 0;
        await using var listener = Listen(call =>
        {
            if (Interlocked.Increment(ref calls) == 1) received.TrySetResult(); // the first call never gets a reply
            else Echo(call);
        }, _logger);
        await using var peers = new PeerConnections(Caller, _logger);
        var address = AddressOf(listener);

        var pending = peers.CallAsync(address, Header(), default);
        await received.Task.WaitAsync(TimeSpan.FromSeconds(5));
        peers.Forget(address);

        var error = await Assert.ThrowsAsync<PeerUnavailableException>(() => pending.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(error.WasSent);
        var next = await peers.CallAsync(address, Header(), new byte[] { 5 });
        Assert.Equal(new byte[] { 5 }, next.Payload.ToArray());
    }

    [Fact]
    public async Task Reconnects_to_a_peer_restarted_on_the_same_port_with_a_new_generation()
    {
        var port = FreePort();
        var address = $"127.0.0.1:{port}";
        await using var peers = new PeerConnections(Caller, _logger);
        await using (Listen(Echo, _logger, generation: 1, port: port))
        {
            Assert.Equal(CallStatus.Ok, (await peers.CallAsync(address, Header(), default)).Status);
            Assert.Equal(1, peers.PeerAt(address)?.Generation);
        }

        await using var restarted = Listen(Echo, _logger, generation: 2, port: port);
        CallResponse response = default;
        for (var attempt = 0; attempt < 20; attempt++)
        {
            try
            {
                response = await peers.CallAsync(address, Header(), new byte[] { 9 });
                break;
            }
            catch (PeerUnavailableException)
            {
                // The old connection's end may not have been noticed yet; the next call dials again.
                await Task.Delay(50);
            }
        }

        Assert.Equal(CallStatus.Ok, response.Status);
        Assert.Equal(2, peers.PeerAt(address)?.Generation);
        // A call meant for the old generation is refused unrun.
        Assert.Equal(CallStatus.WrongSilo, (await peers.CallAsync(address, Header(targetGeneration: 1), default)).Status);
        Assert.Equal(CallStatus.Ok, (await peers.CallAsync(address, Header(targetGeneration: 2), default)).Status);
    }

    [Fact]
    public async Task Wrong_generation_is_refused_without_running_the_call()
    {
        var handled = 0;
        await using var listener = Listen(call => { Interlocked.Increment(ref handled); Echo(call); }, _logger, generation: 5);
        await using var peers = new PeerConnections(Caller, _logger);

        var response = await peers.CallAsync(AddressOf(listener), Header(targetGeneration: 4), default);

        Assert.Equal(CallStatus.WrongSilo, response.Status);
        Assert.Equal(0, handled);
    }

    [Fact]
    public async Task Wrong_generation_is_refused_by_the_listener_too()
    {
        var handled = 0;
        await using var listener = Listen(call => { Interlocked.Increment(ref handled); Echo(call); }, _logger, generation: 5);
        using var raw = await RawConnectAsync(listener);

        await raw.SendAsync(Request(callId: 1, targetGeneration: 4));
        var (callId, status) = await ReadResponseAsync(raw);

        Assert.Equal((1L, CallStatus.WrongSilo), (callId, status));
        Assert.Equal(0, handled);
    }

    [Fact]
    public async Task Large_arguments_and_results_travel_whole()
    {
        await using var listener = Listen(Echo, _logger);
        await using var peers = new PeerConnections(Caller, _logger);
        var big = new byte[5 * 1024 * 1024 + 17];
        Random.Shared.NextBytes(big);

        var calls = Enumerable.Range(0, 3).Select(_ => peers.CallAsync(AddressOf(listener), Header(), big)).ToList();
        var small = await peers.CallAsync(AddressOf(listener), Header(), new byte[] { 1 });

        foreach (var call in calls) Assert.True((await call).Payload.Span.SequenceEqual(big));
        Assert.Equal(new byte[] { 1 }, small.Payload.ToArray());
    }

    [Fact]
    public async Task Garbage_closes_that_connection_and_the_listener_keeps_serving()
    {
        await using var listener = Listen(Echo, _logger);
        await using var peers = new PeerConnections(Caller, _logger);
        var address = AddressOf(listener);
        Assert.Equal(CallStatus.Ok, (await peers.CallAsync(address, Header(), default)).Status);

        // Junk instead of a hello.
        using (var junk = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await junk.ConnectAsync(listener.LocalEndPoint);
            var bytes = new byte[256];
            new Random(42).NextBytes(bytes);
            await junk.SendAsync(bytes);
            await AssertClosedByPeerAsync(junk);
        }

        // A proper hello, then an oversized frame.
        using (var oversized = await RawConnectAsync(listener))
        {
            await EventuallyAsync(() => listener.ConnectionCount == 2, "the raw connection was accepted");
            var header = new byte[5];
            BinaryPrimitives.WriteInt32LittleEndian(header, WireProtocol.MaxFrameBytes + 1);
            header[4] = 2;
            await oversized.SendAsync(header);
            await AssertClosedByPeerAsync(oversized);
        }

        // A frame of an unknown type.
        using (var unknown = await RawConnectAsync(listener))
        {
            await unknown.SendAsync(new byte[] { 1, 0, 0, 0, 99 });
            await AssertClosedByPeerAsync(unknown);
        }

        await EventuallyAsync(() => listener.ConnectionCount == 1, "only the good connection is left");
        var echoed = await peers.CallAsync(address, Header(), new byte[] { 7 });
        Assert.Equal(new byte[] { 7 }, echoed.Payload.ToArray());
    }

    [Fact]
    public async Task Disposed_listener_refuses_new_connections_and_the_caller_is_told_not_sent()
    {
        var listener = Listen(Echo, _logger);
        var address = AddressOf(listener);
        await listener.DisposeAsync();
        await using var peers = new PeerConnections(Caller, _logger);

        var error = await Assert.ThrowsAsync<PeerUnavailableException>(() => peers.CallAsync(address, Header(), default));
        Assert.False(error.WasSent);
    }

    [Fact]
    public async Task Disposed_peer_connections_refuse_calls()
    {
        await using var listener = Listen(Echo, _logger);
        var peers = new PeerConnections(Caller, _logger);
        await peers.CallAsync(AddressOf(listener), Header(), default);
        await peers.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => peers.CallAsync(AddressOf(listener), Header(), default));
        await EventuallyAsync(() => listener.ConnectionCount == 0, "the listener saw the connection close");
    }

    [Fact]
    public async Task A_port_held_by_a_listener_cannot_be_taken_by_another()
    {
        await using var listener = Listen(Echo, _logger);

        Assert.ThrowsAny<SocketException>(() => Listen(Echo, _logger, port: listener.LocalEndPoint.Port));
    }

    [Fact]
    public async Task Expired_deadline_is_not_sent()
    {
        var handled = 0;
        await using var listener = Listen(call => { Interlocked.Increment(ref handled); Echo(call); }, _logger);
        await using var peers = new PeerConnections(Caller, _logger);

        await Assert.ThrowsAsync<TimeoutException>(() => peers.CallAsync(AddressOf(listener), Header(TimeSpan.Zero), default));
        Assert.Equal(0, handled);
    }

    private static async Task<Socket> RawConnectAsync(MessageListener listener)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(listener.LocalEndPoint);
        await socket.SendAsync(Hello("raw", 3));
        var header = await ReceiveExactlyAsync(socket, 4);
        await ReceiveExactlyAsync(socket, BinaryPrimitives.ReadInt32LittleEndian(header)); // the listener's hello
        return socket;
    }

    /// <summary>Frames built by hand from the documented layout, so the tests pin the wire format.</summary>
    private static byte[] Hello(string name, long generation)
    {
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var frame = new byte[4 + 1 + 4 + 2 + 8 + 1 + 4 + nameBytes.Length];
        BinaryPrimitives.WriteInt32LittleEndian(frame, frame.Length - 4);
        frame[4] = 1;
        "TMOR"u8.CopyTo(frame.AsSpan(5));
        BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(9), WireProtocol.Version);
        BinaryPrimitives.WriteInt64LittleEndian(frame.AsSpan(11), generation);
        frame[19] = 0;
        BinaryPrimitives.WriteInt32LittleEndian(frame.AsSpan(20), nameBytes.Length);
        nameBytes.CopyTo(frame.AsSpan(24));
        return frame;
    }

    private static byte[] Request(long callId, long targetGeneration)
    {
        var body = new List<byte> { 2 };
        body.AddRange(BitConverter.GetBytes(callId));
        body.AddRange(BitConverter.GetBytes(targetGeneration));
        body.AddRange(BitConverter.GetBytes(TimeSpan.FromSeconds(5).Ticks));
        foreach (var text in new[] { "Tests.IEcho", "k", "Echo" })
        {
            body.AddRange(BitConverter.GetBytes(Encoding.UTF8.GetByteCount(text)));
            body.AddRange(Encoding.UTF8.GetBytes(text));
        }
        body.AddRange(BitConverter.GetBytes(-1)); // no on-silo
        return [.. BitConverter.GetBytes(body.Count), .. body];
    }

    private static async Task<(long CallId, CallStatus Status)> ReadResponseAsync(Socket socket)
    {
        var header = await ReceiveExactlyAsync(socket, 4);
        var body = await ReceiveExactlyAsync(socket, BinaryPrimitives.ReadInt32LittleEndian(header));
        Assert.Equal(3, body[0]);
        return (BinaryPrimitives.ReadInt64LittleEndian(body.AsSpan(1)), (CallStatus)body[9]);
    }

    private static async Task<byte[]> ReceiveExactlyAsync(Socket socket, int count)
    {
        var buffer = new byte[count];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        for (var read = 0; read < count;)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, timeout.Token);
            if (n == 0) throw new EndOfStreamException();
            read += n;
        }
        return buffer;
    }

    private static async Task AssertClosedByPeerAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var buffer = new byte[1024];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) > 0)
            {
                // Drain whatever the listener sent before closing (its hello).
            }
        }
        catch (SocketException)
        {
            // Reset: closed as well.
        }
    }
}
