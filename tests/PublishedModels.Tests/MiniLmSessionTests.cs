using TrainedModelsOrleans.Inference.OnnxRuntime;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.PublishedModels.Tests;

/// <summary>
/// MiniLM in our ONNX Runtime session (no service) on the reference's token ids: every token's hidden state,
/// not only the first, against ONNX Runtime for Node.js — checked through sentence-transformers' embedding
/// (the mean over the tokens, L2-normalised), which the reference holds.
/// </summary>
public sealed class MiniLmSessionTests(ITestOutputHelper output)
{
    // Unit-length vectors from the same fp32 graph on two ONNX Runtime builds; see MiniLmServedTests.Tolerance.
    private const double Tolerance = 1e-5;

    [Fact]
    public void The_mean_pooled_embedding_equals_sentence_transformers_from_the_reference()
    {
        using var session = new OnnxSession(MiniLm.Model(), new OnnxSessionOptions { IntraOpThreads = 1, InterOpThreads = 1 });
        Assert.Equal(["input_ids", "attention_mask", "token_type_ids"], session.Inputs.Select(i => i.Name));
        Assert.Equal(MiniLm.OutputName, session.Outputs[0].Name);

        double worst = 0;
        foreach (MiniLmReferenceSentence sentence in MiniLm.Reference().Sentences)
        {
            int n = sentence.TokenIds.Length;
            long[] shape = [1, n];
            OnnxOutput[] outputs = session.Run(
            [
                OnnxInput.Create("input_ids", sentence.TokenIds.Select(id => (long)id).ToArray(), shape),
                OnnxInput.Create("attention_mask", Enumerable.Repeat(1L, n).ToArray(), shape),
                OnnxInput.Create("token_type_ids", new long[n], shape),
            ]);
            OnnxOutput hidden = outputs.Single(o => o.Name == MiniLm.OutputName);
            Assert.Equal([1L, n, MiniLm.Width], hidden.Shape);

            float[] values = hidden.GetData<float>();
            var mean = new double[MiniLm.Width];
            for (int t = 0; t < n; t++)
            {
                for (int i = 0; i < MiniLm.Width; i++) mean[i] += values[(t * MiniLm.Width) + i] / n;
            }

            double norm = Math.Sqrt(mean.Sum(v => v * v));
            for (int i = 0; i < MiniLm.Width; i++)
            {
                double difference = Math.Abs((mean[i] / norm) - sentence.MeanPooledNormalized[i]);
                worst = Math.Max(worst, difference);
                Assert.True(difference <= Tolerance, $"\"{sentence.Text}\" component {i}: {difference:E2}");
            }
        }

        output.WriteLine($"largest |ours − reference| over the normalised embeddings: {worst:E2}");
    }
}
