using TrainedModelsOrleans.Grains.Inference.Nlp;
using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.TestModels;
using static TrainedModelsOrleans.Nlp.Tests.NlpModels;

namespace TrainedModelsOrleans.Nlp.Tests;

/// <summary>Text through the tokenizer, a real ONNX Runtime session and the task, against the model's C# reference.</summary>
public class NlpEndToEndTests
{
    private static readonly string[] Words =
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "##s", ".", ",",
    ];

    private static readonly string[] Texts = ["The quick brown fox.", "dogs", "The lazy dog jumps over the quick fox, twice."];

    private static NlpTask Task(string inferenceConfig) => NlpTask.For(Config(inferenceConfig), Vocabulary(Words));

    [Fact]
    public void Pass_through_equals_the_reference_for_each_document_of_a_padded_batch()
    {
        using var session = new OnnxSession(TestOnnxModels.Text(attentionMask: true));
        var batch = Task("""{"pass_through":{"tokenization":{"bert":{"do_lower_case":true}}}}""").Prepare(Texts);

        var results = batch.ToResults(session.Run(batch.BuildInputs(session.Inputs)));

        var tokens = batch.Tokens;
        var reference = TestOnnxModels.TextReference(tokens.InputIds, tokens.AttentionMask, tokens.BatchSize, tokens.SequenceLength);
        Assert.Equal(Texts.Length, results.Length);
        for (var d = 0; d < Texts.Length; d++)
        {
            var row = Assert.Single(results[d]["predicted_value"]!.AsArray());
            AssertClose(reference.AsSpan(d * 8, 8), Doubles(row));
        }
        Assert.Equal([2L, 5, 6, 7, 8, 14, 3], tokens.InputIds[..7]);
        Assert.Equal(1, tokens.Sequences[2].TokenIds[^3]); // "twice" is unknown
    }

    [Fact]
    public void With_an_attention_mask_batching_does_not_change_a_documents_result()
    {
        using var session = new OnnxSession(TestOnnxModels.Text(attentionMask: true));
        var task = Task("""{"text_embedding":{"tokenization":{"bert":{"do_lower_case":true}}}}""");
        var model = NlpModelInputs.Describe(session.Inputs);
        Assert.True(model.TakesAttentionMask);

        var together = Run(session, model, task, Texts);
        for (var d = 0; d < Texts.Length; d++)
        {
            var alone = Assert.Single(Run(session, model, task, [Texts[d]]));
            AssertClose(Doubles(alone["predicted_value"]), Doubles(together[d]["predicted_value"]));
        }
    }

    [Fact]
    public void Without_an_attention_mask_one_document_per_run_matches_the_reference()
    {
        using var session = new OnnxSession(TestOnnxModels.Text());
        var task = Task("""{"text_classification":{"classification_labels":["a","b","c","d","e","f","g","h"],"num_top_classes":3,"tokenization":{"bert":{"do_lower_case":true}}}}""");
        var model = NlpModelInputs.Describe(session.Inputs);
        Assert.False(model.TakesAttentionMask);

        foreach (var text in Texts)
        {
            var batch = task.Prepare([text]);
            var result = Assert.Single(batch.ToResults(session.Run(batch.BuildInputs(model))));

            var tokens = batch.Tokens;
            var probabilities = TestOnnxModels.TextReference(tokens.InputIds, [], 1, tokens.SequenceLength);
            // The model's outputs are probabilities already; the task applies ES's softmax on top, as ES would.
            var expected = Softmax(probabilities.Select(p => (double)p).ToArray());
            var best = Array.IndexOf(expected, expected.Max());
            Assert.Equal(((char)('a' + best)).ToString(), result["predicted_value"]!.GetValue<string>());
            Assert.Equal(expected[best], result["prediction_probability"]!.GetValue<double>(), 6);
            Assert.Equal(3, result["top_classes"]!.AsArray().Count);
        }
    }

    private static System.Text.Json.Nodes.JsonObject[] Run(OnnxSession session, NlpModelInputs model, NlpTask task, string[] texts)
    {
        var batch = task.Prepare(texts);
        return batch.ToResults(session.Run(batch.BuildInputs(model)));
    }

    private static double[] Softmax(double[] values)
    {
        var max = values.Max();
        var exp = values.Select(v => Math.Exp(v - max)).ToArray();
        var sum = exp.Sum();
        return exp.Select(e => e / sum).ToArray();
    }

    private static void AssertClose(ReadOnlySpan<float> expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Assert.InRange(actual[i], expected[i] - 1e-5, expected[i] + 1e-5);
    }

    private static void AssertClose(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Assert.InRange(actual[i], expected[i] - 1e-5, expected[i] + 1e-5);
    }
}
