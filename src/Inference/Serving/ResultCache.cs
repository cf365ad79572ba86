namespace TrainedModelsOrleans.Inference.Serving;

/// <summary>
/// An LRU cache of results keyed by the request's input tensors, bounded in bytes (inputs and outputs
/// both count). Thread-safe; a single lock is fine since lookups are a hash and a list move.
/// </summary>
public sealed class ResultCache(long capacityBytes)
{
    private readonly Dictionary<Key, LinkedListNode<Entry>> _entries = new();
    private readonly LinkedList<Entry> _lru = new();
    private long _bytes;

    public long SizeBytes { get { lock (_lru) return _bytes; } }
    public int Count { get { lock (_lru) return _entries.Count; } }

    public static Key KeyOf(IReadOnlyList<Tensor> inputs)
    {
        var hash = new HashCode();
        foreach (var tensor in inputs)
        {
            hash.Add(tensor.Name);
            hash.Add((int)tensor.ElementType);
            foreach (var dim in tensor.Shape) hash.Add(dim);
            hash.AddBytes(Bytes(tensor));
        }
        return new Key(hash.ToHashCode(), inputs);
    }

    public bool TryGet(Key key, out Tensor[] outputs)
    {
        lock (_lru)
        {
            if (_entries.TryGetValue(key, out var node))
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
                outputs = node.Value.Outputs;
                return true;
            }
        }
        outputs = [];
        return false;
    }

    /// <summary>Forgets every result (ES's clear deployment cache); later requests run the model again.</summary>
    public void Clear()
    {
        lock (_lru)
        {
            _entries.Clear();
            _lru.Clear();
            _bytes = 0;
        }
    }

    public void Add(Key key, Tensor[] outputs)
    {
        var size = key.Inputs.Sum(t => t.ByteLength) + outputs.Sum(t => t.ByteLength) + 64;
        if (size > capacityBytes) return;
        lock (_lru)
        {
            if (_entries.ContainsKey(key)) return;
            while (_bytes + size > capacityBytes && _lru.Last is { } oldest)
            {
                _lru.RemoveLast();
                _entries.Remove(oldest.Value.Key);
                _bytes -= oldest.Value.Size;
            }
            _entries[key] = _lru.AddFirst(new Entry(key, outputs, size));
            _bytes += size;
        }
    }

    private static ReadOnlySpan<byte> Bytes(Tensor tensor) =>
        System.Runtime.InteropServices.MemoryMarshal.CreateSpan(
            ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(tensor.Data), Buffer.ByteLength(tensor.Data));

    /// <summary>A hash plus the inputs themselves, so equal hashes of different inputs never collide.</summary>
    public readonly struct Key(int hash, IReadOnlyList<Tensor> inputs) : IEquatable<Key>
    {
        public IReadOnlyList<Tensor> Inputs { get; } = inputs;

        public bool Equals(Key other)
        {
            if (hash != other.GetHashCode() || Inputs.Count != other.Inputs.Count) return false;
            for (var i = 0; i < Inputs.Count; i++)
            {
                var (a, b) = (Inputs[i], other.Inputs[i]);
                if (a.Name != b.Name || a.ElementType != b.ElementType || !a.Shape.AsSpan().SequenceEqual(b.Shape)
                    || !Bytes(a).SequenceEqual(Bytes(b)))
                    return false;
            }
            return true;
        }

        public override bool Equals(object? obj) => obj is Key other && Equals(other);
        public override int GetHashCode() => hash;
    }

    private sealed record Entry(Key Key, Tensor[] Outputs, long Size);
}
