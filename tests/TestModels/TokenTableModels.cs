namespace TrainedModelsOrleans.TestModels;

/// <summary>
/// Models whose answers are known by construction: each token id looks up a row of a table the test
/// writes ("input_ids" int64[batch, sequence] → Gather), so a test decides what the model says about
/// every word. [PAD] should have a zero row where a model sums over the sequence.
/// </summary>
public static class TokenTableModels
{
    /// <summary>Per token: "logits" float[batch, sequence, width] = table[token] (NER, fill-mask).</summary>
    public static byte[] PerToken(float[,] table)
    {
        var (rows, width) = (table.GetLength(0), table.GetLength(1));
        return new OnnxModelBuilder("token_scorer")
            .AddInput("input_ids", OnnxDataType.Int64, "batch", "sequence")
            .AddOutput("logits", OnnxDataType.Float, "batch", "sequence", width)
            .AddInitializer("table", Flatten(table), rows, width)
            .AddNode("Gather", ["table", "input_ids"], ["logits"], OnnxAttribute.Int("axis", 0))
            .Build();
    }

    /// <summary>
    /// Summed over the sequence: "logits" float[batch, width] = Σ table[token]. A cross-encoder
    /// (text_similarity, width 1) or an NLI model (zero-shot, width 3) whose verdict is keyed on words.
    /// </summary>
    public static byte[] Summed(float[,] table)
    {
        var (rows, width) = (table.GetLength(0), table.GetLength(1));
        return new OnnxModelBuilder("token_sum")
            .AddInput("input_ids", OnnxDataType.Int64, "batch", "sequence")
            .AddInput("attention_mask", OnnxDataType.Int64, "batch", "sequence")
            .AddOutput("logits", OnnxDataType.Float, "batch", width)
            .AddInitializer("table", Flatten(table), rows, width)
            .AddInitializer("axis_sequence", [1L], 1)
            .AddInitializer("axis_last", [2L], 1)
            .AddNode("Gather", ["table", "input_ids"], ["scores"], OnnxAttribute.Int("axis", 0))
            .AddNode("Cast", ["attention_mask"], ["mask"], OnnxAttribute.Int("to", (long)OnnxDataType.Float))
            .AddNode("Unsqueeze", ["mask", "axis_last"], ["mask3"])
            .AddNode("Mul", ["scores", "mask3"], ["masked"])
            .AddNode("ReduceSum", ["masked", "axis_sequence"], ["logits"], OnnxAttribute.Int("keepdims", 0))
            .Build();
    }

    /// <summary>
    /// A question-answering model as Hugging Face exports one: "start_logits" and "end_logits",
    /// each float[batch, sequence] = start[token] and end[token].
    /// </summary>
    public static byte[] QuestionAnswering(float[] start, float[] end)
    {
        if (start.Length != end.Length) throw new ArgumentException("One start and one end logit per vocabulary entry.");
        return new OnnxModelBuilder("question_answering")
            .AddInput("input_ids", OnnxDataType.Int64, "batch", "sequence")
            .AddOutput("start_logits", OnnxDataType.Float, "batch", "sequence")
            .AddOutput("end_logits", OnnxDataType.Float, "batch", "sequence")
            .AddInitializer("start", start, start.Length)
            .AddInitializer("end", end, end.Length)
            .AddNode("Gather", ["start", "input_ids"], ["start_logits"], OnnxAttribute.Int("axis", 0))
            .AddNode("Gather", ["end", "input_ids"], ["end_logits"], OnnxAttribute.Int("axis", 0))
            .Build();
    }

    /// <summary>
    /// An ELSER-like expansion model: per token, log(1 + ReLU(table[token])) over the vocabulary,
    /// "weights" float[batch, sequence, vocabulary]; the task max-pools over the sequence.
    /// </summary>
    public static byte[] Expansion(float[,] table)
    {
        var (rows, width) = (table.GetLength(0), table.GetLength(1));
        return new OnnxModelBuilder("expansion")
            .AddInput("input_ids", OnnxDataType.Int64, "batch", "sequence")
            .AddOutput("weights", OnnxDataType.Float, "batch", "sequence", width)
            .AddInitializer("table", Flatten(table), rows, width)
            .AddFloatDataInitializer("one", [1f], 1)
            .AddNode("Gather", ["table", "input_ids"], ["scores"], OnnxAttribute.Int("axis", 0))
            .AddNode("Relu", ["scores"], ["positive"])
            .AddNode("Add", ["positive", "one"], ["shifted"])
            .AddNode("Log", ["shifted"], ["weights"])
            .Build();
    }

    private static float[] Flatten(float[,] table) => table.Cast<float>().ToArray();
}
