using System.Text;

namespace TrainedModelsOrleans.Runtime.Messaging;

/// <summary>
/// Decodes the few strings that repeat on every frame (interface and method names) once per connection instead of
/// once per call. Direct-mapped and unsynchronized: one per read loop.
/// </summary>
internal sealed class Utf8StringCache
{
    private const int Slots = 256;
    private const int MaxCachedBytes = 256;

    private readonly (byte[] Utf8, string Value)[] _entries = new (byte[], string)[Slots];

    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxCachedBytes) return FrameParser.Utf8.GetString(utf8);
        ref var entry = ref _entries[Slot(utf8)];
        if (entry.Utf8 is not null && utf8.SequenceEqual(entry.Utf8)) return entry.Value;
        var value = FrameParser.Utf8.GetString(utf8);
        entry = (utf8.ToArray(), value);
        return value;
    }

    private static int Slot(ReadOnlySpan<byte> utf8)
    {
        var hash = new HashCode();
        hash.AddBytes(utf8);
        return hash.ToHashCode() & (Slots - 1);
    }
}
