namespace TrainedModelsOrleans.TestModels;

/// <summary>SplitMix64: the same seed gives the same weights on every machine and runtime.</summary>
internal sealed class DeterministicRandom(ulong seed)
{
    private ulong _state = seed;

    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [-scale, scale).</summary>
    public float NextSigned(float scale) => (float)(((NextUInt64() >> 40) * (1.0 / (1UL << 24)) * 2.0) - 1.0) * scale;

    public float[] Fill(int count, float scale)
    {
        var values = new float[count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = NextSigned(scale);
        }

        return values;
    }
}
