namespace TrainedModelsOrleans.TestModels;

/// <summary>
/// A tiny text model with deterministic weights: token embeddings averaged over the sequence
/// (only over positions whose attention mask is 1 when the model takes a mask), a linear layer and
/// a softmax. Builds its ONNX model and computes the same function in C#.
/// </summary>
public sealed class TextClassifier
{
    private TextClassifier(int vocabulary, int embedding, int outputs, bool attentionMask, float[] embeddings, float[] projection)
    {
        Vocabulary = vocabulary;
        EmbeddingSize = embedding;
        Outputs = outputs;
        HasAttentionMask = attentionMask;
        Embeddings = embeddings;
        Projection = projection;
    }

    public int Vocabulary { get; }

    public int EmbeddingSize { get; }

    public int Outputs { get; }

    public bool HasAttentionMask { get; }

    /// <summary>Row-major [vocabulary, embedding].</summary>
    public float[] Embeddings { get; }

    /// <summary>Row-major [embedding, outputs].</summary>
    public float[] Projection { get; }

    public static TextClassifier Create(int vocabulary, int embedding, int outputs, bool attentionMask, int seed)
    {
        var random = new DeterministicRandom((ulong)seed);
        float[] embeddings = random.Fill(vocabulary * embedding, 1f);
        float[] projection = random.Fill(embedding * outputs, 1f / MathF.Sqrt(embedding));
        return new TextClassifier(vocabulary, embedding, outputs, attentionMask, embeddings, projection);
    }

    /// <summary>
    /// Inputs "input_ids" int64[batch, sequence] (and "attention_mask" int64[batch, sequence]);
    /// output "probs" float[batch, outputs]. Opset 17: ReduceMean takes axes as an attribute,
    /// ReduceSum and Unsqueeze take them as an input.
    /// </summary>
    public byte[] ToOnnx()
    {
        var builder = new OnnxModelBuilder("text")
            .AddInput("input_ids", OnnxDataType.Int64, "batch", "sequence")
            .AddOutput("probs", OnnxDataType.Float, "batch", Outputs)
            .AddInitializer("embeddings", Embeddings, Vocabulary, EmbeddingSize)
            .AddInitializer("projection", Projection, EmbeddingSize, Outputs)
            .AddNode("Gather", ["embeddings", "input_ids"], ["embedded"], OnnxAttribute.Int("axis", 0));
        if (HasAttentionMask)
        {
            builder.AddInput("attention_mask", OnnxDataType.Int64, "batch", "sequence")
                .AddInitializer("axis_sequence", [1L], 1)
                .AddInitializer("axis_last", [2L], 1)
                .AddFloatDataInitializer("one", [1f], 1)
                .AddNode("Cast", ["attention_mask"], ["mask"], OnnxAttribute.Int("to", (long)OnnxDataType.Float))
                .AddNode("Unsqueeze", ["mask", "axis_last"], ["mask3"])
                .AddNode("Mul", ["embedded", "mask3"], ["masked"])
                .AddNode("ReduceSum", ["masked", "axis_sequence"], ["summed"], OnnxAttribute.Int("keepdims", 0))
                .AddNode("ReduceSum", ["mask3", "axis_sequence"], ["count"], OnnxAttribute.Int("keepdims", 0))
                .AddNode("Max", ["count", "one"], ["count_at_least_one"])
                .AddNode("Div", ["summed", "count_at_least_one"], ["pooled"]);
        }
        else
        {
            builder.AddNode("ReduceMean", ["embedded"], ["pooled"], OnnxAttribute.Ints("axes", 1), OnnxAttribute.Int("keepdims", 0));
        }

        return builder
            .AddNode("MatMul", ["pooled", "projection"], ["logits"])
            .AddNode("Softmax", ["logits"], ["probs"], OnnxAttribute.Int("axis", -1))
            .Build();
    }

    /// <summary>The same function in C#. <paramref name="attentionMask"/> is ignored unless the model has one.</summary>
    public float[] Evaluate(ReadOnlySpan<long> inputIds, ReadOnlySpan<long> attentionMask, int batch, int sequence)
    {
        if (inputIds.Length != batch * sequence || (HasAttentionMask && attentionMask.Length != batch * sequence))
        {
            throw new ArgumentException($"Expected {batch * sequence} ids (and mask values) for [{batch},{sequence}].");
        }

        var result = new float[batch * Outputs];
        var pooled = new double[EmbeddingSize];
        for (int b = 0; b < batch; b++)
        {
            Array.Clear(pooled);
            double count = 0;
            for (int s = 0; s < sequence; s++)
            {
                int position = (b * sequence) + s;
                double weight = HasAttentionMask ? attentionMask[position] : 1;
                long id = inputIds[position];
                for (int e = 0; e < EmbeddingSize; e++)
                {
                    pooled[e] += Embeddings[(id * EmbeddingSize) + e] * weight;
                }

                count += weight;
            }

            double divisor = HasAttentionMask ? Math.Max(count, 1) : sequence;
            for (int o = 0; o < Outputs; o++)
            {
                double logit = 0;
                for (int e = 0; e < EmbeddingSize; e++)
                {
                    logit += (float)(pooled[e] / divisor) * Projection[(e * Outputs) + o];
                }

                result[(b * Outputs) + o] = (float)logit;
            }
        }

        Softmax.InPlace(result, Outputs);
        return result;
    }
}
