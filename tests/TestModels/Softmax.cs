namespace TrainedModelsOrleans.TestModels;

internal static class Softmax
{
    /// <summary>Softmax over each consecutive row of <paramref name="width"/> values.</summary>
    public static void InPlace(Span<float> values, int width)
    {
        for (int start = 0; start < values.Length; start += width)
        {
            Span<float> row = values.Slice(start, width);
            float max = float.NegativeInfinity;
            foreach (float v in row)
            {
                max = MathF.Max(max, v);
            }

            double sum = 0;
            for (int i = 0; i < row.Length; i++)
            {
                sum += Math.Exp(row[i] - max);
            }

            for (int i = 0; i < row.Length; i++)
            {
                row[i] = (float)(Math.Exp(row[i] - max) / sum);
            }
        }
    }
}
