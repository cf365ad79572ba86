using System.Buffers.Binary;
using System.Net.Sockets;

namespace TrainedModelsOrleans.Runtime.Messaging;

/// <summary>A frame body as read: borrowed from the receive buffer (valid until the next read) unless <see cref="Owned"/>.</summary>
internal readonly record struct Frame(ReadOnlyMemory<byte> Body, bool Owned)
{
    /// <summary>The peer closed the connection at a frame boundary.</summary>
    public bool IsEnd => Body.IsEmpty;
}

/// <summary>
/// Cuts a socket's byte stream into frames. Small frames are parsed in place in one receive buffer (many per
/// receive); a frame larger than the buffer gets its own array, received straight into it.
/// </summary>
internal sealed class FrameReader(Socket socket)
{
    private const int BufferBytes = 64 * 1024;

    private readonly byte[] _buffer = new byte[BufferBytes];
    private int _start;
    private int _end;

    public int MaxFrameBytes { get; set; } = WireProtocol.MaxFrameBytes;

    public async ValueTask<Frame> ReadAsync(CancellationToken ct)
    {
        while (true)
        {
            var available = _end - _start;
            var needed = WireProtocol.LengthBytes;
            if (available >= WireProtocol.LengthBytes)
            {
                var length = BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan(_start));
                if (length <= 0 || length > MaxFrameBytes)
                    throw new WireProtocolException($"a frame of {(uint)length} bytes (the limit is {MaxFrameBytes})");
                needed += length;
                if (available >= needed)
                {
                    var body = new ReadOnlyMemory<byte>(_buffer, _start + WireProtocol.LengthBytes, length);
                    _start += needed;
                    return new Frame(body, Owned: false);
                }
                if (needed > _buffer.Length) return new Frame(await ReadLargeAsync(length, ct).ConfigureAwait(false), Owned: true);
            }

            if (available == 0)
            {
                _start = _end = 0;
            }
            else if (_start + needed > _buffer.Length)
            {
                _buffer.AsSpan(_start, available).CopyTo(_buffer);
                _start = 0;
                _end = available;
            }
            var read = await socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, ct).ConfigureAwait(false);
            if (read == 0)
            {
                if (available == 0) return default;
                throw new EndOfStreamException("The peer closed the connection in the middle of a frame.");
            }
            _end += read;
        }
    }

    private async Task<byte[]> ReadLargeAsync(int length, CancellationToken ct)
    {
        var body = GC.AllocateUninitializedArray<byte>(length);
        var have = _end - _start - WireProtocol.LengthBytes;
        _buffer.AsSpan(_start + WireProtocol.LengthBytes, have).CopyTo(body);
        _start = _end = 0;
        while (have < length)
        {
            var read = await socket.ReceiveAsync(body.AsMemory(have), SocketFlags.None, ct).ConfigureAwait(false);
            if (read == 0) throw new EndOfStreamException("The peer closed the connection in the middle of a frame.");
            have += read;
        }
        return body;
    }
}
