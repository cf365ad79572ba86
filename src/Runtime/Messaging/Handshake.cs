using System.Net.Sockets;

namespace TrainedModelsOrleans.Runtime.Messaging;

/// <summary>Both sides send their hello at once and read the other's; nothing else is accepted before it.</summary>
internal static class Handshake
{
    public static async Task<(PeerIdentity Remote, FrameReader Reader)> RunAsync(Socket socket, PeerIdentity local, CancellationToken ct)
    {
        var hello = WireProtocol.Hello(local);
        var sent = 0;
        while (sent < hello.Length) sent += await socket.SendAsync(hello.AsMemory(sent), SocketFlags.None, ct).ConfigureAwait(false);

        // The reader keeps whatever follows the hello in its buffer: a client may send calls right behind it.
        var reader = new FrameReader(socket) { MaxFrameBytes = WireProtocol.MaxHelloBytes };
        var frame = await reader.ReadAsync(ct).ConfigureAwait(false);
        if (frame.IsEnd) throw new EndOfStreamException("The peer closed the connection before its hello.");
        var remote = WireProtocol.ParseHello(frame.Body.Span);
        reader.MaxFrameBytes = WireProtocol.MaxFrameBytes;
        return (remote, reader);
    }
}
