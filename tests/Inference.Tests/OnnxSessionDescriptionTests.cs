using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.TestModels;

namespace TrainedModelsOrleans.Inference.Tests;

public class OnnxSessionDescriptionTests
{
    [Fact]
    public void Mlp_session_reports_its_float_input_and_output_with_dynamic_batch()
    {
        using var session = new OnnxSession(TestOnnxModels.Mlp());

        OnnxTensorDescription input = Assert.Single(session.Inputs);
        Assert.Equal("input", input.Name);
        Assert.Equal(OnnxValueKind.Tensor, input.Kind);
        Assert.Equal(OnnxElementType.Float, input.ElementType);
        Assert.Equal("float", input.ElementTypeName);
        Assert.Equal([-1L, 64L], input.Shape);
        Assert.Equal("batch", input.SymbolicDimensions[0]);
        Assert.Null(input.SymbolicDimensions[1]);

        OnnxTensorDescription output = Assert.Single(session.Outputs);
        Assert.Equal("probs", output.Name);
        Assert.Equal(OnnxElementType.Float, output.ElementType);
        Assert.Equal([-1L, 8L], output.Shape);
    }

    [Fact]
    public void Text_session_reports_int64_inputs_with_two_open_dimensions()
    {
        using var session = new OnnxSession(TestOnnxModels.Text(attentionMask: true));

        Assert.Equal(["input_ids", "attention_mask"], session.Inputs.Select(i => i.Name));
        Assert.All(session.Inputs, i =>
        {
            Assert.Equal(OnnxElementType.Int64, i.ElementType);
            Assert.Equal("int64", i.ElementTypeName);
            Assert.Equal([-1L, -1L], i.Shape);
            Assert.Equal("batch", i.SymbolicDimensions[0]);
            Assert.Equal("sequence", i.SymbolicDimensions[1]);
        });
        Assert.Equal(1, session.IndexOfInput("attention_mask"));
        Assert.Equal(-1, session.IndexOfInput("token_type_ids"));
    }

    [Fact]
    public void Sequence_output_is_reported_as_non_tensor_and_the_tensor_output_still_runs()
    {
        using var session = new OnnxSession(TestOnnxModels.WithSequenceOutput());

        Assert.Equal(OnnxValueKind.Tensor, session.Outputs[0].Kind);
        OnnxTensorDescription pair = session.Outputs[1];
        Assert.Equal(OnnxValueKind.Sequence, pair.Kind);
        Assert.Equal("sequence", pair.KindName);
        Assert.False(pair.IsTensor);
        Assert.Empty(pair.Shape);

        float[] data = [1f, 2f, 3f];
        OnnxOutput doubled = Assert.Single(session.Run([OnnxInput.Create("input", data, new long[] { 3 })], [0]));
        Assert.Equal([2f, 4f, 6f], doubled.GetData<float>());

        var error = Assert.Throws<NotSupportedException>(() => session.Run(OnnxInput.Create("input", data, new long[] { 3 })));
        Assert.Contains("pair", error.Message);
    }
}
