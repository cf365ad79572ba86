using System.Text.Json.Nodes;
using TrainedModelsOrleans.TestSupport;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.PublishedModels.Tests;

/// <summary>
/// MiniLM served over HTTP as a text_embedding model against what ONNX Runtime for Node.js computed from
/// Hugging Face tokenizers' ids (reference/minilm.reference.json). The model's first output is
/// last_hidden_state [batch, sequence, 384]; Elasticsearch's text_embedding returns its first row as is —
/// the [CLS] token's hidden state — and that is what is compared (sentence-transformers' mean pooling is
/// not in the graph, and ES does not pool).
/// </summary>
public sealed class MiniLmServedTests(MiniLmService service, ITestOutputHelper output) : IClassFixture<MiniLmService>
{
    /// <summary>
    /// Largest allowed |served − reference| per component. Both sides run the same fp32 graph on CPU (ONNX
    /// Runtime 1.32 in .NET, 1.30 in Node.js); on the machine that computed the reference the answers are
    /// bit-identical, alone and in a padded batch (masked positions get exactly zero attention). Elsewhere
    /// ONNX Runtime picks its matrix kernels by the CPU's instruction set (AVX2, AVX-512, …), which sum in
    /// another order: 6 layers of 384–1,536-wide sums, layer norms and GELUs carry that rounding (fp32
    /// ε ≈ 1.2e-7, components of magnitude ≤ ~5) to differences of order 1e-6. 1e-4 leaves room for that,
    /// while a wrong token id, token type, position or attention mask moves components by 1e-2 or more (two
    /// sentences' vectors differ by at least 100× the tolerance: the test below).
    /// </summary>
    private const double Tolerance = 1e-4;

    private static readonly MiniLmReference Reference = MiniLm.Reference();

    [Fact]
    public async Task Each_sentence_alone_returns_the_reference_first_token_vector()
    {
        double worst = 0;
        foreach (MiniLmReferenceSentence sentence in Reference.Sentences)
        {
            JsonNode result = (await service.InferAsync(sentence.Text)).AssertOk().Body["inference_results"]![0]!;
            worst = Math.Max(worst, AssertClose(sentence, result));
        }

        output.WriteLine($"{Reference.Sentences.Count} sentences, one per request: largest |served − reference| = {worst:E2}");
    }

    [Fact]
    public async Task Every_sentence_in_one_request_runs_as_a_padded_batch_and_returns_the_same()
    {
        JsonArray results = (await service.InferAsync(Reference.Sentences.Select(s => s.Text).ToArray())).AssertOk().Body["inference_results"]!.AsArray();

        Assert.Equal(Reference.Sentences.Count, results.Count);
        double worst = 0;
        for (int i = 0; i < results.Count; i++)
        {
            worst = Math.Max(worst, AssertClose(Reference.Sentences[i], results[i]!));
        }

        output.WriteLine($"{Reference.Sentences.Count} sentences in one request: largest |served − reference| = {worst:E2}");
    }

    [Fact]
    public async Task Different_sentences_differ_by_far_more_than_the_tolerance()
    {
        // The tolerance only means something if it separates answers: the closest pair of reference vectors is far apart.
        double closest = double.MaxValue;
        for (int a = 0; a < Reference.Sentences.Count; a++)
        {
            for (int b = a + 1; b < Reference.Sentences.Count; b++)
            {
                closest = Math.Min(closest, MaxDifference(Reference.Sentences[a].FirstToken, Reference.Sentences[b].FirstToken));
            }
        }

        Assert.True(closest > 100 * Tolerance, $"closest pair differs by {closest}");
        await Task.CompletedTask;
    }

    private static double AssertClose(MiniLmReferenceSentence expected, JsonNode result)
    {
        double[] actual = result["predicted_value"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
        Assert.Equal(MiniLm.Width, actual.Length);
        double worst = MaxDifference(expected.FirstToken, actual);
        Assert.True(worst <= Tolerance, $"\"{expected.Text}\": largest difference {worst:E2} > {Tolerance:E0}");
        return worst;
    }

    private static double MaxDifference(float[] expected, IReadOnlyList<double> actual) =>
        expected.Select((e, i) => Math.Abs(e - actual[i])).Max();

    private static double MaxDifference(float[] a, float[] b) => MaxDifference(a, b.Select(v => (double)v).ToArray());
}
