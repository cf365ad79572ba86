namespace TrainedModelsOrleans.TestModels;

/// <summary>
/// A fully connected network with deterministic weights: MatMul + Add per layer, Relu between
/// layers, Softmax over the last axis at the end. It builds its ONNX model and computes the same
/// function in plain C#, so tests can compare ONNX Runtime's output with a reference.
/// </summary>
public sealed class DenseNetwork
{
    private DenseNetwork(int[] layerSizes, float[][] weights, float[][] biases)
    {
        LayerSizes = layerSizes;
        Weights = weights;
        Biases = biases;
    }

    /// <summary>Widths from input to output, e.g. [64, 256, 8].</summary>
    public IReadOnlyList<int> LayerSizes { get; }

    /// <summary>Per layer, a row-major [in, out] matrix.</summary>
    public IReadOnlyList<float[]> Weights { get; }

    public IReadOnlyList<float[]> Biases { get; }

    public int Inputs => LayerSizes[0];

    public int Outputs => LayerSizes[^1];

    public static DenseNetwork Create(IReadOnlyList<int> layerSizes, int seed)
    {
        if (layerSizes.Count < 2 || layerSizes.Any(size => size <= 0))
        {
            throw new ArgumentException("A network needs at least two positive layer sizes.", nameof(layerSizes));
        }

        var random = new DeterministicRandom((ulong)seed);
        int layers = layerSizes.Count - 1;
        var weights = new float[layers][];
        var biases = new float[layers][];
        for (int l = 0; l < layers; l++)
        {
            // Scaled by fan-in so activations stay near 1 however wide the layers are.
            float scale = 1f / MathF.Sqrt(layerSizes[l]);
            weights[l] = random.Fill(layerSizes[l] * layerSizes[l + 1], scale);
            biases[l] = random.Fill(layerSizes[l + 1], 0.1f);
        }

        return new DenseNetwork(layerSizes.ToArray(), weights, biases);
    }

    /// <summary>The model: input "input" float[batch, inputs] → output "probs" float[batch, outputs].</summary>
    public byte[] ToOnnx(string inputName = "input", string outputName = "probs")
    {
        var builder = new OnnxModelBuilder("dense")
            .AddInput(inputName, OnnxDataType.Float, "batch", Inputs)
            .AddOutput(outputName, OnnxDataType.Float, "batch", Outputs);
        string current = inputName;
        for (int l = 0; l < Weights.Count; l++)
        {
            int fanIn = LayerSizes[l];
            int fanOut = LayerSizes[l + 1];
            builder.AddInitializer($"W{l}", Weights[l], fanIn, fanOut)
                .AddInitializer($"B{l}", Biases[l], fanOut)
                .AddNode("MatMul", [current, $"W{l}"], [$"mm{l}"])
                .AddNode("Add", [$"mm{l}", $"B{l}"], [$"dense{l}"]);
            current = $"dense{l}";
            if (l < Weights.Count - 1)
            {
                builder.AddNode("Relu", [current], [$"relu{l}"]);
                current = $"relu{l}";
            }
        }

        return builder.AddNode("Softmax", [current], [outputName], OnnxAttribute.Int("axis", -1)).Build();
    }

    /// <summary>The same function in C#: input is row-major [batch, inputs]; the result is [batch, outputs].</summary>
    public float[] Evaluate(ReadOnlySpan<float> input, int batch)
    {
        if (input.Length != batch * Inputs)
        {
            throw new ArgumentException($"Expected {batch * Inputs} values for batch {batch}, got {input.Length}.", nameof(input));
        }

        float[] current = input.ToArray();
        for (int l = 0; l < Weights.Count; l++)
        {
            int fanIn = LayerSizes[l];
            int fanOut = LayerSizes[l + 1];
            float[] w = Weights[l];
            var next = new float[batch * fanOut];
            var accumulator = new double[fanOut];
            for (int b = 0; b < batch; b++)
            {
                Array.Clear(accumulator);
                for (int i = 0; i < fanIn; i++)
                {
                    double x = current[(b * fanIn) + i];
                    int row = i * fanOut;
                    for (int o = 0; o < fanOut; o++)
                    {
                        accumulator[o] += x * w[row + o];
                    }
                }

                for (int o = 0; o < fanOut; o++)
                {
                    float value = (float)(accumulator[o] + Biases[l][o]);
                    next[(b * fanOut) + o] = l < Weights.Count - 1 ? MathF.Max(value, 0f) : value;
                }
            }

            current = next;
        }

        Softmax.InPlace(current, Outputs);
        return current;
    }
}
