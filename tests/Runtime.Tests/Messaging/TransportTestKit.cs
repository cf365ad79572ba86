using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using TrainedModelsOrleans.Runtime.Messaging;

namespace TrainedModelsOrleans.Runtime.Tests.Messaging;

/// <summary>Listeners and callers on 127.0.0.1 for the transport tests.</summary>
internal static class TransportTestKit
{
    public static readonly PeerIdentity Caller = new("silo-a", 1, IsClient: false);

    public static MessageListener Listen(Action<InboundCall> handle, ILogger logger, long generation = 7, int port = 0) =>
        MessageListener.Start(new IPEndPoint(IPAddress.Loopback, port), new PeerIdentity("silo-b", generation, IsClient: false),
            new DelegateHandler(handle), logger);

    public static string AddressOf(MessageListener listener) => $"127.0.0.1:{listener.LocalEndPoint.Port}";

    public static CallHeader Header(TimeSpan? timeout = null, long targetGeneration = 0, string method = "Echo") =>
        new("Tests.IEcho", "key-1", method, targetGeneration, timeout ?? TimeSpan.FromSeconds(10));

    /// <summary>Echoes the arguments back as the result.</summary>
    public static void Echo(InboundCall call) => call.Reply(CallStatus.Ok, call.Arguments.Span);

    public static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>Polls until the condition holds or the time is up (then fails).</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what, int timeoutMs = 5000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline) throw new TimeoutException($"Still not true after {timeoutMs} ms: {what}");
            await Task.Delay(10);
        }
    }

    private sealed class DelegateHandler(Action<InboundCall> handle) : IInboundCallHandler
    {
        public void Handle(InboundCall call) => handle(call);
    }
}
