namespace TrainedModelsOrleans.TestModels;

/// <summary>Ready-made ONNX models for tests and benchmarks, all built in memory and deterministic.</summary>
public static class TestOnnxModels
{
    /// <summary>Layer widths of <see cref="Medium"/>: about 1 ms per batch-1 inference on one core of the 2-vCPU dev machine.</summary>
    public static readonly IReadOnlyList<int> MediumLayers = [1024, 2048, 2048, 2048, 8];

    /// <summary>input "input" float[batch, inputs] → MatMul, Add, Relu → MatMul, Add → Softmax → "probs" float[batch, outputs].</summary>
    public static byte[] Mlp(int inputs = 64, int hidden = 256, int outputs = 8, int seed = 1) =>
        DenseNetwork.Create([inputs, hidden, outputs], seed).ToOnnx();

    /// <summary>What <see cref="Mlp"/> computes, in C#; input and result are row-major.</summary>
    public static float[] MlpReference(ReadOnlySpan<float> input, int batch, int inputs = 64, int hidden = 256, int outputs = 8, int seed = 1) =>
        DenseNetwork.Create([inputs, hidden, outputs], seed).Evaluate(input, batch);

    /// <summary>An MLP (<see cref="MediumLayers"/>) whose batch-1 inference costs about a millisecond: for load and batching tests.</summary>
    public static byte[] Medium(int seed = 3) => DenseNetwork.Create(MediumLayers, seed).ToOnnx();

    /// <summary>The network behind <see cref="Medium"/>, for reference outputs.</summary>
    public static DenseNetwork MediumNetwork(int seed = 3) => DenseNetwork.Create(MediumLayers, seed);

    /// <summary>
    /// "input_ids" int64[batch, sequence] (+ "attention_mask" int64[batch, sequence]) → Gather
    /// embeddings → mean over the sequence → MatMul → Softmax → "probs" float[batch, outputs].
    /// </summary>
    public static byte[] Text(int vocabulary = 1000, int embedding = 64, int outputs = 8, bool attentionMask = false, int seed = 2) =>
        TextClassifier.Create(vocabulary, embedding, outputs, attentionMask, seed).ToOnnx();

    /// <summary>
    /// What <see cref="Text"/> computes, in C#. Pass an empty <paramref name="attentionMask"/> for
    /// the model without a mask input.
    /// </summary>
    public static float[] TextReference(
        ReadOnlySpan<long> inputIds, ReadOnlySpan<long> attentionMask, int batch, int sequence,
        int vocabulary = 1000, int embedding = 64, int outputs = 8, int seed = 2) =>
        TextClassifier.Create(vocabulary, embedding, outputs, !attentionMask.IsEmpty, seed).Evaluate(inputIds, attentionMask, batch, sequence);

    /// <summary>
    /// input "input" float[batch, width] → <paramref name="depth"/> MatMuls by the identity → "output": the
    /// input back, at a cost that grows with depth in many short nodes, so a run is slow yet ORT can
    /// terminate it within one node. For tests of runs that are stopped part-way.
    /// </summary>
    public static byte[] IdentityChain(int width = 256, int depth = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(depth);
        var identity = new float[width * width];
        for (int i = 0; i < width; i++)
        {
            identity[(i * width) + i] = 1f;
        }

        var builder = new OnnxModelBuilder("identity_chain")
            .AddInput("input", OnnxDataType.Float, "batch", width)
            .AddOutput("output", OnnxDataType.Float, "batch", width)
            .AddInitializer("identity", identity, width, width);
        for (int i = 0; i < depth; i++)
        {
            builder.AddNode("MatMul", [i == 0 ? "input" : $"h{i}", "identity"], [i == depth - 1 ? "output" : $"h{i + 1}"]);
        }

        return builder.Build();
    }

    /// <summary>A well-formed model that uses the op "NoSuchOp", which no runtime implements.</summary>
    public static byte[] WithUnknownOp() =>
        new OnnxModelBuilder("unknown_op")
            .AddInput("input", OnnxDataType.Float, "batch", 4)
            .AddOutput("output", OnnxDataType.Float, "batch", 4)
            .AddNode("NoSuchOp", ["input"], ["output"])
            .Build();

    /// <summary>
    /// A model with a tensor output "doubled" float[n] and a sequence output "pair" (both copies of
    /// the input), for code that must cope with non-tensor values.
    /// </summary>
    public static byte[] WithSequenceOutput() =>
        new OnnxModelBuilder("sequence")
            .AddInput("input", OnnxDataType.Float, "n")
            .AddOutput("doubled", OnnxDataType.Float, "n")
            .AddSequenceOutput("pair", OnnxDataType.Float)
            .AddNode("Add", ["input", "input"], ["doubled"])
            .AddNode("SequenceConstruct", ["input", "input"], ["pair"])
            .Build();

    /// <summary>
    /// Deterministic bytes that are not a model. The first byte is a protobuf tag with field number
    /// 0, which no parser accepts, so even short garbage never parses by chance.
    /// </summary>
    public static byte[] Garbage(int bytes = 4096, int seed = 7)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        var random = new DeterministicRandom((ulong)seed);
        var data = new byte[bytes];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)random.NextUInt64();
        }

        data[0] = 0x07;
        return data;
    }

    /// <summary>The first half of a model: a cut-off download.</summary>
    public static byte[] Truncated(byte[] model) => model[..(model.Length / 2)];
}
