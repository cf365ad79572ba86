namespace TrainedModelsOrleans.Inference.Tests;

internal static class TestInputs
{
    /// <summary>The ~40 MB medium model, built once per test run.</summary>
    public static readonly Lazy<byte[]> MediumModel = new(() => TestModels.TestOnnxModels.Medium());

    /// <summary>Deterministic values in [-2, 2).</summary>
    public static float[] Floats(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)((random.NextDouble() * 4) - 2);
        }

        return values;
    }

    public static long[] TokenIds(int count, int vocabulary, int seed)
    {
        var random = new Random(seed);
        var values = new long[count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = random.Next(vocabulary);
        }

        return values;
    }

    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            float difference = MathF.Abs(expected[i] - actual[i]);
            Assert.True(difference <= tolerance, $"element {i}: expected {expected[i]}, got {actual[i]} (difference {difference})");
        }
    }
}
