using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.TestModels;

namespace TrainedModelsOrleans.Inference.Tests;

public class OnnxSessionRunTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(32)]
    public void Mlp_output_equals_the_reference_implementation(int batch)
    {
        using var session = new OnnxSession(TestOnnxModels.Mlp());
        float[] input = TestInputs.Floats(batch * 64, seed: batch);

        OnnxOutput probs = Assert.Single(session.Run(OnnxInput.Create("input", input, new long[] { batch, 64 })));

        Assert.Equal("probs", probs.Name);
        Assert.Equal(OnnxElementType.Float, probs.ElementType);
        Assert.Equal([batch, 8L], probs.Shape);
        TestInputs.AssertClose(TestOnnxModels.MlpReference(input, batch), probs.GetData<float>(), 1e-5f);
    }

    [Fact]
    public void Medium_model_output_equals_its_reference()
    {
        using var session = new OnnxSession(TestInputs.MediumModel.Value);
        float[] input = TestInputs.Floats(2 * 1024, seed: 11);

        OnnxOutput probs = session.Run(OnnxInput.Create("input", input, new long[] { 2, 1024 }))[0];

        Assert.Equal([2L, 8L], probs.Shape);
        TestInputs.AssertClose(TestOnnxModels.MediumNetwork().Evaluate(input, 2), probs.GetData<float>(), 1e-5f);
    }

    [Fact]
    public void Input_can_be_addressed_by_index_and_read_from_a_slice_of_a_larger_buffer()
    {
        using var session = new OnnxSession(TestOnnxModels.Mlp());
        float[] buffer = TestInputs.Floats(3 * 64, seed: 5);
        ReadOnlyMemory<float> middleRow = buffer.AsMemory(64, 64);

        OnnxOutput probs = session.Run(OnnxInput.Create(0, middleRow, new long[] { 1, 64 }))[0];

        TestInputs.AssertClose(TestOnnxModels.MlpReference(middleRow.Span, 1), probs.GetData<float>(), 1e-5f);
    }

    [Fact]
    public void Text_model_output_equals_the_reference_with_and_without_attention_mask()
    {
        const int batch = 4, sequence = 16;
        long[] ids = TestInputs.TokenIds(batch * sequence, 1000, seed: 3);
        long[] mask = Enumerable.Range(0, batch * sequence).Select(i => i % sequence < 4 + (i / sequence) ? 1L : 0L).ToArray();
        long[] shape = [batch, sequence];

        using var plain = new OnnxSession(TestOnnxModels.Text());
        float[] plainProbs = plain.Run(OnnxInput.Create("input_ids", ids, shape))[0].GetData<float>();
        TestInputs.AssertClose(TestOnnxModels.TextReference(ids, [], batch, sequence), plainProbs, 1e-5f);

        using var masked = new OnnxSession(TestOnnxModels.Text(attentionMask: true));
        float[] maskedProbs = masked.Run([OnnxInput.Create("attention_mask", mask, shape), OnnxInput.Create("input_ids", ids, shape)])[0].GetData<float>();
        TestInputs.AssertClose(TestOnnxModels.TextReference(ids, mask, batch, sequence), maskedProbs, 1e-5f);
    }

    [Fact]
    public void Int32_double_uint8_and_bool_tensors_pass_through_unchanged()
    {
        foreach (OnnxDataType type in new[] { OnnxDataType.Int32, OnnxDataType.Double, OnnxDataType.UInt8, OnnxDataType.Bool, OnnxDataType.Int64, OnnxDataType.Float })
        {
            using var session = new OnnxSession(new OnnxModelBuilder()
                .AddInput("x", type, "n")
                .AddOutput("y", type, "n")
                .AddNode("Identity", ["x"], ["y"])
                .Build());
            Assert.Equal((int)type, (int)session.Inputs[0].ElementType);

            long[] shape = [3];
            OnnxOutput y = type switch
            {
                OnnxDataType.Int32 => session.Run(OnnxInput.Create("x", new[] { 1, -2, int.MaxValue }, shape))[0],
                OnnxDataType.Double => session.Run(OnnxInput.Create("x", new[] { 1.5, -2.25, double.Epsilon }, shape))[0],
                OnnxDataType.UInt8 => session.Run(OnnxInput.Create("x", new byte[] { 0, 7, 255 }, shape))[0],
                OnnxDataType.Bool => session.Run(OnnxInput.Create("x", new[] { true, false, true }, shape))[0],
                OnnxDataType.Int64 => session.Run(OnnxInput.Create("x", new[] { long.MinValue, 0L, long.MaxValue }, shape))[0],
                _ => session.Run(OnnxInput.Create("x", new[] { 0.5f, -1f, float.MaxValue }, shape))[0],
            };

            Assert.Equal([3L], y.Shape);
            switch (type)
            {
                case OnnxDataType.Int32: Assert.Equal([1, -2, int.MaxValue], y.GetData<int>()); break;
                case OnnxDataType.Double: Assert.Equal([1.5, -2.25, double.Epsilon], y.GetData<double>()); break;
                case OnnxDataType.UInt8: Assert.Equal([0, 7, 255], y.GetData<byte>()); break;
                case OnnxDataType.Bool: Assert.Equal([true, false, true], y.GetData<bool>()); break;
                case OnnxDataType.Int64: Assert.Equal([long.MinValue, 0L, long.MaxValue], y.GetData<long>()); break;
                default: Assert.Equal([0.5f, -1f, float.MaxValue], y.GetData<float>()); break;
            }
        }
    }

    [Fact]
    public void Bytes_can_carry_a_bool_input_when_the_type_is_given()
    {
        using var session = new OnnxSession(new OnnxModelBuilder()
            .AddInput("x", OnnxDataType.Bool, 2)
            .AddOutput("y", OnnxDataType.Bool, 2)
            .AddNode("Not", ["x"], ["y"])
            .Build());

        OnnxOutput y = session.Run(OnnxInput.Create("x", new byte[] { 1, 0 }, new long[] { 2 }, OnnxElementType.Bool))[0];

        Assert.Equal([false, true], y.GetData<bool>());
    }

    [Fact]
    public void Empty_batch_gives_an_empty_output()
    {
        using var session = new OnnxSession(TestOnnxModels.Mlp());

        OnnxOutput probs = session.Run(OnnxInput.Create("input", Array.Empty<float>(), new long[] { 0, 64 }))[0];

        Assert.Equal([0L, 8L], probs.Shape);
        Assert.Empty(probs.GetData<float>());
    }

    [Fact]
    public void Reading_an_output_as_the_wrong_type_is_refused()
    {
        using var session = new OnnxSession(TestOnnxModels.Mlp());
        OnnxOutput probs = session.Run(OnnxInput.Create("input", new float[64], new long[] { 1, 64 }))[0];

        Assert.Throws<InvalidCastException>(() => probs.GetData<double>());
    }

    [Fact]
    public void Session_options_are_applied_without_changing_results()
    {
        var options = new OnnxSessionOptions { IntraOpThreads = 2, AllowSpinning = false, GraphOptimizationLevel = 0, EnableCpuMemArena = false };
        using var session = new OnnxSession(TestOnnxModels.Mlp(), options);
        float[] input = TestInputs.Floats(4 * 64, seed: 9);

        float[] probs = session.Run(OnnxInput.Create("input", input, new long[] { 4, 64 }))[0].GetData<float>();

        TestInputs.AssertClose(TestOnnxModels.MlpReference(input, 4), probs, 1e-5f);
    }
}
