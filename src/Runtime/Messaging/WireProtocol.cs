using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace TrainedModelsOrleans.Runtime.Messaging;

/// <summary>
/// The framing on a connection. Every frame is a little-endian uint32 body length (1..<see cref="MaxFrameBytes"/>)
/// and the body, whose first byte is the frame type:
/// <code>
/// Hello    1 | magic u32 "TMOR" | version u16 | generation i64 | flags u8 (1 = client) | name str
/// Request  2 | call id i64 | target generation i64 | timeout ticks i64 (negative = none) | interface str | key str | method str | on-silo str? | arguments…
/// Response 3 | call id i64 | status u8 | payload…
/// Cancel   4 | call id i64
/// </code>
/// A str is an int32 UTF-8 byte count (-1 = null) and the bytes. Each side sends its hello first; an outbound
/// connection carries requests and cancels one way and responses the other.
/// </summary>
public static class WireProtocol
{
    public const int MaxFrameBytes = 128 << 20;
    public const ushort Version = 1;

    internal const uint Magic = 0x524F4D54; // "TMOR" read as little-endian
    internal const int MaxHelloBytes = 4096;
    internal const int MaxNameBytes = 1024;
    internal const int LengthBytes = 4;
    internal const int RequestFixedBytes = 1 + 8 + 8 + 8;
    internal const int ResponseFixedBytes = 1 + 8 + 1;

    /// <summary>Argument and payload bytes up to this size travel in the frame's pooled head buffer; larger ones are sent from where they are.</summary>
    internal const int InlineTailBytes = 16 * 1024;

    /// <summary>Response heads above this are plain arrays, not pooled, so a rare huge reply does not pin pool memory.</summary>
    internal const int MaxPooledHeadBytes = 1 << 20;

    internal enum FrameType : byte { Hello = 1, Request = 2, Response = 3, Cancel = 4 }

    internal static byte[] Hello(PeerIdentity local)
    {
        var nameBytes = Encoding.UTF8.GetByteCount(local.Name);
        if (nameBytes > MaxNameBytes) throw new ArgumentException($"A peer name is at most {MaxNameBytes} UTF-8 bytes.", nameof(local));
        var frame = new byte[LengthBytes + 1 + 4 + 2 + 8 + 1 + 4 + nameBytes];
        var writer = new FrameWriter(frame);
        writer.Int32(frame.Length - LengthBytes);
        writer.Byte((byte)FrameType.Hello);
        writer.UInt32(Magic);
        writer.UInt16(Version);
        writer.Int64(local.Generation);
        writer.Byte(local.IsClient ? (byte)1 : (byte)0);
        writer.String(local.Name);
        return frame;
    }

    internal static PeerIdentity ParseHello(ReadOnlySpan<byte> body)
    {
        var reader = new FrameParser(body);
        if (body.Length < 7 || reader.Byte() != (byte)FrameType.Hello || reader.UInt32() != Magic)
            throw new WireProtocolException("the first frame is not a hello of this protocol");
        var version = reader.UInt16();
        if (version != Version) throw new WireProtocolException($"the peer speaks protocol version {version}; this side speaks {Version}");
        var generation = reader.Int64();
        var flags = reader.Byte();
        var name = reader.String(null) ?? throw new WireProtocolException("the hello has no name");
        reader.End();
        return new PeerIdentity(name, generation, (flags & 1) != 0);
    }

    internal static OutboundFrame Request(long callId, in CallHeader header, TimeSpan timeout, ReadOnlyMemory<byte> arguments)
    {
        var headerBytes = RequestFixedBytes + FrameWriter.Size(header.Interface) + FrameWriter.Size(header.Key)
            + FrameWriter.Size(header.Method) + FrameWriter.Size(header.OnSilo);
        var bodyBytes = (long)headerBytes + arguments.Length;
        if (bodyBytes > MaxFrameBytes)
            throw new ArgumentException($"A call of {bodyBytes} bytes exceeds the {MaxFrameBytes}-byte frame limit.", nameof(arguments));
        var inline = arguments.Length <= InlineTailBytes;
        var headBytes = LengthBytes + headerBytes + (inline ? arguments.Length : 0);
        var head = ArrayPool<byte>.Shared.Rent(headBytes);
        var writer = new FrameWriter(head);
        writer.Int32((int)bodyBytes);
        writer.Byte((byte)FrameType.Request);
        writer.Int64(callId);
        writer.Int64(header.TargetGeneration);
        writer.Int64(timeout < TimeSpan.Zero ? -1 : timeout.Ticks);
        writer.String(header.Interface);
        writer.String(header.Key);
        writer.String(header.Method);
        writer.String(header.OnSilo);
        if (inline) writer.Bytes(arguments.Span);
        return new OutboundFrame(head, headBytes, pooled: true, inline ? default : arguments, callId);
    }

    internal static OutboundFrame Response(long callId, CallStatus status, ReadOnlySpan<byte> payload)
    {
        var headBytes = LengthBytes + ResponseFixedBytes + payload.Length;
        var pooled = headBytes <= MaxPooledHeadBytes;
        var head = pooled ? ArrayPool<byte>.Shared.Rent(headBytes) : GC.AllocateUninitializedArray<byte>(headBytes);
        var writer = new FrameWriter(head);
        writer.Int32(ResponseFixedBytes + payload.Length);
        writer.Byte((byte)FrameType.Response);
        writer.Int64(callId);
        writer.Byte((byte)status);
        writer.Bytes(payload);
        return new OutboundFrame(head, headBytes, pooled, default, 0);
    }

    internal static OutboundFrame Cancel(long callId)
    {
        const int headBytes = LengthBytes + 1 + 8;
        var head = ArrayPool<byte>.Shared.Rent(headBytes);
        var writer = new FrameWriter(head);
        writer.Int32(1 + 8);
        writer.Byte((byte)FrameType.Cancel);
        writer.Int64(callId);
        return new OutboundFrame(head, headBytes, pooled: true, default, 0);
    }
}

/// <summary>A frame queued for a connection's write loop: a head buffer it owns and an optional tail it borrows.</summary>
internal readonly struct OutboundFrame(byte[] head, int headLength, bool pooled, ReadOnlyMemory<byte> tail, long requestId)
{
    public byte[] Head { get; } = head;
    public int HeadLength { get; } = headLength;
    public ReadOnlyMemory<byte> Tail { get; } = tail;

    /// <summary>The call id of a request frame (0 for others): a request still queued when the connection drops was never sent.</summary>
    public long RequestId { get; } = requestId;

    public void Release()
    {
        if (pooled) ArrayPool<byte>.Shared.Return(Head);
    }
}

internal ref struct FrameWriter(Span<byte> span)
{
    private readonly Span<byte> _span = span;
    private int _position;

    public static int Size(string? value) => 4 + (value is null ? 0 : Encoding.UTF8.GetByteCount(value));

    public void Byte(byte value) => _span[_position++] = value;

    public void UInt16(ushort value) { BinaryPrimitives.WriteUInt16LittleEndian(_span[_position..], value); _position += 2; }

    public void Int32(int value) { BinaryPrimitives.WriteInt32LittleEndian(_span[_position..], value); _position += 4; }

    public void UInt32(uint value) { BinaryPrimitives.WriteUInt32LittleEndian(_span[_position..], value); _position += 4; }

    public void Int64(long value) { BinaryPrimitives.WriteInt64LittleEndian(_span[_position..], value); _position += 8; }

    public void String(string? value)
    {
        if (value is null)
        {
            Int32(-1);
            return;
        }
        var written = Encoding.UTF8.GetBytes(value, _span[(_position + 4)..]);
        Int32(written);
        _position += written;
    }

    public void Bytes(ReadOnlySpan<byte> value)
    {
        value.CopyTo(_span[_position..]);
        _position += value.Length;
    }
}

/// <summary>Reads a frame body; any read past its end is a protocol violation, never an IndexOutOfRange.</summary>
internal ref struct FrameParser(ReadOnlySpan<byte> body)
{
    public static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ReadOnlySpan<byte> _body = body;

    public int Position { get; private set; }

    public byte Byte() => Take(1)[0];

    public ushort UInt16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

    public uint UInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

    public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

    public string? String(Utf8StringCache? cache)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(Take(4));
        if (length == -1) return null;
        if (length < 0) throw new WireProtocolException($"a string length of {length}");
        var bytes = Take(length);
        try
        {
            return cache is null ? Utf8.GetString(bytes) : cache.Get(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new WireProtocolException("a string that is not UTF-8");
        }
    }

    public readonly void End()
    {
        if (Position != _body.Length) throw new WireProtocolException($"{_body.Length - Position} unexpected bytes at the end of a frame");
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > _body.Length - Position) throw new WireProtocolException("a frame shorter than its fields");
        var taken = _body.Slice(Position, count);
        Position += count;
        return taken;
    }
}
